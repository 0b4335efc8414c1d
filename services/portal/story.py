"""Pure: what the pages make of the APIs' answers: the home page's "updated since your last visit", the search
form's filters, an idea's story as a timeline, the team-conversation form, the email choices."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from services.portal.forms import refused_into

STATUSES = ("submitted", "shortlisted", "backed", "declined", "withdrawn", "merged")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
WORDS = re.compile(r"^[^\x00-\x1f\x7f]+$")


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def updated_since(idea: dict[str, Any], last_visit: datetime | None) -> bool:
    """Something happened to the idea after the person's last visit (not merely its being raised by them)."""
    if last_visit is None:
        return False
    updated, submitted = _when(idea.get("updated_at")), _when(idea.get("submitted_at"))
    return updated is not None and updated > last_visit and updated != submitted


@dataclass
class Search:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def filters(self) -> dict[str, str]:
        """The ideas API's query parameters (valid, non-empty values only)."""
        return {name: value for name, value in self.values.items() if value and name not in self.errors}

    @property
    def active(self) -> bool:
        return any(value for name, value in self.values.items() if name != "cursor")

    def next_page(self, path: str, cursor: str | None) -> str | None:
        """The address of the next page of results: the same filters, the API's cursor."""
        if not cursor:
            return None
        return f"{path}?{urlencode({**{k: v for k, v in self.values.items() if v and k != 'cursor'}, 'cursor': cursor})}"


def _search(params: dict[str, str], choices: dict[str, tuple[str, ...]], slugs: dict[str, str]) -> Search:
    """A search form's values and what is wrong with them: each of `choices` must be one of its values, each
    of `slugs` (name: label) a slug, and `q` words."""
    values = {name: (params.get(name) or "").strip() for name in (*choices, *slugs, "q", "cursor")}
    search = Search(values)
    for name, allowed in choices.items():
        if values[name] and values[name] not in allowed:
            search.errors[name] = f"Choose a {name} from the list"
    for name, label in slugs.items():
        if values[name] and (len(values[name]) > 60 or not SLUG.match(values[name])):
            search.errors[name] = f"{label} must be lower case letters, numbers and hyphens, like one-big-thing"
    if values["q"] and (len(values["q"]) > 100 or not WORDS.match(values["q"])):
        search.errors["q"] = "Words must be 100 characters or fewer"
    return search


def search_form(params: dict[str, str]) -> Search:
    """Finding ideas in the department."""
    return _search(params, {"status": STATUSES}, {"theme": "Theme", "campaign": "Campaign"})


# An outcome's result and recommendation, in the events' words and the pages' words.
RESULTS = {"succeeded": "Succeeded", "failed": "Failed", "inconclusive": "Inconclusive"}
RECOMMENDATIONS = {"scale": "Scale it up", "adopt_elsewhere": "Adopt it elsewhere", "iterate": "Try it again, changed",
                   "stop": "Stop"}


def library_form(params: dict[str, str]) -> Search:
    """The outcomes library's filters."""
    return _search(params, {"result": tuple(RESULTS), "recommendation": tuple(RECOMMENDATIONS)}, {"theme": "Theme"})


def any_of_words(text: str) -> str:
    """Reporting's web-search syntax for learnings that mention any word of an idea's title (ranked best first)."""
    return " or ".join(re.findall(r"\w+", text)[:20])


DECLINE_REASONS = {  # the event catalogue's reasons, in the pages' words
    "duplicate": ("It repeats another idea", "If the other idea should carry it forward, merge it instead"),
    "out_of_scope": ("It is outside what the department can change", ""),
    "not_feasible": ("It cannot be done now", ""),
    "insufficient_evidence": ("There is not enough evidence that it would work", ""),
    "other": ("Another reason", "Say what it is in the note"),
}


@dataclass(frozen=True)
class Step:
    title: str
    detail: str = ""
    on: str = ""  # a date, when the API gives one


def long_day(value: Any) -> str:
    when = _when(value) if not isinstance(value, date) else value
    return when.strftime("%-d %B %Y") if when else ""


