"""The experiment lifecycle and its rules, as pure domain code."""

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.experiments.domain import (
    MAX_REVISIONS,
    Experiment,
    InvalidInput,
    InvalidTransition,
    Measure,
    Measurement,
    Outcome,
    Step,
    adopt,
    experiment_id_for,
)
from shared.events import (
    ExperimentAbandoned,
    ExperimentCompleted,
    ExperimentOverdue,
    ExperimentPlanned,
    ExperimentRescheduled,
    ExperimentStarted,
    MeasurementRecorded,
    OutcomeRecorded,
)
from tests.support.events import person

BACKED_ON = date(2025, 3, 3)
IDEA = uuid.UUID("00000000-0000-4000-8000-000000000001")


def opened(**kw) -> Experiment:
    args = dict(department="dwp", idea_id=IDEA, budget_gbp=5000.0, staff_days=10.0, timebox_weeks=6,
                correlation_id="corr-1", backed_on=BACKED_ON)
    return Experiment.open_from_backing(**{**args, **kw})


MEASURE = Measure(name="Calls answered first time", unit="%", baseline=60, target=75, direction="increase")


def planned(**kw) -> Experiment:
    e = opened()
    args = dict(hypothesis="A script cuts repeat calls", measure=MEASURE, starts_on=date(2025, 3, 10),
                ends_on=date(2025, 4, 14), squad_size=4)
    e.plan(**{**args, **kw})
    return e


def running() -> Experiment:
    e = planned()
    e.start(date(2025, 3, 10))
    e.take_events()
    return e


def outcome(**kw) -> Outcome:
    args = dict(outcome_id=uuid.uuid4(), result="failed", summary="Calls did not drop.",
                learnings=("Scripts need training",), recommendation="iterate")
    return Outcome(**{**args, **kw})


def test_a_backing_opens_an_experiment_in_planning_with_its_time_box():
    e = opened()
    assert e.status == "planning"
    assert (e.budget_gbp, e.staff_days, e.timebox_weeks) == (5000.0, 10.0, 6)
    assert (e.starts_on, e.ends_on) == (BACKED_ON, BACKED_ON + timedelta(weeks=6))
    assert e.experiment_id == experiment_id_for("dwp", IDEA) != experiment_id_for("hmrc", IDEA)
    assert e.events == []  # nothing is published until the experiment is planned


def test_the_whole_lifecycle_records_its_events_in_order():
    e = planned()
    e.start(date(2025, 3, 10))
    e.record_measurement(Measurement(date(2025, 3, 17), 64.5, "week one"), today=date(2025, 3, 18))
    e.reschedule(date(2025, 4, 10), "holidays")
    result = outcome(result="succeeded", learnings=("a", "b"), cash_savings_gbp_per_year=1200.0)
    e.complete(result, date(2025, 4, 10))
    kinds = [type(x) for x in e.take_events()]
    assert kinds == [ExperimentPlanned, ExperimentStarted, MeasurementRecorded, ExperimentRescheduled,
                     ExperimentCompleted, OutcomeRecorded]
    assert e.status == "completed" and e.outcome == result and e.ends_on == date(2025, 4, 10)


def test_the_outcome_event_carries_the_idea_and_the_benefits():
    e = running()
    e.complete(outcome(people_affected=300, hours_saved_per_year=12.5), date(2025, 4, 1))
    recorded = e.take_events()[-1]
    assert isinstance(recorded, OutcomeRecorded)
    assert (recorded.idea_id, recorded.experiment_id) == (IDEA, e.experiment_id)
    assert recorded.benefits.people_affected == 300 and recorded.benefits.hours_saved_per_year == 12.5


@pytest.mark.parametrize("action, status, words", [
    (lambda e: e.start(date(2025, 3, 10)), "planning", "before it is planned"),
    (lambda e: e.record_measurement(Measurement(date(2025, 3, 10), 1), date(2025, 3, 10)), "planning", "must be running"),
    (lambda e: e.complete(outcome(), date(2025, 3, 10)), "planning", "must be running"),
    (lambda e: e.reschedule(date(2025, 5, 1), "late"), "planning", "before it is planned"),
])
def test_an_unplanned_experiment_refuses(action, status, words):
    e = opened()
    with pytest.raises(InvalidTransition) as refused:
        action(e)
    assert words in refused.value.reason and e.status == status and e.events == []


