"""The projection without I/O: what a batch of events changes, whatever the order of the streams."""

from __future__ import annotations

import random
import uuid

from hypothesis import given, settings, strategies as st

from services.reporting.domain import PROJECTIONS, project
from deploy.simulation import Flow
from shared.events import EVENT_TYPES, IdeaSubmitted, new_event
from tests.integration.reporting.scenario import department_events
from tests.support.events import person


def test_every_catalogue_type_has_a_projection():
    assert set(PROJECTIONS) == set(EVENT_TYPES)


def test_a_department_week_becomes_the_expected_rows():
    events, outcome = department_events("dwp")
    changes = project(events)
    assert changes.departments["dwp"].events == len(events)
    assert len(changes.ideas) == 5
    states = sorted((r.backed_at is not None, r.declined_at is not None, r.withdrawn_at is not None)
                    for r in changes.ideas.values())
    assert states == sorted([(True, False, False)] * 3 + [(False, True, False), (False, False, True)])
    assert len(changes.endorsements) == 2  # the same person endorsing twice is one endorsement
    assert len(changes.participants) == 9
    assert ("dwp", outcome) in changes.outcomes
    assert len(changes.learnings) == 3
    assert sum(r.measurements for r in changes.experiments.values()) == 2
    assert changes.ignored == 0


def _interleave(rng: random.Random, events):
    """Another order that keeps each stream's own order (streams are different topics; partitions keep order)."""
    streams: dict[str, list] = {}
    for event in events:
        streams.setdefault(type(event.data).stream, []).append(event)
    queues = [list(s) for s in streams.values()]
    out = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        out.append(queue.pop(0))
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_streams_in_any_order_give_the_same_rows(seed):
    events = [e for e, _ in zip(Flow(departments=("dwp", "hmrc"), seed=seed % 1000), range(300))]
    assert project(_interleave(random.Random(seed), events)) == project(events)


def test_nul_characters_are_removed_from_published_text():
    data = IdeaSubmitted(idea_id=uuid.uuid4(), title="Fewer\x00 forms", problem="p", proposal="q", submitted_by=person())
    changes = project([new_event(data, department="dwp", service="ideas")])
    assert [r.title for r in changes.ideas.values()] == ["Fewer forms"]
