"""What the emails say: every event as every kind of reader reads it, one email, a digest."""

import html
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st

from services.notifications import messages
from services.notifications.domain import KINDS
from services.notifications.messages import About, Department, Notice, digest_email, notice, single_email
from shared.events import (
    EVENT_TYPES,
    Event,
    IdeaBacked,
    IdeaDeclined,
    IdeaMerged,
    IdeaSubmitted,
    OutcomeAdopted,
    new_event,
)
from shared.events.examples import EXAMPLES, EXPERIMENT, IDEA, OUTCOME
from tests.support.events import person

DWP = Department("dwp", "Department for Work and Pensions", "https://innovation.dwp.example.gov.uk")
PORTAL = DWP.portal_url
TITLE = "Fewer forms for movers"
ABOUT = About(idea_id=IDEA, idea_title=TITLE, experiment_id=EXPERIMENT, outcome_id=OUTCOME)
UNSUBSCRIBE = "https://notifications.dwp.example.gov.uk/v1/unsubscribe/tok3n?x=1&y=2"
PREFERENCES = "https://innovation.dwp.example.gov.uk/account/emails"
PERSON_FIELDS = ("submitted_by", "endorsed_by", "reviewer", "by", "sponsor", "adopted_by")
ANY_PSEUDONYM = re.compile(r"p_[0-9a-f]{16}")


def _with_people(data):
    """The example with a distinct pseudonym in every field that names a person, and the list of them."""
    name = type(data).event_name
    people = {f: person(f"{name}/{f}") for f in PERSON_FIELDS if f in type(data).model_fields}
    if "squad" in type(data).model_fields:
        people["squad"] = tuple(person(f"{name}/squad/{i}") for i in range(3))
    changed = type(data).model_validate(data.model_dump() | people)
    flat = [p for v in people.values() for p in (v if isinstance(v, tuple) else (v,))]
    return changed, flat


def _event(data, department: str = "dwp") -> Event:
    return new_event(data, department=department, service="test")


def _example(model):
    return next(e for e in EXAMPLES if isinstance(e, model))


def _all_text(n: Notice, kind) -> str:
    email = single_email(n, kind, DWP, UNSUBSCRIBE, PREFERENCES)
    digest = digest_email([(kind, n)], "daily", datetime(2026, 12, 7, 8, tzinfo=timezone.utc), DWP,
                          {kind: UNSUBSCRIBE}, PREFERENCES)
    return "\n".join([n.headline, *n.paragraphs, n.link, n.link_text, email.subject, email.text, email.html,
                      digest.subject, digest.text, digest.html])


def test_every_event_type_of_the_catalogue_has_words():
    assert {model.event_type for model in messages._WORDS} == set(EVENT_TYPES)


CASES = [(type(data).event_name, kind, known) for data in EXAMPLES for kind in KINDS for known in (True, False)]


@pytest.mark.parametrize(("event_name", "kind", "title_known"), CASES)
def test_no_person_is_named_in_any_text_of_any_event_for_any_reader(event_name, kind, title_known):
    data, people = _with_people(next(e for e in EXAMPLES if type(e).event_name == event_name))
    event = _event(data, "hmrc" if isinstance(data, OutcomeAdopted) else "dwp")
    n = notice(event, kind, ABOUT if title_known else About(), DWP)
    everything = _all_text(n, kind)
    assert people or event_name in ("conversation.recorded", "experiment.overdue")  # events naming nobody
    for pseudonym in people:
        assert pseudonym not in everything
    assert not ANY_PSEUDONYM.search(everything)
    assert n.headline and "\n" not in n.headline and len(n.headline) <= 150
    assert n.link.startswith(PORTAL + "/")
    assert "None" not in everything and "{" not in everything.replace("{}", "")
    if event_name != "conversation.recorded" and (title_known or isinstance(data, IdeaSubmitted)):
        assert f"“{data.title if isinstance(data, IdeaSubmitted) else TITLE}”" in n.headline
    else:
        assert "“" not in n.headline


