"""The pure parts of the squad's pages: the forms (GOV.UK date inputs, money, numbers, learnings one a line), the
experiments API's refusals as messages, what the pages make of an experiment, and its chart's geometry."""

import sys
from datetime import date

import pytest

from services.portal import experiment as ex

TODAY = date(2026, 12, 3)


def plan_posted(**fields: str) -> dict[str, str]:
    return {"hypothesis": "Ringing back at a set time cuts repeat calls", "measure_name": "Repeat calls",
            "measure_unit": "calls a day", "baseline": "120", "target": "90", "direction": "decrease",
            "starts_on-day": "7", "starts_on-month": "12", "starts_on-year": "2026",
            "ends_on-day": "18", "ends_on-month": "1", "ends_on-year": "2027",
            "squad_size": "4", "budget_gbp": "£5,000", "staff_days": "12.5", **fields}


def test_a_plan_becomes_the_apis_body_with_money_and_numbers_as_people_type_them():
    form = ex.plan_form(plan_posted(), timebox_weeks=6)
    assert form.errors == {}
    assert form.body == {
        "hypothesis": "Ringing back at a set time cuts repeat calls",
        "measure": {"name": "Repeat calls", "unit": "calls a day", "baseline": 120.0, "target": 90.0,
                    "direction": "decrease"},
        "starts_on": "2026-12-07", "ends_on": "2027-01-18", "squad_size": 4, "budget_gbp": 5000.0, "staff_days": 12.5}
    assert isinstance(form.body["squad_size"], int)  # the API refuses 4.0 for a whole number
    blank = ex.plan_form(plan_posted(budget_gbp="", staff_days=""), timebox_weeks=6)
    assert not blank.errors and "budget_gbp" not in blank.body and "staff_days" not in blank.body  # the backing's


def test_a_plan_outside_the_time_box_or_ending_before_it_starts_is_named_on_the_end_date():
    late = ex.plan_form(plan_posted(**{"ends_on-day": "19"}), timebox_weeks=6)
    assert late.errors == {"ends_on": "End date must be within the backed time box of 6 weeks: 18 January 2027 or earlier"}
    assert late.body == {} and late.anchors == {"ends_on": "ends_on-day"}
    backwards = ex.plan_form(plan_posted(**{"ends_on-month": "12", "ends_on-year": "2026", "ends_on-day": "7"}), 6)
    assert backwards.errors == {"ends_on": "End date must be after the start date"}


@pytest.mark.parametrize(("day", "month", "year", "message"), [
    ("", "", "", "Enter the start date"),
    ("31", "2", "2027", "Start date must be a real date, like 27 3 2026"),
    ("1", "", "2027", "Start date must include a month"),
    ("", "", "2027", "Start date must include a day and a month"),
    ("1", "2", "27", "Start date must be a real date, like 27 3 2026"),
    ("١", "2", "2027", "Start date must be a real date, like 27 3 2026"),  # a digit, but not an ASCII one
    ("-1", "2", "2027", "Start date must be a real date, like 27 3 2026"),
])
def test_bad_dates_are_named_in_the_govuk_way(day, month, year, message):
    form = ex.plan_form(plan_posted(**{"starts_on-day": day, "starts_on-month": month, "starts_on-year": year}), 6)
    assert form.errors["starts_on"] == message
    assert form.values["starts_on-day"] == day  # shown again as typed


def test_bad_numbers_are_named_by_field_and_nothing_is_sent():
    form = ex.plan_form(plan_posted(baseline="lots", target="1e5", squad_size="4.0", budget_gbp="-5",
                                    staff_days="nan", direction="sideways", hypothesis=""), 6)
    assert form.body == {}
    assert form.errors == {
        "hypothesis": "Enter the hypothesis: what you expect to change, and why",
        "baseline": "Baseline must be a number, like 120 or 7.5",
        "target": "Target must be a number, like 90 or 12.5",
        "direction": "Choose whether a higher or a lower value is better",
        "squad_size": "Squad size must be a whole number from 1 to 50, like 4",
        "budget_gbp": "Budget must be an amount in pounds from 0 to 1,000,000,000, like 5,000",
        "staff_days": "Staff days must be a number from 0 to 1,000,000, like 12 or 7.5",
    }
    assert ex.plan_form(plan_posted(squad_size="51"), 6).errors == {
        "squad_size": "Squad size must be a whole number from 1 to 50, like 4"}
    assert ex.plan_form(plan_posted(baseline="9" * 41), 6).errors["baseline"].startswith("Baseline must be a number")


