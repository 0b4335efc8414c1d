"""What the experiments intake relies on, without I/O: a completion known in part is checked with complete's rules,
an event of another department is refused before anything is read, a held half survives its storage form."""

import uuid
from datetime import date

import pytest

from services.experiments.domain import InvalidInput, InvalidTransition
from services.experiments.handlers import Experiments, OtherDepartment
from shared.consumer import is_content_failure
from shared.events import ExperimentStarted, OutcomeRecorded, decode, encode_structured, new_event
from tests.unit.experiments.test_domain import outcome, planned, running


class NoConnection:
    def __getattr__(self, name):
        raise AssertionError(f"the connection was used: {name}")


def test_a_completion_known_in_part_is_checked_with_completes_rules():
    e = running()  # started on 2025-03-10
    e.check_completion(outcome())
    e.check_completion(on=date(2025, 3, 10))
    with pytest.raises(InvalidInput, match="completed_on: not before the experiment started"):
        e.check_completion(on=date(2025, 3, 9))
    with pytest.raises(InvalidInput, match="learnings"):
        e.check_completion(outcome(learnings=()))
    with pytest.raises(InvalidTransition, match="cannot complete an experiment that is planning"):
        planned().check_completion(outcome(), on=date(2025, 3, 10))
    assert e.status == "running" and e.take_events() == []  # a check changes nothing


def test_complete_refuses_a_day_before_the_start():
    with pytest.raises(InvalidInput, match="completed_on"):
        running().complete(outcome(), date(2025, 3, 1))


async def test_an_event_of_another_department_is_refused_before_any_io():
    experiments = Experiments(pool=None, department="dwp", clock=None)
    event = new_event(ExperimentStarted(experiment_id=uuid.uuid4(), started_on=date(2025, 3, 10)),
                      department="hmrc", service="tool")
    with pytest.raises(OtherDepartment, match="department 'hmrc' on the intake of 'dwp'") as refused:
        await experiments.apply_intake(NoConnection(), event)
    assert is_content_failure(refused.value)


def test_a_held_half_reads_back_as_the_original_event():
    o = outcome(people_affected=12)
    data = OutcomeRecorded(outcome_id=o.outcome_id, experiment_id=uuid.uuid4(), idea_id=uuid.uuid4(), result=o.result,
                           summary=o.summary, learnings=o.learnings, recommendation=o.recommendation)
    event = new_event(data, department="dwp", service="tool", source="/departments/dwp/project-tool",
                      correlationid="run-1", causationid="task-2")
    record = encode_structured(event)
    assert decode(record.value, record.headers) == event
