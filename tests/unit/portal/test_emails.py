"""The emails page's pure parts: what it shows checked from a subscription, the posted form read into the
notifications API's body (each kind's rhythm, the department's news), tampered values refused, "Stop all emails",
the subscription recorded at sign-in, the API's 422 fields placed on the page; and the page itself rendered."""

import re
from types import SimpleNamespace

from services.portal import story
from services.portal.http import templates

FULL = "uk.gov.innovation."
ALL_KINDS = {"my_ideas": "daily", "endorsed": "never", "review_queue": "immediately", "department": "weekly"}


def test_the_defaults_are_the_notifications_services_own():
    # the portal keeps a copy (it uses only the services' public APIs); this fails if the two drift apart
    from services.notifications.domain import DEFAULT_PREFERENCES, DEPARTMENT_NEWS, KINDS, RHYTHMS

    assert story.DEFAULT_PREFERENCES == DEFAULT_PREFERENCES
    assert sorted(FULL + news for news in story.DEFAULT_NEWS) == sorted(DEPARTMENT_NEWS)
    assert set(story.DEFAULT_NEWS) <= {news for news, _ in story.NEWS}  # each can be unchecked on the page
    assert tuple(kind for kind, _, _ in story.EMAIL_KINDS) == KINDS
    assert tuple(rhythm for rhythm, _ in story.RHYTHMS) == RHYTHMS


def test_a_subscription_shows_its_rhythms_and_news_and_none_shows_the_defaults():
    shown = story.chosen_emails({"preferences": ALL_KINDS, "event_types": [FULL + "idea.backed.v1"]})
    assert shown.preferences == ALL_KINDS and shown.news == ["idea.backed.v1"] and shown.others == []
    none = story.chosen_emails(None)
    assert none.preferences == story.DEFAULT_PREFERENCES and none.news == list(story.DEFAULT_NEWS)
    # an older answer without preferences, or a rhythm this page does not know: the kind's default
    odd = story.chosen_emails({"preferences": {"my_ideas": "hourly"}, "event_types": []})
    assert odd.preferences == story.DEFAULT_PREFERENCES and odd.news == []


def test_saving_sends_each_kinds_rhythm_the_news_and_whether_the_person_reviews():
    posted = {"my_ideas": "daily", "endorsed": "never", "review_queue": "immediately", "department": "weekly"}
    choices = story.email_choices(posted, ["outcome.adopted.v1", "idea.backed.v1", "idea.backed.v1"], True, None)
    assert not choices.errors
    assert choices.body("ann@dwp.example", "Ann", True) == {
        "email": "ann@dwp.example", "display_name": "Ann", "preferences": ALL_KINDS,
        "event_types": ["idea.backed.v1", "outcome.adopted.v1"], "reviewer": True}


def test_a_contributor_is_not_asked_about_a_review_queue_and_keeps_what_was_stored():
    assert [kind for kind, _, _ in story.email_kinds(False)] == ["my_ideas", "endorsed", "department"]
    assert [kind for kind, _, _ in story.email_kinds(True)] == ["my_ideas", "endorsed", "review_queue", "department"]
    posted = {"my_ideas": "weekly", "endorsed": "weekly", "department": "never", "review_queue": "daily"}
    stored = {"preferences": {**ALL_KINDS, "review_queue": "never"}, "event_types": []}
    choices = story.email_choices(posted, [], False, stored)
    assert not choices.errors and choices.preferences["review_queue"] == "never"  # the posted one is not theirs to set
    assert story.email_choices(posted, [], False, None).preferences["review_queue"] == "weekly"


def test_tampered_or_missing_rhythms_and_unknown_news_are_named_not_dropped():
    posted = {"my_ideas": "hourly", "endorsed": "", "department": "weekly"}
    choices = story.email_choices(posted, ["idea.backed.v1", "made.up.v1"], False, None)
    assert choices.errors == {"my_ideas": "Select how often you want emails about your ideas",
                              "endorsed": "Select how often you want emails about ideas you endorsed",
                              "event_types": "Select news from the list"}
    hostile = story.email_choices({"my_ideas": "<script>", "endorsed": "never", "department": "never"},
                                  ["idea.backed.v1\r\nBcc: x"], False, None)
    assert set(hostile.errors) == {"my_ideas", "event_types"}


def test_department_news_needs_some_news_unless_it_is_never():
    posted = {"my_ideas": "immediately", "endorsed": "weekly", "department": "daily"}
    assert story.email_choices(posted, [], False, None).errors == {
        "event_types": "Select the news you want, or choose Never for news from your department"}
    assert not story.email_choices({**posted, "department": "never"}, [], False, None).errors


def test_news_chosen_elsewhere_that_the_page_does_not_offer_are_kept():
    stored = {"preferences": ALL_KINDS, "event_types": [FULL + "idea.declined.v1", FULL + "idea.backed.v1"]}
    posted = {"my_ideas": "daily", "endorsed": "never", "department": "weekly"}
    choices = story.email_choices(posted, [], False, stored)
    assert not choices.errors and choices.news == []
    assert choices.body("a@b.example", None, False)["event_types"] == [FULL + "idea.declined.v1"]


def test_stop_all_emails_sets_every_kind_never_and_keeps_the_news_for_later():
    stored = {"preferences": ALL_KINDS, "event_types": [FULL + "idea.backed.v1"]}
    stopped = story.no_emails(stored)
    assert stopped.preferences == dict.fromkeys(ALL_KINDS, "never") and stopped.news == ["idea.backed.v1"]
    assert not stopped.errors and story.no_emails(None).preferences == dict.fromkeys(ALL_KINDS, "never")


