"""Any sequence of commands keeps the lifecycle's promises."""

import uuid
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.experiments.domain import (
    Experiment,
    Measure,
    Measurement,
    Outcome,
)
from shared.events import ExperimentOverdue, OutcomeRecorded
from shared.refusals import Refusal

START = date(2025, 1, 6)
ALLOWED = {("planning", "running"), ("planning", "abandoned"), ("running", "completed"), ("running", "abandoned")}

days = st.integers(min_value=-10, max_value=80).map(lambda n: START + timedelta(days=n))
commands = st.one_of(
    st.tuples(st.just("plan"), days, days, st.sampled_from(["increase", "decrease"]), st.floats(-5, 5)),
    st.tuples(st.just("start"), days),
    st.tuples(st.just("measure"), days, days),
    st.tuples(st.just("reschedule"), days),
    st.tuples(st.just("complete"), st.integers(0, 22)),
    st.tuples(st.just("abandon")),
    st.tuples(st.just("withdrawn")),
    st.tuples(st.just("tick"), days),
)


def run(experiment: Experiment, command) -> None:
    name, *args = command
    if name == "plan":
        starts, ends, direction, delta = args
        measure = Measure("m", "u", 10.0, 10.0 + (delta if direction == "increase" else -delta), direction)
        experiment.plan(hypothesis="h", measure=measure, starts_on=starts, ends_on=ends, squad_size=2)
    elif name == "start":
        experiment.start(args[0])
    elif name == "measure":
        experiment.record_measurement(Measurement(args[0], 1.0), args[1])
    elif name == "reschedule":
        experiment.reschedule(args[0], "reason")
    elif name == "complete":
        outcome = Outcome(uuid.uuid4(), "inconclusive", "s", tuple("l" * args[0]), "iterate")
        experiment.complete(outcome, START)
    elif name == "abandon":
        experiment.abandon("reason")
    elif name == "withdrawn":
        experiment.idea_withdrawn()
    else:
        experiment.mark_overdue(args[0])


@settings(max_examples=300, deadline=None)
@given(st.lists(commands, max_size=25))
def test_any_command_sequence_keeps_the_lifecycle_promises(sequence):
    e = Experiment.open_from_backing(department="dwp", idea_id=uuid.uuid4(), budget_gbp=100.0, staff_days=5.0,
                                     timebox_weeks=6, correlation_id="c", backed_on=START)
    published = []
    for command in sequence:
        before = (e.status, e.ends_on, len(e.measurements))
        try:
            run(e, command)
        except Refusal:
            assert e.events == [], "a refused command records nothing"
            assert (e.status, e.ends_on, len(e.measurements)) == before, "a refused command changes nothing"
        if e.status != before[0]:
            assert (before[0], e.status) in ALLOWED
        published += e.take_events()
        assert e.ends_on > e.starts_on
    overdue = [x for x in published if isinstance(x, ExperimentOverdue)]
    assert len(overdue) <= 1
    assert (e.status == "completed") == (e.outcome is not None) == any(isinstance(x, OutcomeRecorded) for x in published)
    if e.outcome:
        assert 1 <= len(e.outcome.learnings) <= 20