def test_a_title_the_service_never_saw_reads_as_an_idea_or_an_experiment():
    backed = _event(_example(IdeaBacked))
    assert notice(backed, "my_ideas", About(), DWP).headline == "Your idea has been backed"
    assert notice(backed, "endorsed", About(), DWP).headline == "An idea you endorsed has been backed"
    assert notice(backed, "department", About(idea_title="  "), DWP).headline == "An idea was backed"
    started = _event(next(e for e in EXAMPLES if type(e).event_name == "experiment.started"))
    assert notice(started, "department", About(), DWP).headline == "An experiment started"
    assert notice(started, "review_queue", About(), DWP).headline == (
        "The experiment on an idea you reviewed has started")
    assert notice(started, "review_queue", ABOUT, DWP).headline == (
        f"The experiment on an idea you reviewed, “{TITLE}”, has started")


# -- what each decision says ----------------------------------------------------------------------


def test_a_backing_says_the_resources_in_words():
    data = IdeaBacked(idea_id=IDEA, sponsor=person("s"), budget_gbp=12000.0, staff_days=20.0, timebox_weeks=6,
                      note="Start in the Leeds office")
    n = notice(_event(data), "my_ideas", ABOUT, DWP)
    assert n.headline == f"Your idea “{TITLE}” has been backed"
    assert "It has been backed with £12,000, 20 staff days and a 6-week time box." in n.paragraphs
    assert any("Start in the Leeds office" in p for p in n.paragraphs)
    assert messages.resources(1234567.5, 1.0, 1) == "£1,234,567.50, 1 staff day and a 1-week time box"
    assert messages.resources(0.0, 7.5, 52) == "no budget, 7.5 staff days and a 52-week time box"


@pytest.mark.parametrize(("reason", "words"), [
    ("duplicate", "it repeats another idea"),
    ("out_of_scope", "it is outside what the department can change"),
    ("not_feasible", "it cannot be done at the moment"),
    ("insufficient_evidence", "there is not enough evidence yet that it would work"),
    ("other", "another reason, given in the note"),
])
def test_a_declined_idea_gives_the_reason_in_plain_english_and_the_note(reason, words):
    data = IdeaDeclined(idea_id=IDEA, by=person("panel"), reason=reason, note="See the Glasgow pilot first")
    n = notice(_event(data), "my_ideas", ABOUT, DWP)
    assert n.headline == f"Your idea “{TITLE}” has been declined"
    assert n.paragraphs == (f"The reason: {words}.", "The panel's note: See the Glasgow pilot first")
    email = single_email(n, "my_ideas", DWP, UNSUBSCRIBE, PREFERENCES)
    assert email.subject == n.headline
    assert f"The reason: {words}." in email.text and "See the Glasgow pilot first" in email.text


def test_a_decline_for_another_reason_without_a_note_says_none_was_given():
    data = IdeaDeclined(idea_id=IDEA, by=person("panel"), reason="other", note="")
    assert notice(_event(data), "my_ideas", ABOUT, DWP).paragraphs == ("The reason: the panel did not give one.",)


def test_a_merge_into_one_of_our_ideas_names_it_and_links_to_it():
    target = uuid.uuid4()
    data = IdeaMerged(idea_id=IDEA, into_department="dwp", into_idea_id=target, by=person("panel"))
    n = notice(_event(data), "endorsed", About(idea_title=TITLE, into_title="One form for everything"), DWP)
    assert n.headline == f"An idea you endorsed, “{TITLE}”, has been merged into “One form for everything”"
    assert (n.link, n.link_text) == (f"{PORTAL}/ideas/{target}", "See the idea it was merged into")
    unnamed = notice(_event(data), "my_ideas", About(idea_title=TITLE), DWP)
    assert unnamed.headline == f"Your idea “{TITLE}” has been merged into another idea in the department"


def test_a_merge_into_another_departments_idea_names_the_department_and_links_to_our_idea():
    data = IdeaMerged(idea_id=IDEA, into_department="hmrc", into_idea_id=uuid.uuid4(), by=person("panel"))
    n = notice(_event(data), "my_ideas", About(idea_title=TITLE), DWP)
    assert n.headline == f"Your idea “{TITLE}” has been merged into an idea of HM Revenue and Customs"
    assert n.link == f"{PORTAL}/ideas/{IDEA}"
    home = IdeaMerged(idea_id=IDEA, into_department="ho", into_idea_id=uuid.uuid4(), by=person("panel"))
    n = notice(_event(home), "department", About(), DWP)
    assert n.headline == "An idea was merged into an idea of the Home Office"
    assert n.paragraphs == ("It carries on as part of that idea in the Home Office, rather than on its own.",)
    unknown = IdeaMerged(idea_id=IDEA, into_department="nhs-x", into_idea_id=uuid.uuid4(), by=person("panel"))
    assert notice(_event(unknown), "department", About(), DWP).headline == "An idea was merged into an idea of NHS X"


