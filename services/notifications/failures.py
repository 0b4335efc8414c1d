"""How an attempt to send fails, as every channel (SMTP, GOV.UK Notify, webhooks) reports it to the
delivery worker."""


class SendFailed(Exception):
    """A failed attempt: `reason` is the class shown to every role ("HTTP 500"), the message
    the whole story (for logs and admins)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason


class RecipientGone(SendFailed):
    """The subscription or webhook was deleted: retrying cannot help."""


class Refused(SendFailed):
    """The channel refused this message for good (GOV.UK Notify's 400: a bad address, template or
    personalisation): retrying cannot help."""
