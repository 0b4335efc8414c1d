"""The pure parts of the review panel's pages: the scoring guidance, the panel's forms and their errors, the ideas
API's refusals in the pages' words, reviewers shown as "Reviewer 1..n", the ranking, and merge targets."""

import uuid

import pytest

from services.portal import review
from services.portal.forms import Form

IDEA = str(uuid.uuid4())


def test_every_criterion_has_a_question_and_distinct_guidance_for_each_score_from_1_to_5():
    assert [c.name for c in review.CRITERIA] == ["impact", "feasibility", "value_for_money", "alignment"]
    for criterion in review.CRITERIA:
        assert criterion.question.endswith("?")
        assert [n for n, _ in criterion.choices()] == [1, 2, 3, 4, 5]
        assert len(set(criterion.guidance)) == 5 and all(criterion.guidance)
    assert review.CRITERIA[0].guidance[0] == "Hardly anyone would notice the difference"
    assert review.CRITERIA[0].guidance[4] == "Changes things for many people or a lot of money"


def test_the_scoring_form_becomes_the_apis_body_with_the_comment_as_typed():
    form = review.score_form({"impact": "5", "feasibility": "1", "value_for_money": "3", "alignment": "4",
                              "comment": "  <b>Good</b>\r\nidea  "})
    assert not form.errors
    assert form.body == {"scores": {"impact": 5, "feasibility": 1, "value_for_money": 3, "alignment": 4},
                         "comment": "<b>Good</b>\nidea"}
    no_comment = review.score_form({"impact": "2", "feasibility": "2", "value_for_money": "2", "alignment": "2"})
    assert not no_comment.errors and "comment" not in no_comment.body


@pytest.mark.parametrize("value", ["0", "6", "3.5", "x", "-1", "٣", " 1 1"])
def test_a_score_outside_1_to_5_is_named(value):
    form = review.score_form({"impact": value, "feasibility": "1", "value_for_money": "1", "alignment": "1"})
    assert form.errors == {"impact": "Choose a score for impact from 1 to 5"}


def test_missing_scores_and_an_oversized_or_binary_comment_are_each_named():
    form = review.score_form({"impact": "3", "comment": "x" * 2001})
    assert form.errors == {"feasibility": "Choose a score for feasibility",
                           "value_for_money": "Choose a score for value for money",
                           "alignment": "Choose a score for alignment",
                           "comment": "Comment must be 2000 characters or fewer"}
    assert review.score_form({"comment": "a\x00b"}).errors["comment"] == "Comment must be plain text"
    # 2000 characters with line breaks fit, though a browser sends each as two (CRLF)
    fits = review.score_form({"impact": "1", "feasibility": "1", "value_for_money": "1", "alignment": "1",
                              "comment": "ab\r\n" * 500})
    assert "comment" not in fits.errors


def test_backing_takes_pounds_with_a_sign_and_commas_days_in_halves_and_whole_weeks():
    form = review.back_form({"budget_gbp": "£12,500", "staff_days": "7.5", "timebox_weeks": "6", "back_note": ""})
    assert not form.errors
    assert form.body == {"budget_gbp": 12500.0, "staff_days": 7.5, "timebox_weeks": 6}
    noted = review.back_form({"budget_gbp": "0", "staff_days": "0", "timebox_weeks": "52", "back_note": "Go"})
    assert noted.body == {"budget_gbp": 0.0, "staff_days": 0.0, "timebox_weeks": 52, "note": "Go"}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("budget_gbp", "", "Enter the budget in pounds"),
    ("budget_gbp", "-5", "Budget must be an amount in pounds from 0 to 1,000,000,000, like 12,500"),
    ("budget_gbp", "1e9", "Budget must be an amount in pounds from 0 to 1,000,000,000, like 12,500"),
    ("budget_gbp", "1000000001", "Budget must be an amount in pounds from 0 to 1,000,000,000, like 12,500"),
    ("budget_gbp", "nan", "Budget must be an amount in pounds from 0 to 1,000,000,000, like 12,500"),
    ("staff_days", "", "Enter the number of staff days"),
    ("staff_days", "ten", "Staff days must be a number from 0 to 1,000,000, like 20 or 7.5"),
    ("staff_days", "1000001", "Staff days must be a number from 0 to 1,000,000, like 20 or 7.5"),
    ("timebox_weeks", "", "Enter the time box in weeks"),
    ("timebox_weeks", "0", "Time box must be a whole number of weeks from 1 to 52"),
    ("timebox_weeks", "53", "Time box must be a whole number of weeks from 1 to 52"),
    ("timebox_weeks", "2.5", "Time box must be a whole number of weeks from 1 to 52"),
    ("timebox_weeks", "²", "Time box must be a whole number of weeks from 1 to 52"),
    ("back_note", "x" * 2001, "Note must be 2000 characters or fewer"),
])
def test_each_wrong_backing_figure_is_named_and_nothing_is_sent(name, value, message):
    form = review.back_form({"budget_gbp": "100", "staff_days": "5", "timebox_weeks": "4", name: value})
    assert form.errors == {name: message} and form.body == {}
    assert form.values[name] == value  # shown again as typed