def money(value: Any) -> str:
    return f"£{value:,.0f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def timeline(idea: dict[str, Any], experiment: dict[str, Any] | None = None,
             outcomes: list[dict[str, Any]] = ()) -> list[Step]:
    """The idea's story, oldest first: submitted, endorsed, reviewed, shortlisted, backed (or closed),
    its experiment, its outcome and, from central reporting's `outcomes`, each department that adopted it."""
    steps = [Step("Submitted", f"By {idea['team']}" if idea.get("team") else "", long_day(idea.get("submitted_at")))]
    if idea.get("endorsements"):
        n = idea["endorsements"]
        steps.append(Step(f"Endorsed {n} time{'s' if n != 1 else ''}", "People in the department who support it"))
    if idea.get("reviews"):
        n, scores = idea["reviews"], idea.get("scores")
        detail = ("Average scores: " + ", ".join(f"{name.replace('_', ' ')} {value:g}" for name, value in scores.items())
                  if scores else "")
        steps.append(Step(f"Reviewed {n} time{'s' if n != 1 else ''}", detail))
    if idea.get("shortlisted_by"):
        steps.append(Step("Shortlisted", "Reviewers chose it to be considered for backing"))
    backing = idea.get("backing")
    if backing:
        steps.append(Step("Backed", f"{money(backing['budget_gbp'])}, {backing['staff_days']:g} staff days, "
                                    f"{backing['timebox_weeks']} weeks to try it"))
    closure, status = idea.get("closure") or {}, idea.get("status")
    if status == "declined":
        reason = DECLINE_REASONS.get(closure.get("reason"), (closure.get("reason"),))[0]
        steps.append(Step("Declined", " – ".join(p for p in (reason, closure.get("note")) if p)))
    elif status == "withdrawn":
        steps.append(Step("Withdrawn", "Its submitter withdrew it", long_day(idea.get("updated_at"))))
    elif status == "merged":
        steps.append(Step("Merged", f"Into an idea in {str(closure.get('into_department', '')).upper()}"))
    if experiment:
        state = experiment["status"]
        detail = {"planning": f"Being planned, to run from {long_day(experiment['starts_on'])} to {long_day(experiment['ends_on'])}",
                  "running": f"Running since {long_day(experiment.get('started_on'))}, until {long_day(experiment['ends_on'])}",
                  "completed": f"Completed on {long_day(experiment.get('completed_on'))}",
                  "abandoned": f"Abandoned: {experiment.get('abandon_reason') or ''}"}.get(state, state)
        if experiment.get("hypothesis"):
            detail += f". Hypothesis: {experiment['hypothesis']}"
        steps.append(Step("Experiment", detail))
        outcome = experiment.get("outcome")
        if outcome:
            learnt = "; ".join(outcome.get("learnings") or [])
            steps.append(Step(f"Outcome: {str(outcome['result']).replace('_', ' ')}",
                              outcome.get("summary", "") + (f" Learnt: {learnt}" if learnt else "")))
    for adoption in (a for o in outcomes for a in o.get("adopted_by", ())):
        steps.append(Step(f"Adopted by {str(adoption['department']).upper()}",
                          "Another department is trying what this idea's experiment found",
                          long_day(adoption.get("adopted_at"))))
    return steps


@dataclass
class ConversationForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"conversation_id": str(uuid.uuid4()), "team": self.values["team"].strip(),
                "held_on": self.held_on().isoformat(), "participants": int(self.values["participants"]),
                "ideas_raised": int(self.values["ideas_raised"])}

    def held_on(self) -> date:
        v = self.values
        return date(int(v["held_on-year"]), int(v["held_on-month"]), int(v["held_on-day"]))


CONVERSATION_FIELDS = ("team", "held_on-day", "held_on-month", "held_on-year", "participants", "ideas_raised")


def conversation_form(posted: dict[str, str], today: date) -> ConversationForm:
    form = ConversationForm({name: posted.get(name, "").strip() for name in CONVERSATION_FIELDS})
    v = form.values
    if not v["team"]:
        form.errors["team"] = "Enter the team's name"
    elif len(v["team"]) > 200:
        form.errors["team"] = "Team must be 200 characters or fewer"
    parts = [v["held_on-day"], v["held_on-month"], v["held_on-year"]]
    if not any(parts):
        form.errors["held_on"] = "Enter the date of the conversation"
    elif not all(p.isdigit() for p in parts):
        form.errors["held_on"] = "Date of the conversation must be a real date, like 27 3 2026"
    else:
        try:
            if form.held_on() > today:
                form.errors["held_on"] = "Date of the conversation must be today or in the past"
        except ValueError:
            form.errors["held_on"] = "Date of the conversation must be a real date, like 27 3 2026"
    for name, label, low, high in (("participants", "how many people took part", 1, 500),
                                   ("ideas_raised", "how many ideas were raised", 0, 1000)):
        if not v[name]:
            form.errors[name] = f"Enter {label}"
        elif not v[name].isdigit() or not low <= int(v[name]) <= high:
            form.errors[name] = f"Enter {label} as a whole number from {low} to {high}"
    return form