def test_a_running_experiment_cannot_be_planned_or_started_again():
    e = running()
    with pytest.raises(InvalidTransition, match="cannot plan an experiment that is running"):
        e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 1), squad_size=1)
    with pytest.raises(InvalidTransition, match="cannot start an experiment that is running"):
        e.start(date(2025, 3, 11))


@pytest.mark.parametrize("finish", [
    lambda e: e.complete(outcome(), date(2025, 4, 1)),
    lambda e: e.abandon("no longer needed"),
])
def test_a_finished_experiment_refuses_everything(finish):
    e = running()
    finish(e)
    e.take_events()
    for action in (lambda: e.abandon("again"), lambda: e.reschedule(date(2025, 6, 1), "r"),
                   lambda: e.complete(outcome(), date(2025, 4, 2)), lambda: e.start(date(2025, 4, 2)),
                   lambda: e.record_measurement(Measurement(date(2025, 4, 1), 1), date(2025, 4, 2))):
        with pytest.raises(InvalidTransition):
            action()
    assert e.events == [] and not e.mark_overdue(date(2030, 1, 1))


def test_a_plan_may_be_changed_until_the_experiment_starts():
    e = planned()
    e.plan(hypothesis="Second thoughts", measure=MEASURE, starts_on=date(2025, 3, 17), ends_on=date(2025, 4, 21),
           squad_size=3, budget_gbp=4000.0)
    assert e.hypothesis == "Second thoughts" and e.budget_gbp == 4000.0
    assert [type(x) for x in e.events] == [ExperimentPlanned, ExperimentPlanned]


@pytest.mark.parametrize("change, field, rule", [
    (dict(ends_on=date(2025, 3, 10)), "ends_on", "must be after starts_on"),
    (dict(ends_on=date(2025, 3, 1)), "ends_on", "must be after starts_on"),
    (dict(ends_on=date(2025, 6, 30)), "ends_on", "within the backed time box of 6 weeks"),
    (dict(measure=Measure("m", "%", 60, 60, "increase")), "measure.target", "greater than measure.baseline"),
    (dict(measure=Measure("m", "%", 60, 70, "decrease")), "measure.target", "less than measure.baseline"),
    (dict(budget_gbp=-1.0), "budget_gbp", "must not be negative"),
    (dict(staff_days=-0.5), "staff_days", "must not be negative"),
    (dict(budget_gbp=5000.01), "budget_gbp", "at most the 5000 the backing gave"),
    (dict(squad_size=0), "squad_size", "between 1 and 50"),
    (dict(hypothesis="   "), "hypothesis", "must have text"),
])
def test_a_bad_plan_names_the_field_and_the_rule(change, field, rule):
    e = opened()
    with pytest.raises(InvalidInput) as refused:
        planned_args = dict(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10),
                            ends_on=date(2025, 4, 14), squad_size=4)
        e.plan(**{**planned_args, **change})
    assert refused.value.field == field and rule in refused.value.rule
    assert e.events == [] and not e.planned


def test_a_decrease_target_below_the_baseline_is_accepted():
    e = planned(measure=Measure("Days to decide", "days", 30, 12, "decrease"))
    assert e.measure.direction == "decrease"


def test_a_plan_may_use_less_than_the_backing_and_a_later_plan_go_back_up_to_it_but_not_beyond():
    e = planned(budget_gbp=2000.0, staff_days=4.0)
    assert (e.budget_gbp, e.staff_days) == (2000.0, 4.0)
    e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14), squad_size=4,
           budget_gbp=5000.0, staff_days=10.0)
    assert (e.budget_gbp, e.staff_days) == (5000.0, 10.0)
    e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14), squad_size=4,
           budget_gbp=1000.0)
    with pytest.raises(InvalidInput, match="at most the 10 the backing gave"):
        e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14),
               squad_size=4, staff_days=10.5)
    e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14), squad_size=4)
    assert (e.budget_gbp, e.staff_days) == (5000.0, 10.0)  # left out: the backing's, not the last plan's