def test_declining_needs_a_reason_from_the_list_and_a_note():
    form = review.decline_form({"reason": "not_feasible", "decline_note": "Needs a new IT system."})
    assert not form.errors and form.body == {"reason": "not_feasible", "note": "Needs a new IT system."}
    assert review.decline_form({}).errors == {"reason": "Choose why the idea is declined",
                                              "decline_note": "Enter a note for the person who raised the idea"}
    assert review.decline_form({"reason": "spite", "decline_note": "x"}).errors == {"reason": "Choose a reason from the list"}
    assert set(review.DECLINE_REASONS) == {"duplicate", "out_of_scope", "not_feasible", "insufficient_evidence", "other"}


def test_shortlisting_takes_an_optional_note():
    assert review.shortlist_form({}).body == {} and not review.shortlist_form({}).errors
    assert review.shortlist_form({"shortlist_note": " Strong "}).body == {"note": "Strong"}
    assert review.shortlist_form({"shortlist_note": "x" * 2001}).errors == {
        "shortlist_note": "Note must be 2000 characters or fewer"}


def test_the_merge_search_needs_3_to_100_printable_characters():
    assert review.merge_search(None).errors == {} and review.merge_search(None).values == {"q": ""}
    assert review.merge_search("  forms ").values == {"q": "forms"} and not review.merge_search("forms").errors
    assert review.merge_search("  ").errors == {"q": "Enter words from the title of the idea to merge into"}
    for wrong in ("ab", "x" * 101, "a\x00bc"):
        assert review.merge_search(wrong).errors == {"q": "Words must be 3 to 100 characters"}


def test_merge_targets_are_this_departments_then_others_without_the_idea_itself_or_repeats():
    own = [{"idea_id": IDEA, "title": "Itself", "status": "submitted"},
           {"idea_id": "a" * 8, "title": "Ours", "status": "shortlisted"}]
    elsewhere = [{"department": "hmrc", "idea_id": "b" * 8, "title": "Theirs", "status": "backed"},
                 {"department": "dwp", "idea_id": "a" * 8, "title": "Ours again"},  # reporting's copy of ours
                 {"department": "hmrc", "idea_id": "b" * 8, "title": "Theirs again"}]
    targets = review.merge_targets(IDEA, "dwp", own, elsewhere)
    assert [(t.department, t.title, t.here) for t in targets] == [("dwp", "Ours", True), ("hmrc", "Theirs", False)]
    assert targets[1].value == f"hmrc/{'b' * 8}"


def test_the_chosen_merge_target_becomes_the_apis_body_and_a_forged_one_is_refused():
    target = uuid.uuid4()
    form = review.merge_choice({"target": f"hmrc/{target}", "q": "forms"}, IDEA, "dwp")
    assert not form.errors and form.body == {"into_department": "hmrc", "into_idea_id": str(target)}
    assert review.merge_choice({}, IDEA, "dwp").errors == {"target": "Choose the idea to merge into"}
    for forged in ("hmrc/not-an-id", f"HMRC/{target}", f"../x/{target}", f"{'a' * 40}/{target}", str(target)):
        assert review.merge_choice({"target": forged}, IDEA, "dwp").errors == {"target": "Choose an idea from the list"}
    assert review.merge_choice({"target": f"dwp/{IDEA}"}, IDEA, "dwp").errors == {
        "target": "An idea cannot be merged into itself: choose another"}


def test_the_apis_422_detail_lands_on_the_forms_fields_and_anything_else_on_the_form():
    form = review.score_form({"impact": "1", "feasibility": "1", "value_for_money": "1", "alignment": "1"})
    review.refused_fields(form, ("impact", "feasibility", "value_for_money", "alignment", "comment"), [
        {"field": "scores.impact", "rule": "less_than_equal", "message": "Input should be less than or equal to 5"},
        {"field": "comment", "rule": "string_too_long", "message": "String should have at most 2000 characters"},
        {"field": "body", "rule": "json_invalid", "message": "JSON decode error"}], "score")
    assert form.errors == {"impact": "Impact is out of range: Input should be less than or equal to 5",
                           "comment": "Comment must be 2000 characters or fewer",
                           "score": "This could not be saved: JSON decode error"}
    back = review.refused_fields(Form({}), ("budget_gbp", "staff_days", "timebox_weeks", "back_note"),
                                 [{"field": "note", "rule": "string_too_long", "message": "at most 2000 characters"},
                                  {"field": "timebox_weeks", "rule": "missing"}], "back")
    assert back.errors == {"back_note": "Note must be 2000 characters or fewer", "timebox_weeks": "Enter the time box"}