# -- The emails page: what a person hears about and how often, in the notifications service's words --------------

# The kinds of email (the notifications service's kinds), each a group of radios: (kind, legend, hint).
EMAIL_KINDS = (
    ("my_ideas", "Your ideas", "Ideas you raised, and experiments you work on"),
    ("endorsed", "Ideas you endorsed", "What happens to ideas you support"),
    ("review_queue", "Your review queue", "New ideas waiting for reviewers, and ideas you reviewed"),
    ("department", "News from your department", "What happens across the department: choose which news below"),
)
PANEL_KINDS = ("review_queue",)  # shown to reviewers and admins only
RHYTHMS = (("immediately", "Immediately"), ("daily", "Daily digest"), ("weekly", "Weekly digest"), ("never", "Never"))
# A copy of the notifications service's DEFAULT_PREFERENCES (services/notifications/domain.py), not an import:
# the portal uses only the services' public APIs. They are what a person without a subscription is shown.
DEFAULT_PREFERENCES = {"my_ideas": "immediately", "endorsed": "weekly", "review_queue": "weekly", "department": "weekly"}

# The department's news a person can choose ("Which news"), in the notifications service's event types.
NEWS = (
    ("idea.submitted.v1", "An idea is raised in the department"),
    ("idea.endorsed.v1", "An idea is endorsed"),
    ("idea.shortlisted.v1", "An idea is shortlisted"),
    ("idea.backed.v1", "An idea is backed"),
    ("experiment.started.v1", "An experiment starts"),
    ("outcome.recorded.v1", "An experiment's outcome is recorded"),
    ("outcome.adopted.v1", "Another team adopts an outcome"),
)
# Likewise a copy of the news the notifications service gives a subscription that names none.
DEFAULT_NEWS = ("idea.submitted.v1", "idea.backed.v1", "outcome.recorded.v1", "outcome.adopted.v1")
PREFIX = "uk.gov.innovation."


@dataclass
class EmailChoices:
    """The emails page's answers: each kind's rhythm, the news chosen (short event types), what is wrong."""

    preferences: dict[str, str]
    news: list[str]
    errors: dict[str, str] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)  # news chosen elsewhere (the API) that this page does not offer

    def body(self, email: str, display_name: str | None, reviewer: bool) -> dict[str, Any]:
        """`PUT /v1/subscriptions/{subject}`'s body (news this page does not offer are kept as they were)."""
        return {"email": email, "display_name": display_name, "preferences": dict(self.preferences),
                "event_types": [*self.news, *self.others], "reviewer": reviewer}


def email_kinds(on_panel: bool) -> tuple[tuple[str, str, str], ...]:
    """The kinds a person is asked about: the review queue only for reviewers and admins."""
    return tuple(kind for kind in EMAIL_KINDS if on_panel or kind[0] not in PANEL_KINDS)


def chosen_emails(subscription: dict[str, Any] | None) -> EmailChoices:
    """What the page shows checked: the subscription's choices, a kind it does not name (or names with a rhythm
    this page does not know) at its default; without a subscription, the defaults."""
    stored = (subscription or {}).get("preferences") or {}
    rhythms = {value for value, _ in RHYTHMS}
    preferences = {kind: stored[kind] if stored.get(kind) in rhythms else DEFAULT_PREFERENCES[kind]
                   for kind, _, _ in EMAIL_KINDS}
    news = {t.removeprefix(PREFIX) for t in subscription.get("event_types") or []} if subscription \
        else set(DEFAULT_NEWS)
    known = {value for value, _ in NEWS}
    return EmailChoices(preferences, [value for value, _ in NEWS if value in news],
                        others=sorted(PREFIX + t for t in news - known))