def test_the_target_must_lie_the_better_way_from_the_baseline():
    assert ex.plan_form(plan_posted(target="130"), 6).errors == {
        "target": "Target must be less than the baseline when lower is better"}
    assert ex.plan_form(plan_posted(direction="increase"), 6).errors == {
        "target": "Target must be more than the baseline when higher is better"}


def test_hostile_and_oversized_text_is_refused_by_field():
    form = ex.plan_form(plan_posted(hypothesis="x" * 2001, measure_name="a\x00b", measure_unit="u" * 51), 6)
    assert form.errors == {"hypothesis": "Hypothesis must be 2000 characters or fewer",
                           "measure_name": "What you will measure must be plain text",
                           "measure_unit": "Unit must be 50 characters or fewer"}
    # A textarea's CRLF counts as one character, as a person counts it.
    assert not ex.plan_form(plan_posted(hypothesis="a\r\n" * 666 + "ab"), 6).errors


def test_a_measurement_is_dated_from_the_start_to_today():
    posted = {"measured_on-day": "3", "measured_on-month": "12", "measured_on-year": "2026", "value": "1,095.5",
              "note": " After the first week "}
    form = ex.measurement_form(posted, date(2026, 12, 1), TODAY)
    assert form.body == {"measured_on": "2026-12-03", "value": 1095.5, "note": "After the first week"}
    assert ex.measurement_form({**posted, "value": "-3", "note": ""}, date(2026, 12, 1), TODAY).body == {
        "measured_on": "2026-12-03", "value": -3.0}
    future = ex.measurement_form({**posted, "measured_on-day": "4"}, date(2026, 12, 1), TODAY)
    assert future.errors == {"measured_on": "Date of the measurement must be today or in the past"}
    early = ex.measurement_form(posted, date(2026, 12, 4), date(2026, 12, 10))
    assert early.errors == {"measured_on": "Date of the measurement must be on or after the day the experiment "
                                           "started, 4 December 2026"}
    assert ex.measurement_form({**posted, "value": ""}, None, TODAY).errors == {"value": "Enter the value you measured"}


def test_a_reschedule_needs_a_new_end_date_after_the_start_and_a_reason():
    posted = {"ends_on-day": "1", "ends_on-month": "2", "ends_on-year": "2027", "reason": "Christmas\r\nleave"}
    form = ex.reschedule_form(posted, date(2026, 12, 7), date(2027, 1, 18))
    assert form.body == {"ends_on": "2027-02-01", "reason": "Christmas\nleave"}
    same = ex.reschedule_form({**posted, "ends_on-day": "18", "ends_on-month": "1"}, date(2026, 12, 7), date(2027, 1, 18))
    assert same.errors == {"ends_on": "End date must be different from the current end date"}
    assert ex.reschedule_form({**posted, "reason": " "}, date(2026, 12, 7), None).errors == {
        "reason": "Enter why the experiment is being rescheduled"}
    before = ex.reschedule_form({**posted, "ends_on-year": "2026", "ends_on-month": "12", "ends_on-day": "7"},
                                date(2026, 12, 7), None)
    assert before.errors == {"ends_on": "End date must be after the start date, 7 December 2026"}


def complete_posted(**fields: str) -> dict[str, str]:
    return {"result": "succeeded", "summary": "Repeat calls fell.", "learnings": "- Set times work\r\n\r\n* People like a text first\r\n",
            "cash_savings_gbp_per_year": "£12,000", "hours_saved_per_year": "400.5", "people_affected": "2,500",
            "recommendation": "adopt_elsewhere", **fields}