def test_the_apis_403_and_409_are_said_in_the_pages_words():
    own = {"error": "nobody reviews an idea they submitted", "detail": [{"field": "X-Person-Ref", "rule": "conflict of interest"}]}
    assert review.refusal_message(403, own, "score") == "You raised this idea, so you cannot score it"
    role = {"error": "the viewer role may not do this", "detail": [{"field": "Authorization", "rule": "role one of admin, reviewer"}]}
    assert review.refusal_message(403, role, "back") == "You cannot back this idea: only reviewers and admins can"
    twice = {"error": "not allowed in the idea's current state", "detail": [
        {"field": "reviewer", "rule": "this person has already reviewed this idea"}], "status": "submitted"}
    assert review.refusal_message(409, twice, "score") == "You have already scored this idea"
    state = {"error": "not allowed in the idea's current state", "status": "backed",
             "detail": [{"field": "status", "rule": "only a submitted idea can be shortlisted; this one is backed"}]}
    assert review.refusal_message(409, state, "shortlist") == "This idea is backed now, so it cannot be shortlisted"
    assert review.refusal_message(409, {}, "decline") == "This idea cannot be declined now"


def test_reviews_are_shown_in_the_order_given_as_numbered_reviewers_never_their_pseudonyms():
    reviews = [{"reviewer": "p_bbbbbbbbbbbbbbbb", "scores": {"impact": 2, "feasibility": 3, "value_for_money": 4,
                                                            "alignment": 5}, "comment": None,
                "reviewed_at": "2026-03-02T10:00:00Z"},
               {"reviewer": "p_aaaaaaaaaaaaaaaa", "scores": {"impact": 5, "feasibility": 5, "value_for_money": 5,
                                                            "alignment": 5}, "comment": "<i>Yes</i>",
                "reviewed_at": "2026-03-01T10:00:00Z"}]
    shown = review.reviews_shown(reviews, me="p_bbbbbbbbbbbbbbbb")
    assert [(r.label, r.yours) for r in shown] == [("Reviewer 1", False), ("Reviewer 2", True)]
    assert shown[0].comment == "<i>Yes</i>" and shown[0].on == "1 March 2026"
    assert shown[1].scores == [("Impact", 2), ("Feasibility", 3), ("Value for money", 4), ("Alignment", 5)]
    assert "p_" not in repr(shown)
    assert review.my_review(reviews, "p_aaaaaaaaaaaaaaaa") is reviews[1] and review.my_review(reviews, "p_c") is None


def test_averages_and_overall_are_shown_to_one_decimal():
    scores = {"impact": 4.5, "feasibility": 3.0, "value_for_money": 4.0, "alignment": 3.25}
    assert review.overall(scores) == 3.69
    assert review.averages(scores) == [("Impact", "4.5"), ("Feasibility", "3"), ("Value for money", "4"),
                                       ("Alignment", "3.2"), ("Overall", "3.7")]
    assert review.overall({**scores, "overall": 4.0}) == 4.0  # the API's own when it gives one
    assert review.averages(None) == [] and review.overall(None) is None
    assert review.overall({"impact": 1}) is None


def test_the_ranking_is_by_overall_average_with_ideas_without_scores_last():
    items = [{"idea_id": "a", "title": "Low", "reviews": 1, "scores": {"impact": 1, "feasibility": 1,
                                                                         "value_for_money": 1, "alignment": 1}},
             {"idea_id": "b", "title": "None", "reviews": 0, "scores": None},
             {"idea_id": "c", "title": "High", "reviews": 2, "scores": {"impact": 5, "feasibility": 4, "value_for_money": 5,
                                                                          "alignment": 4, "overall": 4.5}}]
    ranked = review.ranking(items)
    assert [(r.title, r.overall) for r in ranked] == [("High", "4.5"), ("Low", "1"), ("None", "–")]
    assert ranked[0].scores == ["5", "4", "5", "4"] and ranked[0].reviews == 2


def test_what_a_panel_member_may_do_follows_the_ideas_state_and_whether_it_is_theirs():
    submitted, shortlisted = {"status": "submitted"}, {"status": "shortlisted"}
    may = review.actions(submitted, mine=False, reviewed=False)
    assert (may.score, may.shortlist, may.back, may.decline, may.merge) == (True, True, False, True, True)
    may = review.actions(shortlisted, mine=False, reviewed=True)
    assert (may.score, may.shortlist, may.back, may.decline, may.merge) == (False, False, True, True, True)
    mine = review.actions(submitted, mine=True, reviewed=False)
    assert not (mine.score or mine.decide) and "You raised this idea" in mine.why_not
    closed = review.actions({"status": "declined"}, mine=False, reviewed=False)
    assert not (closed.score or closed.decide) and closed.why_not == "This idea is declined: there is nothing more to decide."


def test_the_queue_keeps_the_apis_order_with_the_raised_date_and_reviews():
    rows = review.queue_rows([{"idea_id": "a", "title": "Old", "submitted_at": "2026-01-05T09:00:00Z", "reviews": 1},
                              {"idea_id": "b", "title": "New", "submitted_at": "2026-02-05T09:00:00Z", "reviews": 0}])
    assert [(r["title"], r["submitted"], r["reviews"]) for r in rows] == [("Old", "5 January 2026", 1),
                                                                          ("New", "5 February 2026", 0)]
