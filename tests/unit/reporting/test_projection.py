"""The projection without I/O: what a batch of events changes, whatever the order of the streams."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.reporting.domain import PROJECTIONS, REMOVED, month_of, project, published
from deploy.simulation import Flow
from shared.events import EVENT_TYPES, IdeaBacked, IdeaEndorsed, IdeaSubmitted, OutcomeRecorded, new_event
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


@pytest.mark.parametrize("text", [
    "Ask p_0123456789abcdef about it", "mail jo.bloggs+ideas@dwp.gov.uk today", "ring 07700 900123",
    "ring +44 7700 900123", "ring (07700) 900 123", "claimant QQ 12 34 56 C", "claimant qq123456c",
])
def test_published_text_loses_what_identifies_a_person(text):
    out = published(text)
    assert REMOVED in out
    assert not re.search(r"p_[0-9a-f]{16}|@|7700|12 34 56|123456", out)


@pytest.mark.parametrize("text", [
    "Saved 12,000 hours in 2026", "£1,000,000 over 3 years", "Q1 2026-27: 45% fewer calls", "Form SA100 and P60",
    "Call volumes fell from 070 to 12", "See section 4.2 of the guide",
])
def test_published_text_keeps_ordinary_figures(text):
    assert published(text) == text


def test_the_centre_keeps_submitter_conversation_time_box_and_summary():
    idea, conversation = uuid.uuid4(), uuid.uuid4()
    submitted = new_event(IdeaSubmitted(idea_id=idea, title="Fewer forms", problem="p", proposal="q",
                                        submitted_by=person("a"), conversation_id=conversation),
                          department="dwp", service="ideas")
    backed = new_event(IdeaBacked(idea_id=idea, sponsor=person("s"), budget_gbp=10.0, staff_days=2.0,
                                  timebox_weeks=6), department="dwp", service="ideas")
    recorded = new_event(OutcomeRecorded(
        outcome_id=uuid.uuid4(), experiment_id=uuid.uuid4(), idea_id=idea, result="failed", recommendation="stop",
        summary="Thanks to p_0123456789abcdef", learnings=("Write to x@y.org",)), department="dwp", service="experiments")
    changes = project([submitted, backed, recorded])
    row = changes.ideas[("dwp", idea)]
    assert (row.submitted_by, row.conversation_id, row.timebox_weeks) == (person("a"), conversation, 6)
    assert [o.summary for o in changes.outcomes.values()] == ["Thanks to [removed]"]
    assert [learning.learning for learning in changes.learnings.values()] == ["Write to [removed]"]


def test_participation_is_counted_per_month_of_the_event_time_in_utc():
    # 1 April 00:30 in London (BST, +01:00) is 31 March 23:30 UTC: March.
    london = datetime(2026, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    first = new_event(IdeaEndorsed(idea_id=uuid.uuid4(), endorsed_by=person("e")), department="dwp", service="ideas")
    again = new_event(IdeaEndorsed(idea_id=uuid.uuid4(), endorsed_by=person("e")), department="dwp", service="ideas")
    changes = project([first.model_copy(update={"time": london}),
                       again.model_copy(update={"time": datetime(2026, 4, 2, tzinfo=timezone.utc)})])
    assert changes.participation == {("dwp", person("e"), date(2026, 3, 1)), ("dwp", person("e"), date(2026, 4, 1))}
    assert month_of(datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)) == date(2026, 12, 1)
