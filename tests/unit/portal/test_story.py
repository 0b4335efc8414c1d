"""The pure parts of the portal's pages: "updated since your last visit", the search filters, an idea's
timeline and the team-conversation form (the email choices: test_emails.py)."""

from datetime import date, datetime, timezone

from services.portal import story

VISIT = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def test_an_idea_is_updated_when_it_changed_after_the_last_visit_not_when_merely_raised():
    changed = {"submitted_at": "2026-02-01T00:00:00Z", "updated_at": "2026-03-02T00:00:00Z"}
    raised_since = {"submitted_at": "2026-03-02T00:00:00Z", "updated_at": "2026-03-02T00:00:00Z"}
    before = {"submitted_at": "2026-02-01T00:00:00Z", "updated_at": "2026-02-20T00:00:00Z"}
    assert story.updated_since(changed, VISIT)
    assert not story.updated_since(raised_since, VISIT) and not story.updated_since(before, VISIT)
    assert not story.updated_since(changed, None)  # a first visit marks nothing


def test_the_search_keeps_valid_filters_and_names_each_wrong_one():
    ok = story.search_form({"status": "backed", "theme": "digital-services", "q": " kettle ", "campaign": ""})
    assert not ok.errors and ok.filters() == {"status": "backed", "theme": "digital-services", "q": "kettle"}
    wrong = story.search_form({"status": "lost", "theme": "Not A Slug", "campaign": "x" * 61, "q": "a\x00b"})
    assert set(wrong.errors) == {"status", "theme", "campaign", "q"} and wrong.filters() == {}
    assert not story.search_form({}).active


def test_the_timeline_tells_the_story_in_order_with_the_experiment_and_its_outcome():
    idea = {"status": "backed", "submitted_at": "2026-03-02T10:00:00Z", "team": "Ops", "endorsements": 2,
            "reviews": 1, "scores": {"impact": 5.0, "value_for_money": 3.5}, "shortlisted_by": "p_1",
            "backing": {"budget_gbp": 12000.0, "staff_days": 10.0, "timebox_weeks": 6}}
    experiment = {"status": "completed", "starts_on": "2026-03-03", "ends_on": "2026-04-14",
                  "completed_on": date(2026, 4, 10), "hypothesis": "Fewer calls",
                  "outcome": {"result": "succeeded", "summary": "It worked.", "learnings": ["Ask early"]}}
    steps = story.timeline(idea, experiment)
    assert [s.title for s in steps] == ["Submitted", "Endorsed 2 times", "Reviewed 1 time", "Shortlisted", "Backed",
                                        "Experiment", "Outcome: succeeded"]
    assert steps[0].on == "2 March 2026" and steps[0].detail == "By Ops"
    assert steps[2].detail == "Average scores: impact 5, value for money 3.5"
    assert steps[4].detail == "£12,000, 10 staff days, 6 weeks to try it"
    assert steps[5].detail == "Completed on 10 April 2026. Hypothesis: Fewer calls"
    assert steps[6].detail == "It worked. Learnt: Ask early"
    adopted = story.timeline(idea, experiment, [{"adopted_by": [
        {"department": "hmrc", "adopted_at": "2026-05-01T09:00:00+00:00"},
        {"department": "dfe", "adopted_at": "2026-05-20T09:00:00+00:00"}]}])
    assert [(s.title, s.on) for s in adopted[7:]] == [("Adopted by HMRC", "1 May 2026"), ("Adopted by DFE", "20 May 2026")]
    declined = story.timeline({"status": "declined", "submitted_at": "2026-03-02T10:00:00Z",
                               "closure": {"reason": "cost", "note": "Too dear"}})
    assert [(s.title, s.detail) for s in declined][1:] == [("Declined", "cost – Too dear")]
    known = story.timeline({"status": "declined", "submitted_at": "2026-03-02T10:00:00Z",
                            "closure": {"reason": "not_feasible", "note": "Not this year"}})
    assert known[-1].detail == "It cannot be done now – Not this year"  # the pages' words, not the code


def test_the_conversation_form_needs_a_team_a_real_past_date_and_whole_numbers():
    today = date(2026, 3, 27)
    good = story.conversation_form({"team": " Ops ", "held_on-day": "27", "held_on-month": "3", "held_on-year": "2026",
                                    "participants": "12", "ideas_raised": "0"}, today)
    assert not good.errors
    body = good.body()
    assert body["team"] == "Ops" and body["held_on"] == "2026-03-27" and body["participants"] == 12
    assert body["ideas_raised"] == 0 and len(body["conversation_id"]) == 36
    empty = story.conversation_form({}, today)
    assert set(empty.errors) == {"team", "held_on", "participants", "ideas_raised"}
    assert empty.errors["held_on"] == "Enter the date of the conversation"
    for day, month, year in (("31", "2", "2026"), ("x", "3", "2026")):
        bad = story.conversation_form({"held_on-day": day, "held_on-month": month, "held_on-year": year}, today)
        assert bad.errors["held_on"].endswith("must be a real date, like 27 3 2026")
    future = story.conversation_form({"held_on-day": "28", "held_on-month": "3", "held_on-year": "2026",
                                      "participants": "501"}, today)
    assert future.errors["held_on"].endswith("today or in the past")
    assert future.errors["participants"] == "Enter how many people took part as a whole number from 1 to 500"


def test_the_library_keeps_valid_filters_and_names_each_wrong_one():
    ok = story.library_form({"result": "failed", "recommendation": "adopt_elsewhere", "theme": "paperwork", "q": " x "})
    assert not ok.errors and ok.filters() == {"result": "failed", "recommendation": "adopt_elsewhere",
                                              "theme": "paperwork", "q": "x"}
    wrong = story.library_form({"result": "won", "recommendation": "Scale", "theme": "Paper Work", "q": "a" * 101})
    assert set(wrong.errors) == {"result", "recommendation", "theme", "q"} and wrong.filters() == {}
    assert wrong.errors["result"] == "Choose a result from the list"
    assert not story.library_form({"cursor": "abc"}).active and story.library_form({"result": "failed"}).active


def test_outcomes_like_an_idea_are_those_mentioning_any_word_of_its_title():
    assert story.any_of_words("Print fewer <claim> letters!") == "Print or fewer or claim or letters"
    assert story.any_of_words("") == ""
