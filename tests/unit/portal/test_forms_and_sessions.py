"""The portal's pure parts: the idea form to the API's body, the API's refusals to GOV.UK messages by field,
where a sign-in may return to, and when its cookie is Secure."""

import pytest

from services.portal.config import PortalSettings
from services.portal.forms import idea_form, refused_fields
from services.portal.handlers import safe_return_to


def test_the_form_becomes_the_apis_body_with_empty_optional_fields_left_out_and_themes_split():
    form = idea_form({"title": " Fewer forms ", "problem": "Too many.", "proposal": "Merge.", "expected_benefits": "",
                      "themes": "paperwork, digital-services  ops", "team": "", "campaign": "one-big-thing"})
    assert form.errors == {}
    assert form.body() == {"title": "Fewer forms", "problem": "Too many.", "proposal": "Merge.",
                           "themes": ["paperwork", "digital-services", "ops"], "campaign": "one-big-thing"}


def test_required_fields_left_empty_are_named_before_anything_is_sent():
    form = idea_form({"title": "Fewer forms", "problem": "  "})
    assert form.errors == {"problem": "Enter the problem", "proposal": "Enter the proposal"}


def test_the_apis_field_and_rule_become_one_message_per_field_in_the_forms_order():
    form = idea_form({"title": "x" * 201, "problem": "p", "proposal": "q", "themes": "Bad One, ok"})
    refused_fields(form, [
        {"field": "themes.0", "rule": "string_pattern_mismatch", "message": "String should match pattern"},
        {"field": "title", "rule": "string_too_long", "message": "String should have at most 200 characters"},
        {"field": "themes.1", "rule": "string_pattern_mismatch", "message": "String should match pattern"},
        {"field": "title", "rule": "string_too_short", "message": "String should have at least 3 characters"},
    ])
    assert list(form.errors) == ["title", "themes"]
    assert form.errors["title"] == "Title must be 200 characters or fewer"
    assert form.errors["themes"].startswith("Each theme must be lower case letters")


def test_a_refusal_naming_no_form_field_is_still_shown():
    form = refused_fields(idea_form({"title": "t", "problem": "p", "proposal": "q"}),
                          [{"field": "body", "rule": "unknown", "message": "odd"}])
    assert form.errors and "odd" in next(iter(form.errors.values()))


@pytest.mark.parametrize("given, kept", [
    ("/ideas/new", "/ideas/new"), ("/ideas/1?x=2", "/ideas/1?x=2"), (None, "/"), ("", "/"),
    ("//evil.example/", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"), ("ideas", "/"),
])
def test_a_sign_in_returns_only_to_a_path_of_the_portal(given, kept):
    assert safe_return_to(given) == kept


def test_the_session_cookie_is_secure_when_the_portal_is_reached_over_https():
    common = {"oidc_issuer": "http://127.0.0.1:8080/realms/dwp", "development_mode": True}
    assert PortalSettings(public_url="https://portal.dwp.example/", **common).secure_cookies
    assert PortalSettings(public_url="https://portal.dwp.example/", **common).public_url == "https://portal.dwp.example"
    assert not PortalSettings(http_port=8004, **common).secure_cookies


def test_the_published_client_secret_is_refused_outside_development_mode():
    with pytest.raises(SystemExit, match="OIDC_CLIENT_SECRET"):
        PortalSettings(oidc_issuer="https://login.dwp.example/realms/dwp", development_mode=False,
                       database_url="postgresql://u:private-pw@db/portal", pseudonym_secret="a-private-secret")