def test_an_outcome_has_learnings_one_a_line_and_benefits_as_numbers():
    form = ex.complete_form(complete_posted())
    assert form.body == {"result": "succeeded", "summary": "Repeat calls fell.",
                         "learnings": ["Set times work", "People like a text first"], "recommendation": "adopt_elsewhere",
                         "benefits": {"cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": 400.5,
                                      "people_affected": 2500}}
    none = ex.complete_form(complete_posted(cash_savings_gbp_per_year="", hours_saved_per_year="", people_affected=""))
    assert none.body["benefits"] == {}


def test_a_wrong_outcome_is_named_by_field():
    form = ex.complete_form(complete_posted(result="won", summary="", learnings="\r\n - \r\n", people_affected="2.5",
                                            hours_saved_per_year="-1", recommendation=""))
    assert form.body == {}
    assert form.errors == {"result": "Choose the result of the experiment", "summary": "Enter a summary of what happened",
                           "learnings": "Enter at least one thing you learnt, one a line",
                           "hours_saved_per_year": "Hours saved a year must be a number from 0 to 1,000,000,000, like 400 or 37.5",
                           "people_affected": "People affected must be a whole number from 0 to 100,000,000, like 2,500",
                           "recommendation": "Choose what you recommend next"}
    assert form.anchors["result"] == "result-succeeded" and form.anchors["recommendation"] == "recommendation-scale"
    many = ex.complete_form(complete_posted(learnings="\n".join(f"L{n}" for n in range(21))))
    assert many.errors == {"learnings": "Enter at most 20 learnings, one a line"}
    long = ex.complete_form(complete_posted(learnings="x" * 2001))
    assert long.errors == {"learnings": "Each learning must be 2000 characters or fewer"}


def test_abandoning_needs_a_reason():
    assert ex.abandon_form({"reason": "  "}).errors == {"reason": "Enter why the experiment is being abandoned"}
    assert ex.abandon_form({"reason": "The team moved"}).body == {"reason": "The team moved"}


def test_the_apis_422_lands_on_the_forms_fields_and_what_names_none_on_the_form():
    form = ex.plan_form(plan_posted(), 6)
    ex.refused_fields(form, ex.PLAN_FIELDS, [
        {"field": "ends_on", "rule": "within the backed time box of 6 weeks from starts_on"},
        {"field": "budget_gbp", "rule": "at most the 5000 the backing gave"},
        {"field": "measure.target", "rule": "must be less than measure.baseline when direction is decrease"},
        {"field": "squad", "rule": "each person named once"},
        {"field": "measured_on", "rule": "not in the future"},
    ], "plan")
    assert form.errors == {
        "ends_on": "End date must be within the backed time box of 6 weeks from the start date",
        "budget_gbp": "Budget must be at most the 5000 the backing gave",
        "target": "Target must be less than the baseline when direction is decrease",
        "plan": "This could not be saved: each person named once",
    }
    outcome = ex.complete_form(complete_posted())
    ex.refused_fields(outcome, ("result", "learnings", "hours_saved_per_year"), [
        {"field": "learnings.3", "rule": "string_too_long", "message": "String should have at most 2000 characters"},
        {"field": "benefits.hours_saved_per_year", "rule": "float_type", "message": "Input should be a valid number"},
        {"field": "result", "rule": "literal_error"}], "complete")
    assert outcome.errors == {"learnings": "Learnings must be 2000 characters or fewer",
                              "hours_saved_per_year": "Hours saved a year is not valid: Input should be a valid number",
                              "result": "Choose a result from the list"}
    assert ex.refused_fields(ex.abandon_form({"reason": "x"}), ("reason",), "not a list", "abandon").errors == {}