def email_choices(posted: dict[str, str], news: list[str], on_panel: bool,
                  stored: dict[str, Any] | None) -> EmailChoices:
    """The posted form: a rhythm for each kind shown, the news checked. A kind not shown keeps its stored rhythm
    (or its default). A value that is not one of the page's (a tampered form) is an error, not dropped."""
    kept = chosen_emails(stored)
    rhythms = {value for value, _ in RHYTHMS}
    preferences, errors = dict(kept.preferences), {}
    for kind, legend, _ in email_kinds(on_panel):
        value = posted.get(kind, "")
        if value not in rhythms:
            errors[kind] = f"Select how often you want emails about {legend.lower()}"
        else:
            preferences[kind] = value
    known = {value for value, _ in NEWS}
    if any(value not in known for value in news):
        errors["event_types"] = "Select news from the list"
    chosen = [value for value, _ in NEWS if value in set(news)]
    if not (chosen or kept.others) and "department" not in errors and preferences["department"] != "never":
        errors.setdefault("event_types", "Select the news you want, or choose Never for news from your department")
    return EmailChoices(preferences, chosen, errors, kept.others)


def no_emails(stored: dict[str, Any] | None) -> EmailChoices:
    """"Stop all emails": every kind never; the news chosen are kept for when the person comes back."""
    kept = chosen_emails(stored)
    return EmailChoices({kind: "never" for kind, _, _ in EMAIL_KINDS}, kept.news, others=kept.others)


# The notifications API's rule for a name in a To: header (services/notifications/domain.py display_name), copied.
EMAIL_NAME = re.compile(r"^[^\W_](?:[\w .,'’()-]{0,98}[\w.)])?$")


def email_name(display_name: str | None) -> str | None:
    """The name emails greet the person by: their account's, where it is a plain name the notifications service
    accepts (letters, digits, spaces and . , ' ( ) -); otherwise none, rather than a refusal of their address."""
    name = (display_name or "").strip()
    return name if EMAIL_NAME.fullmatch(name) and "@" not in name else None


def first_subscription(email: str, display_name: str | None, reviewer: bool) -> dict[str, Any]:
    """The subscription recorded at a person's first sign-in: their address, and the service's own defaults (the
    body names no preferences and no news, so the notifications service's defaults apply, not a copy of them)."""
    return {"email": email, "display_name": display_name, "reviewer": reviewer}


def address_update(stored: dict[str, Any], email: str, display_name: str | None, reviewer: bool) -> dict[str, Any] | None:
    """At a later sign-in: the subscription again with the account's address and role as they are now, when either
    changed at the provider (a new address, a person who now reviews), every choice the person made kept; else
    None (nothing to write)."""
    if stored.get("email") == email and bool(stored.get("reviewer")) == reviewer:
        return None
    kept = chosen_emails(stored)
    return {"email": email, "display_name": display_name, "preferences": kept.preferences,
            "event_types": list(stored.get("event_types") or []), "reviewer": reviewer}


def email_field(api_field: str) -> str | None:
    """The emails page's field for a field the notifications API names in a 422 (None: the page as a whole)."""
    head, _, rest = api_field.partition(".")
    if head == "preferences" and rest.split(".")[0] in DEFAULT_PREFERENCES:
        return rest.split(".")[0]
    return "event_types" if head == "event_types" else None


UNUSABLE_ADDRESS = "The email address of your work account cannot be used for emails. Ask your IT team to check it"


def refused_emails(choices: EmailChoices, refusal: dict[str, Any]) -> EmailChoices:
    """The notifications API's 422 on the page: on a kind or the news where it names one; the address (which the
    person cannot change here) as a sentence saying so; anything else on the page as a whole ("address")."""
    detail = [item for item in refusal.get("detail") or [] if isinstance(item, dict)]
    if any(str(item.get("field", "")) == "email" for item in detail):
        choices.errors["address"] = UNUSABLE_ADDRESS
    labels = {kind: legend for kind, legend, _ in EMAIL_KINDS} | {"event_types": "Which news"}
    refused_into(choices, [item for item in detail if item.get("field") != "email"], "address", email_field, labels)
    if not choices.errors:
        choices.errors["address"] = f"This could not be saved: {refusal.get('message') or refusal.get('error') or 'try again'}"
    return choices
