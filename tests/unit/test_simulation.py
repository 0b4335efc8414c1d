"""The simulated departmental streams are streams the services' own domains would have produced.

Every simulated event is replayed as the command that causes it on the ideas and experiments aggregates
(services/ideas/domain.py, services/experiments/domain.py); the aggregate must accept the command and
record exactly the simulated event.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from deploy.simulation import DEPARTMENTS, ConversationTool, Flow
from deploy.simulator import intake_topic_of
from services.experiments import domain as experiments
from services.ideas import domain as ideas
from shared.events import (
    Benefits, ConversationRecorded, Event, ExperimentAbandoned, ExperimentCompleted, ExperimentOverdue, ExperimentPlanned,
    ExperimentRescheduled, ExperimentStarted, IdeaBacked, IdeaDeclined, IdeaEndorsed, IdeaMerged, IdeaReviewed,
    IdeaShortlisted, IdeaSubmitted, IdeaWithdrawn, MeasurementRecorded, OutcomeAdopted, OutcomeRecorded,
)

EXPERIMENT_EVENTS = (ExperimentPlanned, ExperimentStarted, MeasurementRecorded, ExperimentRescheduled,
                     ExperimentOverdue, ExperimentAbandoned, ExperimentCompleted)


class Replay:
    """The aggregates the stream has built so far, per department; `refusals` lists what the domain refused."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.ideas: dict[tuple, ideas.Idea] = {}
        self.experiments: dict[tuple, experiments.Experiment] = {}
        self.outcomes: set[tuple] = set()
        self.expected_outcomes: dict[tuple, OutcomeRecorded] = {}  # recorded by complete, not yet seen
        self.refusals: list[str] = []

    def run(self) -> list[str]:
        for n, event in enumerate(self.events):
            try:
                self.apply(n, event)
            except Exception as refused:  # the domain's refusals, and the replay's own checks
                detail = getattr(refused, "reason", None) or str(refused)
                self.refusals.append(f"{type(event.data).__name__}: {type(refused).__name__}: {detail}")
        return self.refusals

    def apply(self, n: int, event: Event) -> None:
        d, data, today = event.department, event.data, event.time.date()
        if isinstance(data, IdeaSubmitted):
            assert (d, data.idea_id) not in self.ideas, "an idea id submitted twice"
            idea = self.ideas[(d, data.idea_id)] = ideas.Idea.submit(data)
            assert idea.take_events() == [data]
            return
        if isinstance(data, (IdeaEndorsed, IdeaReviewed, IdeaShortlisted, IdeaBacked, IdeaDeclined, IdeaWithdrawn,
                             IdeaMerged)):
            self.idea_command(d, data, today)
        elif isinstance(data, EXPERIMENT_EVENTS):
            self.experiment_command(n, d, data, today)
        elif isinstance(data, OutcomeRecorded):
            assert self.expected_outcomes.pop((d, data.experiment_id)) == data, "not the outcome its completion recorded"
            self.outcomes.add((d, data.outcome_id))
        elif isinstance(data, OutcomeAdopted):
            assert (data.origin_department, data.origin_outcome_id) in self.outcomes, "adopts an unrecorded outcome"
            assert event.department == data.adopting_department
            assert experiments.adopt(
                adoption_id=data.adoption_id, adopting_department=data.adopting_department,
                origin_department=data.origin_department, origin_outcome_id=data.origin_outcome_id,
                adopted_by=data.adopted_by, note=data.note) == data
        else:
            assert isinstance(data, ConversationRecorded), f"an event the replay does not know: {event.type}"

    def idea_command(self, d: str, data, today) -> None:
        idea = self.ideas.get((d, data.idea_id))
        assert idea is not None, f"idea {data.idea_id} of {d} was never submitted"
        match data:
            case IdeaEndorsed():
                idea.endorse(data.endorsed_by)
            case IdeaReviewed():
                idea.review(data.reviewer, data.scores, data.comment)
            case IdeaShortlisted():
                idea.shortlist(data.by, data.note)
            case IdeaBacked():
                idea.back(ideas.Backing(sponsor=data.sponsor, budget_gbp=data.budget_gbp, staff_days=data.staff_days,
                                        timebox_weeks=data.timebox_weeks, note=data.note))
                # The experiments service opens the experiment when it consumes idea.backed.
                x = experiments.Experiment.open_from_backing(
                    department=d, idea_id=data.idea_id, budget_gbp=data.budget_gbp, staff_days=data.staff_days,
                    timebox_weeks=data.timebox_weeks, correlation_id="replay", backed_on=today)
                self.experiments[(d, x.experiment_id)] = x
            case IdeaDeclined():
                idea.decline(data.by, data.reason, data.note)
            case IdeaWithdrawn():
                idea.withdraw(data.by)
            case IdeaMerged():
                assert (data.into_department, data.into_idea_id) in self.ideas, "merged into an unknown idea"
                target = self.ideas[(data.into_department, data.into_idea_id)]
                idea.merge(data.by, data.into_department, data.into_idea_id, department=d,
                           target=ideas.MergeTarget(data.into_department, data.into_idea_id, target.status))
        assert idea.take_events() == [data], "the domain records another event"

    def experiment_command(self, n: int, d: str, data, today) -> None:
        x = self.experiments.get((d, data.experiment_id))
        assert x is not None, f"experiment {data.experiment_id} of {d}: no backed idea opened it"
        match data:
            case ExperimentPlanned():
                m = data.measure
                x.plan(hypothesis=data.hypothesis, starts_on=data.starts_on, ends_on=data.ends_on,
                       squad_size=data.squad_size, budget_gbp=data.budget_gbp, staff_days=data.staff_days,
                       measure=experiments.Measure(m.name, m.unit, m.baseline, m.target, m.direction))
            case ExperimentStarted():
                x.start(today)
            case MeasurementRecorded():
                x.record_measurement(experiments.Measurement(data.measured_on, data.value, data.note), today)
            case ExperimentRescheduled():
                x.reschedule(data.ends_on, data.reason)
            case ExperimentOverdue():
                assert x.mark_overdue(today), f"not overdue: {x.status}, ends {x.ends_on}, today {today}, already {x.overdue}"
            case ExperimentAbandoned():
                x.abandon(data.reason)
            case ExperimentCompleted():
                outcome = self.outcome_after(n, d, data.experiment_id)
                if outcome is None:  # refused, but replayed with a stand-in so the next events meet a completed experiment
                    self.refusals.append("ExperimentCompleted: a completion without its outcome")
                    outcome = OutcomeRecorded(outcome_id=uuid.uuid4(), experiment_id=x.experiment_id, idea_id=x.idea_id,
                                              result="inconclusive", summary="-", learnings=("-",), benefits=Benefits(),
                                              recommendation="iterate")
                b = outcome.benefits
                x.complete(experiments.Outcome(
                    outcome_id=outcome.outcome_id, result=outcome.result, summary=outcome.summary,
                    learnings=tuple(outcome.learnings), recommendation=outcome.recommendation,
                    cash_savings_gbp_per_year=b.cash_savings_gbp_per_year, hours_saved_per_year=b.hours_saved_per_year,
                    people_affected=b.people_affected), today)
                recorded = x.take_events()
                assert recorded[0] == data, "the domain records another completion"
                self.expected_outcomes[(d, data.experiment_id)] = recorded[1]
                return
        assert x.take_events() == [data], "the domain records another event"

    def outcome_after(self, n: int, d: str, experiment_id) -> OutcomeRecorded | None:
        """A completion carries its outcome (the domain records both at once): the stream's next outcome of it."""
        return next((e.data for e in self.events[n + 1:] if isinstance(e.data, OutcomeRecorded)
                     and (e.department, e.data.experiment_id) == (d, experiment_id)), None)