def test_a_backing_with_a_negative_budget_is_refused():
    with pytest.raises(InvalidInput, match="budget_gbp"):
        opened(budget_gbp=-10.0)


@pytest.mark.parametrize("learnings, rule", [((), "between 1 and 20"), (tuple(f"l{n}" for n in range(21)), "between 1 and 20"),
                                              (("fine", " "), "must have text")])
def test_an_outcome_needs_one_to_twenty_learnings(learnings, rule):
    e = running()
    with pytest.raises(InvalidInput) as refused:
        e.complete(outcome(learnings=learnings), date(2025, 4, 1))
    assert refused.value.field == "learnings" and rule in refused.value.rule and e.status == "running"


def test_twenty_learnings_are_fine():
    e = running()
    e.complete(outcome(learnings=tuple(f"l{n}" for n in range(20))), date(2025, 4, 1))
    assert e.status == "completed"


def test_negative_benefits_are_refused():
    with pytest.raises(InvalidInput, match="benefits.cash_savings_gbp_per_year"):
        running().complete(outcome(cash_savings_gbp_per_year=-1.0), date(2025, 4, 1))


def test_measurements_must_fall_between_the_start_and_today():
    e = running()
    with pytest.raises(InvalidInput, match="measured_on: not before"):
        e.record_measurement(Measurement(date(2025, 3, 9), 1.0), date(2025, 3, 20))
    with pytest.raises(InvalidInput, match="measured_on: not in the future"):
        e.record_measurement(Measurement(date(2025, 3, 21), 1.0), date(2025, 3, 20))
    assert e.measurements == [] and e.events == []


def test_reschedule_keeps_the_dates_in_order():
    e = running()
    with pytest.raises(InvalidInput, match="ends_on: must be after starts_on"):
        e.reschedule(date(2025, 3, 10), "why not")
    with pytest.raises(InvalidInput, match="must differ"):
        e.reschedule(e.ends_on, "same")
    e.reschedule(date(2025, 5, 30), "waiting for data")  # a reschedule may leave the backed time box
    assert e.ends_on == date(2025, 5, 30)


def test_overdue_is_recorded_once_after_the_end_date_with_no_outcome():
    e = running()
    assert not e.mark_overdue(e.ends_on)  # the end date itself is still inside the time box
    assert e.mark_overdue(e.ends_on + timedelta(days=1))
    assert not e.mark_overdue(e.ends_on + timedelta(days=30))
    events = e.take_events()
    assert len(events) == 1 and isinstance(events[0], ExperimentOverdue) and events[0].ended_on == e.ends_on
    e.complete(outcome(), date(2025, 5, 1))  # an overdue experiment can still finish with an outcome
    assert e.status == "completed"


def test_an_idea_withdrawn_abandons_only_an_experiment_in_planning():
    e = opened()
    assert e.idea_withdrawn()
    assert e.status == "abandoned" and isinstance(e.events[-1], ExperimentAbandoned)
    r = running()
    assert not r.idea_withdrawn() and r.status == "running" and r.events == []


def test_a_department_adopts_another_departments_outcome_not_its_own():
    outcome_id = uuid.uuid4()
    adopted = adopt(adoption_id=uuid.uuid4(), adopting_department="hmrc", origin_department="dwp",
                    origin_outcome_id=outcome_id, adopted_by=person("carol"), note="")
    assert adopted.origin_outcome_id == outcome_id and adopted.adopting_department == "hmrc"
    with pytest.raises(InvalidInput, match="origin_department"):
        adopt(adoption_id=uuid.uuid4(), adopting_department="dwp", origin_department="dwp",
              origin_outcome_id=outcome_id, adopted_by=person("carol"), note="")


# -- who acted, and the squad ------------------------------------------------------------------------------


LEAD, ANN, BEN = person("lead"), person("ann"), person("ben")