def test_long_titles_in_a_merge_keep_the_headline_within_a_subject_line():
    data = IdeaMerged(idea_id=IDEA, into_department="dwp", into_idea_id=uuid.uuid4(), by=person("panel"))
    n = notice(_event(data), "review_queue", About(idea_title="a" * 200, into_title="b" * 200), DWP)
    assert len(n.headline) <= 150 and n.headline.endswith("”") and n.headline.count("…") == 2


def test_an_outcome_says_the_result_summary_recommendation_benefits_and_learnings():
    data = next(e for e in EXAMPLES if type(e).event_name == "outcome.recorded")
    n = notice(_event(data), "my_ideas", ABOUT, DWP)
    assert n.headline == f"The experiment on “{TITLE}” succeeded"
    assert n.paragraphs[0] == data.summary
    assert "The squad recommends that other teams and departments adopt it." in n.paragraphs
    assert "Expected benefits: £84,000 saved a year, 3,600 hours saved a year, 41,000 people affected." in n.paragraphs
    assert all(f"What was learned: {learning}" in n.paragraphs for learning in data.learnings)
    assert (n.link, n.link_text) == (f"{PORTAL}/outcomes/dwp/{OUTCOME}", "See the outcome")
    failed = data.model_copy(update={"result": "failed", "recommendation": "stop"})
    n = notice(_event(failed), "department", ABOUT, DWP)
    assert n.headline == f"The experiment on “{TITLE}” did not succeed"
    assert "The squad recommends stopping it." in n.paragraphs


def test_an_adoption_of_our_outcome_names_the_adopting_department_and_links_to_our_outcome():
    data, _ = _with_people(_example(OutcomeAdopted))
    n = notice(_event(data, "hmrc"), "my_ideas", ABOUT, DWP)
    assert n.headline == f"The outcome of your idea “{TITLE}” has been adopted by HM Revenue and Customs"
    assert n.link == f"{PORTAL}/outcomes/dwp/{OUTCOME}"
    assert f"Their note: {data.note}" in n.paragraphs
    by_dfe = data.model_copy(update={"adopting_department": "dfe"})
    n = notice(_event(by_dfe, "dfe"), "endorsed", About(), DWP)
    assert n.headline == "The outcome of an idea you endorsed has been adopted by the Department for Education"
    assert n.paragraphs[0] == "The Department for Education is adopting what was learned."
    ours = data.model_copy(update={"origin_department": "dfe", "adopting_department": "dwp"})
    n = notice(_event(ours, "dwp"), "department", About(), DWP)
    assert n.headline == "The department adopted an outcome of the Department for Education"
    assert n.link == f"{PORTAL}/outcomes/dfe/{OUTCOME}"


@pytest.mark.parametrize(("event_name", "kind", "path", "link_text"), [
    ("idea.submitted", "review_queue", f"/review/ideas/{IDEA}", "Review the idea"),
    ("idea.submitted", "department", f"/ideas/{IDEA}", "See the idea"),
    ("idea.shortlisted", "my_ideas", f"/ideas/{IDEA}", "See your idea"),
    ("idea.withdrawn", "endorsed", f"/ideas/{IDEA}", "See the idea"),
    ("experiment.planned", "my_ideas", f"/experiments/{EXPERIMENT}", "See the experiment"),
    ("experiment.rescheduled", "endorsed", f"/experiments/{EXPERIMENT}", "See the experiment"),
    ("experiment.overdue", "department", f"/experiments/{EXPERIMENT}", "See the experiment"),
    ("experiment.abandoned", "review_queue", f"/experiments/{EXPERIMENT}", "See the experiment"),
    ("conversation.recorded", "department", "/ideas", "See the department's ideas"),
])
def test_each_notice_links_to_its_page_in_the_departments_portal(event_name, kind, path, link_text):
    data = next(e for e in EXAMPLES if type(e).event_name == event_name)
    n = notice(_event(data), kind, ABOUT, Department("dwp", "Department for Work and Pensions", PORTAL + "/"))
    assert (n.link, n.link_text) == (PORTAL + path, link_text)


