"""The one vocabulary in which every service's domain and use cases refuse a command.

Each refusal names what was refused in words (`error`), the field it is about and the rule it
broke, plus facts for the caller (the current status, the id). The app factory maps each kind to
its HTTP answer in one place (`shared.http.install_error_handlers`), with the contract's JSON body;
a consumer dead-letters an event whose application is refused (`shared.consumer`)."""

from typing import Any


class Refusal(Exception):
    def __init__(self, error: str, *, field: str | None = None, rule: str, **facts: Any) -> None:
        # The exception's text says it all in one line, for logs and dead letters.
        super().__init__(f"{error} ({field}: {rule})" if field else f"{error} ({rule})")
        self.error, self.field, self.rule, self.facts = error, field, rule, facts

    @property
    def reason(self) -> str:
        return str(self)

    @property
    def error_class(self) -> str:
        return type(self).__name__


class NotFound(Refusal):
    """What the command names does not exist (for this caller)."""


class Conflict(Refusal):
    """Not allowed in the current state of what it acts on."""


class Forbidden(Refusal):
    """Not allowed to this person, whatever the state."""


class Invalid(Refusal):
    """The command's data breaks a rule."""