def test_refusals_of_state_and_role_in_the_pages_words():
    body = {"error": "not allowed in the experiment's current state", "status": "completed",
            "reason": "cannot start an experiment that is completed; it must be planning"}
    assert ex.refusal_message(409, body, "start") == (
        "This experiment is completed now, so it cannot be started "
        "(cannot start an experiment that is completed; it must be planning).")
    assert ex.refusal_message(403, {}, "abandon").startswith("Only reviewers and admins can abandon")


EXPERIMENT = {
    "experiment_id": "e1", "idea_id": "i1", "status": "running", "overdue": False, "budget_gbp": 5000.0,
    "staff_days": 12.5, "timebox_weeks": 6, "hypothesis": "Set times cut repeat calls",
    "measure": {"name": "Repeat calls", "unit": "calls", "baseline": 120.0, "target": 90.0, "direction": "decrease"},
    "starts_on": "2026-12-01", "ends_on": "2026-12-29", "squad_size": 3, "squad_lead": "p_lead", "squad": ["p_member"],
    "started_on": "2026-12-01", "measurements": [
        {"measured_on": "2026-12-15", "value": 100.0, "note": None, "recorded_by": "p_member"},
        {"measured_on": "2026-12-08", "value": 110.0, "note": "week 1", "recorded_by": "p_me"}],
    "history": [
        {"step": "started", "by": "p_lead", "at": "2026-12-01T09:30:00Z", "detail": "started on 2026-12-01"},
        {"step": "planned", "by": "p_lead", "at": "2026-11-30T16:05:00Z", "detail": "a squad of 3"},
        {"step": "measured", "by": "p_other", "at": "2026-12-08T10:00:00Z", "detail": "110 calls"},
        {"step": "overdue", "by": None, "at": "2026-12-30T00:00:00Z", "detail": "passed"}],
}


def test_overdue_is_an_open_experiment_past_its_end_date():
    assert ex.is_overdue(EXPERIMENT, date(2026, 12, 30))
    assert not ex.is_overdue(EXPERIMENT, date(2026, 12, 29))
    assert not ex.is_overdue({**EXPERIMENT, "status": "completed"}, date(2027, 1, 30))
    rows = ex.rows([EXPERIMENT, {**EXPERIMENT, "experiment_id": "e2", "idea_id": "i2", "ends_on": "2027-03-01"}],
                   {"i1": "Ring back"}, date(2027, 1, 5))
    assert [(r.title, r.overdue, r.ends) for r in rows] == [("Ring back", True, "29 December 2026"),
                                                           ("An idea's experiment", False, "1 March 2027")]


def test_the_history_says_who_did_what_when_without_pseudonyms():
    steps = ex.history(EXPERIMENT, me="p_me")
    assert [(s.what, s.who) for s in steps] == [("Planned", "Squad lead"), ("Started", "Squad lead"),
                                                ("Measured", "Someone in the department"), ("Overdue", "")]  # the clock
    assert steps[0].when == "30 November 2026 at 4:05pm"
    assert [s.who for s in ex.history(EXPERIMENT, me="p_lead")][:2] == ["You", "You"]
    assert ex.history({"status": "planning"}, "p_me") == []  # an API without history
    assert [(m.on, m.value, m.who) for m in ex.measurements(EXPERIMENT, "p_me")] == [
        ("8 December 2026", "110 calls", "You"), ("15 December 2026", "100 calls", "Someone in the squad")]


def test_the_state_decides_the_actions_and_only_the_panel_abandons():
    running = ex.actions(EXPERIMENT, on_panel=False, role="contributor")
    assert (running.measure, running.complete, running.reschedule, running.start, running.plan) == (True, True, True, False, False)
    assert not running.abandon and running.abandon_note == "Only a reviewer or an admin can abandon an experiment."
    assert ex.actions(EXPERIMENT, on_panel=True, role="reviewer").abandon
    unplanned = ex.actions({"status": "planning", "hypothesis": None}, on_panel=True, role="admin")
    assert unplanned.plan and not unplanned.start and not unplanned.reschedule and unplanned.abandon
    done = ex.actions({**EXPERIMENT, "status": "completed"}, on_panel=True, role="admin")
    assert not done.any and done.abandon_note == ""
    viewer = ex.actions(EXPERIMENT, on_panel=False, role="viewer")
    assert not viewer.any and viewer.abandon_note == ""  # a viewer changes nothing at all