def test_a_new_idea_in_the_review_queue_and_in_the_departments_news():
    data = _example(IdeaSubmitted)
    assert notice(_event(data), "review_queue", About(), DWP).headline == (
        f"A new idea is waiting for review: “{data.title}”")
    assert notice(_event(data), "department", About(), DWP).headline == f"A new idea was raised: “{data.title}”"
    blank = data.model_copy(update={"title": "\u202e\r\n\t "})
    assert notice(_event(blank), "review_queue", About(), DWP).headline == "A new idea is waiting for review"
    assert notice(_event(blank), "department", About(), DWP).headline == "A new idea was raised"
    assert notice(_event(blank), "my_ideas", About(), DWP).headline == "Your idea has been submitted"


@pytest.mark.parametrize(("event_name", "headline", "paragraph"), [
    ("idea.endorsed", f"“{TITLE}” was endorsed", "Someone in the department endorsed it."),
    ("idea.reviewed", f"“{TITLE}” was reviewed",
     "A reviewer scored it, out of 5: impact 4, feasibility 5, value for money 4, alignment 3."),
    ("conversation.recorded", "A team recorded a conversation: Benefit centre, Wolverhampton",
     "Benefit centre, Wolverhampton held a conversation with 14 people on 3 March 2025, and raised 6 ideas."),
    ("experiment.measurement_recorded", f"A measurement was recorded for the experiment on “{TITLE}”",
     "On 18 April 2025 it measured 14.5."),
    ("experiment.rescheduled", f"The experiment on “{TITLE}” was rescheduled", "It now ends on 30 May 2025."),
    ("experiment.overdue", f"The experiment on “{TITLE}” is overdue",
     "Its time box ended on 30 May 2025 and no outcome has been recorded yet."),
    ("experiment.completed", f"The experiment on “{TITLE}” was completed", "It was completed on 2 June 2025."),
    ("experiment.abandoned", f"The experiment on “{TITLE}” was abandoned",
     "The reason: The sites were merged before the trial could start."),
])
def test_the_departments_news_in_plain_english(event_name, headline, paragraph):
    data = next(e for e in EXAMPLES if type(e).event_name == event_name)
    n = notice(_event(data), "department", ABOUT, DWP)
    assert n.headline == headline
    assert n.paragraphs[0] == paragraph


def test_a_planned_experiment_says_what_it_tests_when_with_what_and_how_it_is_measured():
    data = next(e for e in EXAMPLES if type(e).event_name == "experiment.planned")
    n = notice(_event(data), "endorsed", ABOUT, DWP)
    assert n.headline == f"The experiment on an idea you endorsed, “{TITLE}”, has been planned"
    assert n.paragraphs == (
        f"What it tests: {data.hypothesis}",
        "It runs from 7 April 2025 to 16 May 2025, with a squad of 4, £12,500 and 40 staff days.",
        "It measures Forms returned for mismatch (percent): from 21 to 8, where lower is better.")


def test_numbers_and_dates_in_words():
    assert messages.money(12000.0) == "£12,000" and messages.money(0.5) == "£0.50"
    assert messages.number(1234567.0) == "1,234,567" and messages.number(-0.25) == "-0.25"
    assert messages.number(3.14159) == "3.1416" and messages.number(0.0001) == "0.0001"
    assert messages.long_day(date(2026, 12, 3)) == "3 December 2026"


# -- hostile text ---------------------------------------------------------------------------------

HOSTILE = ("<script>alert('x')</script> & \"quotes\"\r\nBcc: victim@example.org\u202egnp.exe "
           "\u0645\u0631\u062d\u0628\u0627 🚀")


def test_hostile_titles_and_notes_are_escaped_in_html_and_flattened_in_subjects():
    data = IdeaDeclined(idea_id=IDEA, by=person("panel"), reason="other", note="<img src=x onerror=alert(1)>\n" * 68)
    n = notice(_event(data), "my_ideas", About(idea_title=HOSTILE), DWP)
    email = single_email(n, "my_ideas", DWP, UNSUBSCRIBE, PREFERENCES)
    assert "\r" not in email.subject and "\n" not in email.subject and len(email.subject) <= 150
    assert "\u202e" not in email.subject + email.text + email.html
    assert "\u0645\u0631\u062d\u0628\u0627 🚀" in email.subject  # right-to-left words and emoji are kept
    assert "<script>" not in email.html and "<img" not in email.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in email.html
    assert "&lt;img src=x onerror=alert(1)&gt;<br>" in email.html
    assert "\r" not in email.text
    assert email.text.count("<img src=x onerror=alert(1)>") == 68  # the note in full in the text part