def refusals(events: list[Event]) -> list[str]:
    # A stream cut right after a completion lacks the outcome the same step emits: cut before it instead.
    if events and isinstance(events[-1].data, ExperimentCompleted):
        events = events[:-1]
    return Replay(events).run()


def ticking(minutes: int):
    """A clock that moves `minutes` per simulated step."""
    now = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)

    def clock() -> datetime:
        nonlocal now
        now += timedelta(minutes=minutes)
        return now
    return clock


def simulate(departments, seed: int, count: int, minutes: int) -> list[Event]:
    return list(itertools.islice(Flow(departments=tuple(departments), seed=seed, clock=ticking(minutes)), count))


@settings(max_examples=40, deadline=None)
@given(departments=st.lists(st.sampled_from(DEPARTMENTS), min_size=1, max_size=5, unique=True),
       seed=st.integers(0, 2**32 - 1), count=st.integers(1, 3000), minutes=st.sampled_from((0, 1, 30, 60, 240, 1440)))
def test_every_simulated_stream_is_one_the_domains_accept(departments, seed, count, minutes):
    assert refusals(simulate(departments, seed, count, minutes)) == []


def test_a_long_stream_walks_every_transition_and_the_domains_accept_it():
    events = simulate(DEPARTMENTS, seed=1, count=40_000, minutes=40)
    assert refusals(events) == []
    types = Counter(type(e.data) for e in events)
    # Every kind of event, failures and dead ends included, or the property above proves little.
    assert set(types) >= {IdeaSubmitted, IdeaEndorsed, IdeaReviewed, IdeaShortlisted, IdeaBacked, IdeaDeclined,
                          IdeaWithdrawn, IdeaMerged, ConversationRecorded, *EXPERIMENT_EVENTS, OutcomeRecorded,
                          OutcomeAdopted}
    assert types[OutcomeRecorded] == types[ExperimentCompleted] - isinstance(events[-1].data, ExperimentCompleted)