def test_the_chart_puts_baseline_target_and_measurements_in_the_plot_in_date_order():
    chart = ex.chart(EXPERIMENT, TODAY)
    assert [t.label for t in chart.y_ticks] == ["80", "90", "100", "110", "120", "130"]  # a margin around the data
    assert chart.y_ticks[0].at == ex.BOTTOM and chart.y_ticks[-1].at == ex.TOP
    assert chart.baseline_y == 76.0 and chart.target_y == 244.0  # on an axis from 80 to 130
    assert [p.label for p in chart.points] == ["8 December 2026: 110 calls", "15 December 2026: 100 calls"]
    # 28 days from 1 December: the 8th is a quarter of the way, the 15th half.
    assert [(p.x, p.y) for p in chart.points] == [(215.0, 132.0), (350.0, 188.0)]
    assert chart.line == "215.0,132.0 350.0,188.0"
    assert [t.label for t in chart.x_ticks] == ["1 Dec", "8 Dec", "15 Dec", "22 Dec", "29 Dec"]
    assert chart.baseline_label == "Baseline 120 calls" and chart.target_label == "Target 90 calls"
    assert chart.description == ("Repeat calls in calls: baseline 120 calls, target 90 calls (lower is better). "
                                 "2 measurements from 8 December 2026 to 15 December 2026; the latest, 100 calls, "
                                 "is 67% of the way from the baseline to the target.")
    assert ex.chart({"status": "planning"}, TODAY) is None  # nothing to draw before the plan


def test_the_chart_stays_inside_its_plot_for_measurements_outside_the_dates_and_extreme_values():
    wild = {**EXPERIMENT, "measure": {**EXPERIMENT["measure"], "baseline": -sys.float_info.max,
                                      "target": sys.float_info.max, "direction": "increase"},
            "measurements": [{"measured_on": "2027-02-01", "value": 0.0}, {"measured_on": "2026-11-20", "value": 5e-324}]}
    chart = ex.chart(wild, TODAY)
    for x, y in [(p.x, p.y) for p in chart.points] + [(t.at, ex.BOTTOM) for t in chart.x_ticks]:
        assert ex.LEFT <= x <= ex.RIGHT and ex.TOP <= y <= ex.BOTTOM
    assert chart.x_ticks[0].label == "20 Nov 2026" and chart.x_ticks[-1].label == "1 Feb 2027"
    assert ex.TOP <= chart.baseline_y <= ex.BOTTOM and ex.TOP <= chart.target_y <= ex.BOTTOM
    one_day = ex.chart({**EXPERIMENT, "starts_on": "2026-12-01", "ends_on": "2026-12-01", "measurements": []}, TODAY)
    assert one_day.points == [] and one_day.description.endswith("No measurements yet.")


def test_nice_ticks_round_the_axis_and_give_up_on_extremes():
    assert ex.nice_ticks(0.3, 9.2) == [0, 2.5, 5, 7.5, 10]
    assert ex.nice_ticks(-sys.float_info.max, sys.float_info.max) == [-sys.float_info.max, sys.float_info.max]
    assert ex.nice_ticks(0, 5e-324) == [0, 5e-324]
    assert ex.value_text(1234567.0, "£") == "1,234,567 £" and ex.value_text(0.0001) == "0.0001"
    assert ex.value_text(2.5e20) == "2.5e+20" and ex.value_text(float("nan")) == ""


def test_the_next_page_keeps_the_status_filter():
    assert ex.next_page("running", "abc+/=") == "/experiments?status=running&cursor=abc%2B%2F%3D"
    assert ex.next_page("", "abc") == "/experiments?cursor=abc"
    assert ex.next_page("running", None) is None