def test_the_first_subscription_leaves_preferences_and_news_to_the_service():
    assert story.first_subscription("ann@dwp.example", "Ann", False) == {
        "email": "ann@dwp.example", "display_name": "Ann", "reviewer": False}


def test_a_later_sign_in_writes_only_a_new_address_or_role_and_keeps_every_choice():
    stored = {"email": "ann@dwp.example", "reviewer": False, "preferences": ALL_KINDS,
              "event_types": [FULL + "idea.declined.v1"]}
    assert story.address_update(stored, "ann@dwp.example", "Ann", False) is None
    assert story.address_update(stored, "ann.new@dwp.example", "Ann", False) == {
        "email": "ann.new@dwp.example", "display_name": "Ann", "preferences": ALL_KINDS,
        "event_types": [FULL + "idea.declined.v1"], "reviewer": False}
    promoted = story.address_update(stored, "ann@dwp.example", None, True)
    assert promoted["reviewer"] is True and promoted["preferences"] == ALL_KINDS


def test_a_name_the_notifications_service_would_refuse_is_left_out_rather_than_refusing_the_address():
    assert story.email_name(" Ann O’Neil (DWP) ") == "Ann O’Neil (DWP)"
    assert story.email_name("Zoë Smith-Jones") == "Zoë Smith-Jones"
    for bad in ("ann@dwp.example", "Ann <ann@x.example>", '"Ann"', "Ann\r\nBcc: x", "a" * 101, "", None, "_x"):
        assert story.email_name(bad) is None, bad


def test_the_apis_422_lands_on_the_kind_the_news_or_the_page():
    assert story.email_field("preferences.endorsed") == "endorsed"
    assert story.email_field("preferences") is None and story.email_field("preferences.sometimes") is None
    assert story.email_field("event_types.2") == "event_types" and story.email_field("email") is None
    refused = story.refused_emails(story.chosen_emails(None), {"error": "validation failed", "detail": [
        {"field": "preferences.department", "rule": "literal_error"}, {"field": "email", "rule": "email_address"},
        {"field": "display_name", "rule": "display_name"}, "not an item"]})
    assert refused.errors == {"address": story.UNUSABLE_ADDRESS,
                              "department": "Choose a news from your department from the list"}
    news = story.refused_emails(story.chosen_emails(None), {"detail": [
        {"field": "event_types", "rule": "known_event_type", "message": "'x' is not an event type"}]})
    assert news.errors == {"event_types": "Which news: 'x' is not an event type"}
    unnamed = story.refused_emails(story.chosen_emails(None), {"error": "validation failed", "message": "too many"})
    assert unnamed.errors == {"address": "This could not be saved: too many"}


def _render(email: str | None, on_panel: bool, choices: story.EmailChoices, refused_at: str | None = None) -> str:
    session = SimpleNamespace(email=email, csrf_token="token", signed_in=True, on_panel=on_panel, display_name="Ann",
                              role="reviewer" if on_panel else "contributor")
    return templates.get_template("emails.html").render(
        session=session, department="DWP", styles=False, choices=choices, errors=choices.errors, banner=None,
        kinds=story.email_kinds(on_panel), rhythms=story.RHYTHMS, news=story.NEWS, refused_at=refused_at)


def _checked(html: str) -> set[str]:
    return set(re.findall(r'id="([^"]+)"[^>]*\bchecked\b', html))


def test_the_page_has_a_fieldset_of_radios_per_kind_checked_as_saved_and_the_news_below():
    html = _render("ann@dwp.example", True, story.chosen_emails({"preferences": ALL_KINDS,
                                                                 "event_types": [FULL + "outcome.adopted.v1"]}))
    legends = re.findall(r'<legend class="govuk-fieldset__legend[^"]*">([^<]+)</legend>', html)
    assert legends == ["Your ideas", "Ideas you endorsed", "Your review queue", "News from your department", "Which news"]
    assert _checked(html) == {"my_ideas-daily", "endorsed-never", "review_queue-immediately", "department-weekly",
                              "news-outcome-adopted-v1"}
    assert "ann@dwp.example" in html and 'action="/account/emails/stop"' in html and 'id="save-emails"' in html
    assert html.count('name="csrf_token"') == 3  # the choices, stop all, and sign out
    assert "style=" not in html and "<script>" not in html


def test_a_contributor_sees_no_review_queue_and_an_account_without_an_address_is_offered_no_save():
    contributor = _render("ann@dwp.example", False, story.chosen_emails(None))
    assert "Your review queue" not in contributor and 'name="review_queue"' not in contributor
    no_address = _render(None, False, story.chosen_emails(None))
    assert "has no email address" in no_address and 'action="/account/emails"' not in no_address
    assert 'id="save-emails"' not in no_address and "Stop all emails" not in no_address


def test_errors_link_to_their_fields_and_a_refused_address_is_warned_of():
    choices = story.email_choices({"my_ideas": "hourly", "endorsed": "never", "department": "daily"}, [], False, None)
    html = _render("ann@dwp.example", False, choices, refused_at="2026-03-01T10:00:00Z")
    assert '<a href="#my_ideas-immediately">' in html and '<a href="#news-idea-submitted-v1">' in html
    assert 'id="my_ideas-error"' in html and 'id="event_types-error"' in html
    assert 'id="address-refused"' in html and "1 March 2026" in html
