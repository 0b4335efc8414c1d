"""The rules of notifications, without I/O."""

import uuid

import pytest
from hypothesis import given, strategies as st

from services.notifications import domain, messages
from shared.refusals import Invalid
from shared.events import OutcomeAdopted, new_event
from tests.support.events import person, submitted


def refused(check, value) -> str:
    with pytest.raises(Invalid) as error:
        check(value)
    return error.value.rule


def test_event_types_accept_full_and_short_names_and_refuse_unknown_ones():
    assert domain.event_types(["idea.submitted.v1", "uk.gov.innovation.idea.submitted.v1", "outcome.adopted.v1"]) == (
        "uk.gov.innovation.idea.submitted.v1", "uk.gov.innovation.outcome.adopted.v1")
    assert refused(domain.event_types, ["idea.submitted.v2"]) == "known_event_type"
    assert refused(domain.event_types, ["uk.gov.innovation.idea"]) == "known_event_type"
    assert refused(domain.event_types, []) == "at_least_one"


@pytest.mark.parametrize("good", ["a@b.org", "first.last+tag@dept.gov.uk", "x_y@sub-domain.example.co.uk"])
def test_plain_email_addresses_pass(good):
    assert domain.email_address(good) == good


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@localhost", "a@b.org\r\nBcc: c@d.org", "A <a@b.org>",
                                 "a..b@c.org", "a@-b.org", "a b@c.org", "a@b.org,c@d.org", "x" * 65 + "@b.org"])
def test_anything_but_a_plain_address_is_refused(bad):
    assert refused(domain.email_address, bad) == "email_address"


@pytest.mark.parametrize("good", ["Alice", "Alice O'Neil", "Zoë Ng-Smith (Policy)", "J. R. Hartley", "Siân"])
def test_ordinary_display_names_pass(good):
    assert domain.display_name(good) == good


@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", 'Bob" <x@y.org>', "Bob\nBcc: x@y.org", "a@b.org",
                                 " leading", "semi;colon", "", "x" * 101, "=?utf-8?q?x?="])
def test_display_names_that_could_carry_markup_or_header_syntax_are_refused(bad):
    assert refused(domain.display_name, bad) == "display_name"


def test_webhook_urls():
    assert domain.webhook_url("https://hooks.example.org:8443/x?y=1") == "https://hooks.example.org:8443/x?y=1"
    assert domain.webhook_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/"
    assert refused(domain.webhook_url, "gopher://x.org/") == "url_scheme"
    assert refused(domain.webhook_url, "https://" + "a" * 2000) == "max_length"
    assert refused(domain.webhook_url, "https://[::1") == "url"
    assert domain.webhook_url("https://テスト.example.jp/hook") == "https://テスト.example.jp/hook"
    for junk in ("http://ex%41mple.com/", "http://exa\u00admple.com/", "http://%00/", "http://ab\\cd/", "http://-a.org/"):
        assert refused(domain.webhook_url, junk) == "url_host", junk


def test_webhook_secrets_are_long_printable_ascii():
    assert domain.webhook_secret("s" * 16) == "s" * 16
    for bad in ("s" * 15, "s" * 201, "with space in it ok", "ünicode-secret-1234"):
        assert refused(domain.webhook_secret, bad) == "webhook_secret"


def test_the_retry_budget_doubles_caps_and_ends():
    budget = domain.RetryBudget(max_attempts=5, first_delay=1, max_delay=5)
    assert [budget.after_failure(n) for n in range(1, 6)] == [1, 2, 4, 5, None]
    assert domain.RetryBudget(max_attempts=1).after_failure(1) is None


@given(st.binary(max_size=500), st.integers(0, 2**40))
def test_a_signature_verifies_only_its_own_body_and_timestamp(body, timestamp):
    secret = "whsec-0123456789abcdef"
    given_signature = domain.signature(secret, timestamp, body)
    assert given_signature.startswith("sha256=") and len(given_signature) == 7 + 64
    assert domain.signature_valid(secret, timestamp, body, given_signature)
    assert not domain.signature_valid(secret, timestamp + 1, body, given_signature)
    assert not domain.signature_valid(secret, timestamp, body + b"x", given_signature)
    assert not domain.signature_valid(secret + "x", timestamp, body, given_signature)


def _adoption(origin: str, adopter: str):
    return new_event(OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=origin, origin_outcome_id=uuid.uuid4(),
                                    adopting_department=adopter, adopted_by=person(), note=""),
                     department=adopter, service="experiments")


def test_only_other_departments_adoptions_of_our_outcomes_are_ours():
    assert domain.adoption_of_ours(_adoption("dwp", "hmrc"), "dwp")
    assert not domain.adoption_of_ours(_adoption("defra", "hmrc"), "dwp")
    assert not domain.adoption_of_ours(_adoption("dwp", "dwp"), "dwp")  # read from our own topic already
    assert not domain.adoption_of_ours(submitted("hmrc"), "dwp")


@given(st.text(max_size=300), st.sampled_from(domain.KINDS))
def test_an_email_subject_is_one_line_whatever_the_title(title, kind):
    event = submitted("dwp", title=("x" * 3 + title)[:200])
    department = messages.Department("dwp", "Department for Work and Pensions", "https://portal.example")
    notice = messages.notice(event, kind, messages.About(idea_id=event.data.idea_id, idea_title=event.data.title), department)
    email = messages.single_email(notice, kind, department, "https://n.example/unsubscribe/t", "https://portal.example/account/emails")
    assert not any(c in email.subject for c in "\r\n\x00") and 0 < len(email.subject) <= 200
    assert f"https://portal.example/" in email.text