def test_a_5000_character_summary_is_whole_in_its_email_and_cut_short_in_a_digest():
    summary = ("Returns fell. " * 400)[:4990] + " END-MARK"
    data = next(e for e in EXAMPLES if type(e).event_name == "outcome.recorded").model_copy(
        update={"summary": summary})
    n = notice(_event(data), "endorsed", ABOUT, DWP)
    assert n.paragraphs[0] == summary.strip()
    assert "END-MARK" in single_email(n, "endorsed", DWP, UNSUBSCRIBE, PREFERENCES).html
    digest = digest_email([("endorsed", n)], "weekly", MONDAY_8AM, DWP, {}, PREFERENCES)
    assert "END-MARK" not in digest.text + digest.html and "Returns fell. Returns fell." in digest.html
    assert len(digest.html) < 6000


def test_a_5000_character_title_is_cut_in_the_headline():
    n = notice(_event(_example(IdeaBacked)), "endorsed", About(idea_title="x" * 5000), DWP)
    assert len(n.headline) <= 150 and "…" in n.headline
    assert single_email(n, "endorsed", DWP, UNSUBSCRIBE, PREFERENCES).subject == n.headline


def test_a_pseudonym_pasted_into_free_text_is_not_repeated():
    pasted = person("someone")
    data = IdeaDeclined(idea_id=IDEA, by=person("panel"), reason="duplicate", note=f"Ask {pasted} or x{pasted}0")
    n = notice(_event(data), "my_ideas", About(idea_title=f"Idea of {pasted.upper()}"), DWP)
    everything = _all_text(n, "my_ideas")
    assert pasted not in everything.lower()
    assert "Ask (a person) or x(a person)0" in n.paragraphs[1]


@settings(max_examples=200, deadline=None)
@given(title=st.text(min_size=1, max_size=300), note=st.text(max_size=500))
def test_any_title_or_note_gives_a_one_line_subject_and_escaped_html(title, note):
    data = IdeaDeclined(idea_id=IDEA, by=person("panel"), reason="other", note=note[:2000])
    n = notice(_event(data), "my_ideas", About(idea_title=title), DWP)
    email = single_email(n, "my_ideas", DWP, UNSUBSCRIBE, PREFERENCES)
    assert email.subject and len(email.subject) <= 150
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in email.subject)
    _check_html(email.html)


# -- one email --------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.seen: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def _check_html(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    tags.close()
    assert tags.open == []
    assert page.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "en"}) in tags.seen
    for tag, attrs in tags.seen:
        assert tag in {"html", "head", "meta", "title", "body", "div", "p", "h1", "h2", "a", "br", "hr", "ul", "li"}
        assert set(attrs) <= {"lang", "charset", "name", "content", "style", "href"}
        if tag == "a":
            assert attrs["href"].startswith(("https://", "http://"))
    return tags


def test_a_single_email_says_what_happened_links_to_it_says_why_and_how_to_stop():
    n = notice(_event(_example(IdeaBacked)), "my_ideas", ABOUT, DWP)
    email = single_email(n, "my_ideas", DWP, UNSUBSCRIBE, PREFERENCES)
    assert email.subject == f"Your idea “{TITLE}” has been backed"
    text = " ".join(email.text.split())  # as read, whatever the wrapping
    for said in (email.subject, "It has been backed with £12,500, 40 staff days and a 6-week time box.",
                 f"See your idea: {PORTAL}/ideas/{IDEA}",
                 "You get this email because you raised this idea, or are in the squad testing it, in the "
                 "Department for Work and Pensions innovation network.",
                 f"Change how often you get these emails: {PREFERENCES}",
                 f"Stop emails about your ideas: {UNSUBSCRIBE}"):
        assert said in text
    assert " ".join(email.flowing.split()) == text  # the same words, unwrapped for Notify
    assert f"\n{n.paragraphs[0]}\n" in email.flowing and email.flowing.startswith(email.subject + "\n\n")
    tags = _check_html(email.html)
    links = {attrs["href"]: attrs for tag, attrs in tags.seen if tag == "a"}
    assert set(links) == {f"{PORTAL}/ideas/{IDEA}", PREFERENCES, UNSUBSCRIBE}
    assert all("color:#1d70b8" in a["style"] for a in links.values())
    assert 'href="https://notifications.dwp.example.gov.uk/v1/unsubscribe/tok3n?x=1&amp;y=2"' in email.html
    assert "<h1" in email.html and "Arial,Helvetica" in email.html and "#0b0c0c" in email.html
    assert "<style" not in email.html and "<script" not in email.html


