"""Pure: the raise-an-idea form, from the posted fields to the API's body, and the API's refusals (field and
rule) to GOV.UK error messages."""

import re
from dataclasses import dataclass, field
from typing import Any

FIELDS = ("title", "problem", "proposal", "expected_benefits", "themes", "team", "campaign")
LABELS = {"title": "Title", "problem": "Problem", "proposal": "Proposal", "expected_benefits": "Expected benefits",
          "themes": "Themes", "team": "Team", "campaign": "Campaign"}
REQUIRED = ("title", "problem", "proposal")


@dataclass
class Form:
    """A form: what was typed (shown again on an error), what is wrong by field, and the API's body."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


def typed_text(posted: dict[str, str], name: str) -> str:
    # Browsers send a textarea's line breaks as CRLF; the character count (and a person) counts one each.
    return posted.get(name, "").replace("\r\n", "\n").replace("\r", "\n").strip()


def check_text(form: Form, name: str, label: str, limit: int, required: str | None = None) -> str | None:
    """Free text up to `limit` characters, without control characters other than line breaks and tabs."""
    value = form.values[name]
    if not value:
        if required:
            form.errors[name] = required
        return None
    if len(value) > limit:
        form.errors[name] = f"{label} must be {limit} characters or fewer"
    elif re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        form.errors[name] = f"{label} must be plain text"
    return value


def api_message(label: str, item: dict[str, Any]) -> str:
    """One item of an API's 422 detail (`{"field", "rule", "message"?}`) in the page's words for a field."""
    rule, message = str(item.get("rule", "invalid")), str(item.get("message") or "")
    if rule == "missing":
        return f"Enter the {label.lower()}"
    if rule in ("string_too_long", "too_long"):
        bound = re.search(r"\d[\d,]*(\.\d+)?", message)
        return f"{label} must be {bound.group()} characters or fewer" if bound else f"{label} is too long"
    if rule == "literal_error":
        return f"Choose a {label.lower()} from the list"
    if rule.startswith(("greater_than", "less_than")):
        return f"{label} is out of range: {message or rule.replace('_', ' ')}"
    if rule.startswith(("date_", "int_", "float_")):
        return f"{label} is not valid: {message or rule.replace('_', ' ')}"
    # A domain's rules are sentences already ("within the backed time box of 6 weeks from starts_on").
    words = rule.replace("starts_on", "the start date").replace("measure.baseline", "the baseline")
    if words.startswith("must "):
        return f"{label} {words}"
    if words.startswith("not "):
        return f"{label} must not be {words.removeprefix('not ')}"
    if words.startswith(("within", "at most", "between", "after", "less", "greater")):
        return f"{label} must be {words}"
    return f"{label}: {message or words.replace('_', ' ')}"


def refused_into(form: Form, detail: Any, whole: str, field_of: Any, labels: dict[str, str]) -> Form:
    """An API's 422 detail as messages on the form's fields (`field_of` names the form's field for the API's, or
    None); what names no field of the form goes on the form as a whole (`whole`)."""
    for item in detail if isinstance(detail, list) else []:
        if not isinstance(item, dict):
            continue
        name = field_of(str(item.get("field", "")))
        label = labels.get(name, str(name).replace("_", " ").capitalize())
        form.errors.setdefault(name or whole, api_message(label, item) if name else
                               f"This could not be saved: {item.get('message') or item.get('rule') or 'check the form'}")
    return form


@dataclass
class IdeaForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)  # field -> message, in FIELDS order

    def body(self) -> dict[str, Any]:
        """The API's request body: empty optional fields left out, themes split on commas or spaces."""
        body: dict[str, Any] = {}
        for name in FIELDS:
            value = self.values.get(name, "").strip()
            if name == "themes":
                themes = [t for t in re.split(r"[,\s]+", value) if t]
                if themes:
                    body["themes"] = themes
            elif value or name in REQUIRED:
                body[name] = value
        return body


def idea_form(posted: dict[str, str]) -> IdeaForm:
    form = IdeaForm({name: posted.get(name, "") for name in FIELDS})
    for name in REQUIRED:
        if not form.values[name].strip():
            form.errors[name] = f"Enter the {LABELS[name].lower()}"
    return form


def _limit(facts: dict[str, Any]) -> str | None:
    """The bound named in the API's message, e.g. "String should have at most 200 characters"."""
    found = re.search(r"\d+", str(facts.get("message", "")))
    return found.group() if found else None


def message_for(name: str, rule: str, facts: dict[str, Any]) -> str:
    label = LABELS.get(name, name.capitalize())
    if rule == "missing":
        return f"Enter the {label.lower()}"
    if rule == "string_too_short":
        limit = _limit(facts)
        return f"{label} must be {limit} characters or more" if limit else f"{label} is too short"
    if rule == "string_too_long":
        limit = _limit(facts)
        return f"{label} must be {limit} characters or fewer" if limit else f"{label} is too long"
    if rule == "too_long":
        limit = _limit(facts)
        return f"Give at most {limit} {label.lower()}" if limit else f"Give fewer {label.lower()}"
    if rule == "string_pattern_mismatch":
        if name == "themes":
            return "Each theme must be lower case letters, numbers and hyphens, like digital-services"
        return f"{label} must be lower case letters, numbers and hyphens"
    return f"{label}: {facts.get('message') or rule.replace('_', ' ')}"


def refused_fields(form: IdeaForm, detail: list[dict[str, Any]]) -> IdeaForm:
    """The API's 422 detail as messages by form field (themes.2 is the themes field); the first per field wins."""
    for item in detail:
        name = str(item.get("field", "")).split(".")[0]
        if name not in FIELDS:
            name = "title" if name in ("", "body") else name
        form.errors.setdefault(name if name in FIELDS else "title",
                               message_for(name, str(item.get("rule", "invalid")), item))
    form.errors = {name: form.errors[name] for name in FIELDS if name in form.errors}
    return form