def test_the_replay_refuses_an_experiment_abandoned_after_it_completed():
    events = simulate(("dwp",), seed=3, count=3000, minutes=40)
    completed = next(n for n, e in enumerate(events) if isinstance(e.data, ExperimentCompleted))
    x = events[completed].data.experiment_id
    abandoned = events[completed].model_copy(update={"data": ExperimentAbandoned(experiment_id=x, reason="Disbanded")})
    stream = events[:completed + 2] + [abandoned]
    [refused] = refusals(stream)
    assert refused.startswith("ExperimentAbandoned: InvalidTransition")


def test_the_same_seed_and_clock_give_the_same_stream():
    def shape(events):
        return [(e.type, e.department, e.time, e.data) for e in events]
    assert shape(simulate(("dwp", "hmrc"), 7, 500, 30)) == shape(simulate(("dwp", "hmrc"), 7, 500, 30))
    assert shape(simulate(("dwp", "hmrc"), 7, 500, 30)) != shape(simulate(("dwp", "hmrc"), 8, 500, 30))


def tool_stream(department: str, seed: int, count: int, minutes: int) -> list[Event]:
    return list(itertools.islice(ConversationTool(departments=(department,), seed=seed, clock=ticking(minutes)), count))


@settings(max_examples=40, deadline=None)
@given(department=st.sampled_from(DEPARTMENTS), seed=st.integers(0, 2**32 - 1), count=st.integers(1, 1500),
       minutes=st.sampled_from((0, 1, 60, 1440)))
def test_a_team_conversation_tool_emits_onto_its_intake_a_stream_the_ideas_domain_accepts(department, seed, count, minutes):
    events = tool_stream(department, seed, count, minutes)
    assert refusals(events) == []
    recorded = set()
    for event in events:
        assert event.department == department
        assert event.source == f"/departments/{department}/systems/team-conversations"
        assert intake_topic_of(event) == f"innovation.{department}.inbound.ideas.v1"
        assert isinstance(event.data, (ConversationRecorded, IdeaSubmitted, IdeaEndorsed))
        if isinstance(event.data, ConversationRecorded):
            recorded.add(event.data.conversation_id)
        elif isinstance(event.data, IdeaSubmitted):  # raised in a conversation the tool recorded before
            assert event.data.conversation_id in recorded


def test_the_team_conversation_tool_raises_ideas_in_conversations_and_endorses_a_few_of_them():
    events = tool_stream("dwp", seed=5, count=3000, minutes=10)
    assert refusals(events) == []
    types = Counter(type(e.data) for e in events)
    assert set(types) == {ConversationRecorded, IdeaSubmitted, IdeaEndorsed}
    raised = Counter(e.data.conversation_id for e in events if isinstance(e.data, IdeaSubmitted))
    conversations = [e.data for e in events if isinstance(e.data, ConversationRecorded)]
    # each conversation's ideas follow it, as many as it raised (the last one's may be cut off by the count)
    assert all(raised[c.conversation_id] == c.ideas_raised for c in conversations[:-1])
    # a few endorsements per idea, not thousands of one
    assert types[IdeaSubmitted] / 2 < types[IdeaEndorsed] < types[IdeaSubmitted] * 5
    assert all(e.data.conversation_id is None for e in simulate(("dwp",), 5, 3000, 10) if isinstance(e.data, IdeaSubmitted))