@pytest.mark.parametrize(("kind", "why", "stop"), [
    ("endorsed", "because you endorsed this idea", "Stop emails about ideas you endorsed"),
    ("review_queue", "because you review ideas", "Stop emails about your review queue"),
    ("department", "because you asked for the news", "Stop emails about your department's news"),
])
def test_each_kind_says_why_the_reader_gets_it_and_how_to_stop_that_kind(kind, why, stop):
    email = single_email(notice(_event(_example(IdeaBacked)), kind, ABOUT, DWP), kind, DWP, UNSUBSCRIBE, PREFERENCES)
    assert why in email.text and f"{stop}: {UNSUBSCRIBE}" in " ".join(email.text.split())
    assert f">{html.escape(stop)}</a>" in email.html


def test_the_text_part_is_wrapped_and_never_splits_a_url():
    long_url = PORTAL + "/account/emails?" + "a" * 120
    n = notice(_event(_example(OutcomeAdopted), "hmrc"), "endorsed", ABOUT, DWP)
    email = single_email(n, "endorsed", DWP, UNSUBSCRIBE, long_url)
    for line in email.text.splitlines():
        assert len(line) <= messages.WIDTH or " " not in line.strip()
    assert long_url in email.text.splitlines()


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "/relative", "https://x.org/a b", "https://x.org/\r\nX: y"])
def test_a_link_that_is_not_an_absolute_web_address_is_refused(bad):
    n = notice(_event(_example(IdeaBacked)), "my_ideas", ABOUT, DWP)
    with pytest.raises(ValueError):
        single_email(n, "my_ideas", DWP, bad, PREFERENCES)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        notice(_event(_example(IdeaBacked)), "everything", ABOUT, DWP)  # type: ignore[arg-type]


def test_a_department_is_named_by_its_code_when_no_name_is_configured():
    assert Department.of("hmrc", "https://innovation.hmrc.example.gov.uk/") == Department(
        "hmrc", "HM Revenue and Customs", "https://innovation.hmrc.example.gov.uk")
    assert Department.of("nhse", "https://x.org", "NHS England").name == "NHS England"
    assert Department.of("nhse", "https://x.org").name == "NHSE"


# -- digests ----------------------------------------------------------------------------------------

MONDAY_8AM = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)  # GMT in December


def _many(count: int) -> list[tuple[str, Notice]]:
    """`count` notices of every kind in turn, each titled with a unique marker."""
    examples = [e for e in EXAMPLES if type(e).event_name != "conversation.recorded"]
    out = []
    for i in range(count):
        data = examples[i % len(examples)]
        kind = KINDS[i % len(KINDS)]
        event = _event(data, "hmrc" if isinstance(data, OutcomeAdopted) else "dwp")
        if isinstance(data, IdeaSubmitted):
            event = _event(data.model_copy(update={"title": f"Idea marker-{i:04d}-end"}))
        out.append((kind, notice(event, kind, About(idea_title=f"Idea marker-{i:04d}-end"), DWP)))
    return out