def test_each_command_names_who_acted_on_its_event():
    e = planned(by=LEAD, squad=(ANN, BEN))
    e.start(date(2025, 3, 10), by=ANN)
    e.record_measurement(Measurement(date(2025, 3, 11), 64, recorded_by=BEN), today=date(2025, 3, 12))
    e.reschedule(date(2025, 4, 21), "Easter", by=LEAD)
    e.complete(outcome(recorded_by=ANN), date(2025, 4, 20), by=BEN)
    events = e.take_events()
    assert [getattr(data, "by") for data in events] == [LEAD, ANN, BEN, LEAD, BEN, ANN]
    assert events[0].squad == (ANN, BEN) and (e.squad_lead, e.squad) == (LEAD, (ANN, BEN))


def test_abandoning_names_who_abandoned_and_a_withdrawal_who_withdrew_the_idea():
    e = planned()
    e.abandon("no longer needed", by=ANN)
    assert e.take_events()[-1].by == ANN
    withdrawn = planned()
    assert withdrawn.idea_withdrawn(by=BEN) and withdrawn.take_events()[-1].by == BEN


@pytest.mark.parametrize("squad, lead, squad_size, rule", [
    ((ANN, BEN), LEAD, 2, "3 people named on the plan, the lead included, but squad_size is 2"),
    ((ANN, ANN), LEAD, 5, "each person named once"),
    (tuple(person(f"p{n}") for n in range(51)), LEAD, 50, "at most 50 people"),
    ((ANN, BEN, person("cy")), None, 2, "3 people named on the plan"),
])
def test_a_squad_bigger_than_squad_size_or_with_a_person_twice_is_refused(squad, lead, squad_size, rule):
    e = opened()
    with pytest.raises(InvalidInput) as refused:
        e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14),
               squad_size=squad_size, by=lead, squad=squad)
    assert refused.value.field == "squad" and rule in refused.value.rule
    assert not e.planned and e.take_events() == []


@pytest.mark.parametrize("squad, lead, squad_size", [
    ((LEAD, ANN), LEAD, 2),  # the lead named too counts once
    ((ANN,), LEAD, 2),
    ((), LEAD, 1),
    ((ANN, BEN), None, 2),  # a tool's plan naming no lead counts the people it names
    (tuple(person(f"p{n}") for n in range(49)), LEAD, 50),
])
def test_a_squad_within_squad_size_is_accepted(squad, lead, squad_size):
    e = planned(by=lead, squad=squad, squad_size=squad_size)
    assert e.squad == squad and e.squad_lead == lead


def test_the_history_is_the_steps_of_the_events_at_their_times():
    e = planned(by=LEAD)
    e.start(date(2025, 3, 10), by=ANN)
    e.record_measurement(Measurement(date(2025, 3, 11), 64.5, recorded_by=BEN), today=date(2025, 3, 12))
    e.mark_overdue(date(2025, 4, 15))
    e.complete(outcome(recorded_by=ANN), date(2025, 4, 20), by=BEN)
    moments = [datetime(2025, 3, 9, 9, n, tzinfo=timezone.utc) for n in range(6)]
    for data, at in zip(e.take_events(), moments):
        e.remember(data, at)
    assert [(s.step, s.by, s.at, s.detail) for s in e.history] == [
        ("planned", LEAD, moments[0], "2025-03-10 to 2025-04-14, a squad of 4"),
        ("started", ANN, moments[1], "started on 2025-03-10"),
        ("measured", BEN, moments[2], "64.5 % on 2025-03-11"),
        ("overdue", None, moments[3], "the end date 2025-04-14 passed with no outcome"),
        ("completed", BEN, moments[4], "failed"),
    ]  # outcome.recorded is no step of its own: experiment.completed is


def test_plans_and_reschedules_stop_at_a_bound_so_the_history_stays_bounded():
    e = opened()
    at = datetime(2025, 3, 9, tzinfo=timezone.utc)
    e.history = [Step("planned", LEAD, at)] * (MAX_REVISIONS - 1)
    e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14), squad_size=1)
    for data in e.take_events():
        e.remember(data, at)
    with pytest.raises(InvalidTransition, match=f"already planned or rescheduled {MAX_REVISIONS} times"):
        e.plan(hypothesis="h", measure=MEASURE, starts_on=date(2025, 3, 10), ends_on=date(2025, 4, 14), squad_size=1)
    with pytest.raises(InvalidTransition, match="already planned or rescheduled"):
        e.reschedule(date(2025, 4, 15), "again")
    assert e.take_events() == []