def test_a_long_digest_holds_every_notice_exactly_once_grouped_by_kind():
    notices = _many(400)
    urls = {k: f"https://notifications.dwp.example.gov.uk/v1/unsubscribe/{k}" for k in KINDS}
    email = digest_email(notices, "weekly", MONDAY_8AM, DWP, urls, PREFERENCES)
    assert email.subject == "Your weekly innovation network update: 400 things happened"
    flat_text = " ".join(email.text.split())
    for part in (flat_text, email.html):
        found = re.findall(r"marker-(\d{4})-end", part)
        assert sorted(found) == [f"{i:04d}" for i in range(400)]  # each once: headlines only, never repeated
    sections = [messages.SECTIONS[k] for k in KINDS]
    starts = [email.text.index(f"{s} (100)\n") for s in sections]
    assert starts == sorted(starts)
    for i, (kind, _) in enumerate(notices):
        at = email.text.index(f"marker-{i:04d}-end") if f"marker-{i:04d}-end" in email.text else flat_text.index(
            f"marker-{i:04d}-end")
        section = KINDS.index(kind)
        assert starts[section] < at < (starts[section + 1] if section + 1 < len(starts) else len(email.text))
    for kind in KINDS:
        assert f"{messages._STOP[kind]}: {urls[kind]}" in flat_text
        assert f'<a href="{urls[kind]}"' in email.html
    _check_html(email.html)
    assert len(email.html) < 400 * 1500  # compact: about a line or two per notice
    assert " ".join(email.flowing.split()) == flat_text
    assert all(len(line) <= messages.WIDTH or " " not in line.strip() for line in email.text.splitlines())
    assert f"\n* {notices[5][1].headline}\n  {notices[5][1].paragraphs[0]}\n" in email.flowing


def test_a_digest_keeps_the_order_of_its_notices_within_a_kind_and_shows_each_first_paragraph_cut_short():
    long_note = "word " * 200
    data = IdeaDeclined(idea_id=IDEA, by=person("panel"), reason="duplicate", note=long_note)
    first = notice(_event(data), "my_ideas", About(idea_title="First one"), DWP)
    second = notice(_event(_example(IdeaBacked)), "my_ideas", About(idea_title="Second one"), DWP)
    email = digest_email([("my_ideas", first), ("my_ideas", second)], "daily", MONDAY_8AM, DWP,
                         {"my_ideas": UNSUBSCRIBE}, PREFERENCES)
    assert email.subject == "Your daily innovation network update: 2 things happened"
    assert email.text.index("First one") < email.text.index("Second one")
    assert "The reason: it repeats another idea." in email.text and long_note.strip() not in email.text
    assert "It has been backed with £12,500, 40 staff days and a 6-week time box." in " ".join(email.text.split())
    assert "Ideas you endorsed" not in email.text and "Your ideas (2)" in email.text


@pytest.mark.parametrize(("end", "said"), [
    (datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc), "up to 8am on Monday 7 December 2026"),
    (datetime(2026, 6, 1, 7, 0, tzinfo=timezone.utc), "up to 8am on Monday 1 June 2026"),  # BST
    (datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc), "up to 8am on Sunday 29 March 2026"),  # clocks went forward
    (datetime(2026, 10, 25, 8, 0, tzinfo=timezone.utc), "up to 8am on Sunday 25 October 2026"),  # and back
    (datetime(2026, 12, 7, 17, 30, tzinfo=timezone(timedelta(hours=1))), "up to 4:30pm on Monday 7 December 2026"),
    (datetime(2026, 12, 7, 0, 0, tzinfo=timezone.utc), "up to midnight on Monday 7 December 2026"),
    (datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc), "up to midday on Monday 7 December 2026"),
])
def test_a_digest_says_its_period_in_london_time(end, said):
    email = digest_email(_many(1), "daily", end, DWP, {"my_ideas": UNSUBSCRIBE}, PREFERENCES)
    assert said in " ".join(email.text.split()) and said in email.html


def test_a_digest_without_an_unsubscribe_link_for_a_kind_points_to_the_preferences():
    email = digest_email(_many(2), "weekly", MONDAY_8AM, DWP, {"my_ideas": UNSUBSCRIBE}, PREFERENCES)
    assert f"Stop emails about your ideas: {UNSUBSCRIBE}" in " ".join(email.text.split())
    assert f"Change how often you get these emails or stop them: {PREFERENCES}" in " ".join(email.text.split())


@pytest.mark.parametrize(("notices", "rhythm", "end"), [
    ([], "daily", MONDAY_8AM),
    (None, "immediately", MONDAY_8AM),
    (None, "daily", datetime(2026, 12, 7, 8, 0)),  # naive: whose 8am?
    ([("everything", None)], "daily", MONDAY_8AM),
])
def test_a_digest_refuses_what_it_cannot_say_truly(notices, rhythm, end):
    with pytest.raises(ValueError):
        digest_email(_many(1) if notices is None else notices, rhythm, end, DWP, {}, PREFERENCES)


def test_one_thing_happened():
    assert digest_email(_many(1), "daily", MONDAY_8AM, DWP, {}, PREFERENCES).subject == (
        "Your daily innovation network update: 1 thing happened")
