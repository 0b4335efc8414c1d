"""One realistic example of every event type: for the docs, the AsyncAPI document and the benchmark."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from shared.events.base import EventData
from shared.events.experiments import (
    ExperimentAbandoned,
    ExperimentCompleted,
    ExperimentOverdue,
    ExperimentPlanned,
    ExperimentRescheduled,
    ExperimentStarted,
    Measure,
    MeasurementRecorded,
)
from shared.events.ideas import (
    ConversationRecorded,
    IdeaBacked,
    IdeaDeclined,
    IdeaEndorsed,
    IdeaMerged,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaSubmitted,
    IdeaWithdrawn,
    Scores,
)
from shared.events.outcomes import Benefits, OutcomeAdopted, OutcomeRecorded

IDEA = UUID("7d9c2f1e-4b5a-4c3d-9e8f-0a1b2c3d4e5f")
EXPERIMENT = UUID("3f2e1d0c-9b8a-4765-8432-10fedcba9876")
CONVERSATION = UUID("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d")
OUTCOME = UUID("9e8d7c6b-5a49-4382-b716-05f4e3d2c1b0")
ALICE = "p_3f9a1c0b7e2d4a68"
BOB = "p_c41e07d9a2b35f18"

EXAMPLES: tuple[EventData, ...] = (
    IdeaSubmitted(
        idea_id=IDEA,
        title="Pre-fill change-of-address forms from the claimant's last contact",
        problem=(
            "Claimants who move house re-key their whole address history on the change-of-address "
            "form. About one in five forms is returned for a mismatch, which adds two weeks to the change."
        ),
        proposal=(
            "Pre-fill the form from the address we already hold and ask only for what changed. "
            "Trial it for six weeks in two jobcentres and compare the return rate with two others."
        ),
        expected_benefits="Fewer returned forms, about 300 staff hours a month saved across the pilot sites.",
        themes=("customer-service", "digital"),
        team="Service design, Leeds",
        submitted_by=ALICE,
        campaign="one-big-thing-2025",
        conversation_id=CONVERSATION,
    ),
    IdeaEndorsed(idea_id=IDEA, endorsed_by=BOB),
    IdeaReviewed(
        idea_id=IDEA,
        reviewer=BOB,
        scores=Scores(impact=4, feasibility=5, value_for_money=4, alignment=3),
        comment="Cheap to try and easy to measure; check the data-sharing basis first.",
    ),
    IdeaShortlisted(idea_id=IDEA, by=BOB, note="Panel of 12 March"),
    IdeaBacked(
        idea_id=IDEA, sponsor=BOB, budget_gbp=12500.0, staff_days=40.0, timebox_weeks=6, note="Two sites"
    ),
    IdeaDeclined(idea_id=IDEA, by=BOB, reason="duplicate", note="Already running in the Glasgow pilot"),
    IdeaWithdrawn(idea_id=IDEA, by=ALICE),
    IdeaMerged(
        idea_id=IDEA, into_department="hmrc", into_idea_id=UUID("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"), by=BOB
    ),
    ConversationRecorded(
        conversation_id=CONVERSATION, team="Benefit centre, Wolverhampton", participants=14,
        held_on=date(2025, 3, 3), ideas_raised=6,
    ),
    ExperimentPlanned(
        experiment_id=EXPERIMENT,
        idea_id=IDEA,
        hypothesis="Pre-filled forms are returned for a mismatch less often than blank ones.",
        measure=Measure(name="Forms returned for mismatch", unit="percent", baseline=21.0, target=8.0,
                        direction="decrease"),
        starts_on=date(2025, 4, 7),
        ends_on=date(2025, 5, 16),
        squad_size=4,
        budget_gbp=12500.0,
        staff_days=40.0,
        by=ALICE,
        squad=(BOB,),
    ),
    ExperimentStarted(experiment_id=EXPERIMENT, started_on=date(2025, 4, 7), by=ALICE),
    MeasurementRecorded(experiment_id=EXPERIMENT, measured_on=date(2025, 4, 18), value=14.5, note="Week 2", by=BOB),
    ExperimentRescheduled(experiment_id=EXPERIMENT, ends_on=date(2025, 5, 30), reason="Easter closures", by=ALICE),
    ExperimentOverdue(experiment_id=EXPERIMENT, ended_on=date(2025, 5, 30)),
    ExperimentCompleted(experiment_id=EXPERIMENT, completed_on=date(2025, 6, 2), by=ALICE),
    ExperimentAbandoned(experiment_id=EXPERIMENT, reason="The sites were merged before the trial could start.",
                        by=BOB),
    OutcomeRecorded(
        outcome_id=OUTCOME,
        experiment_id=EXPERIMENT,
        idea_id=IDEA,
        result="succeeded",
        summary="Returns fell from 21% to 9% at the trial sites while the comparison sites stayed at 20%.",
        learnings=(
            "Claimants trusted a pre-filled address more when the form said where it came from.",
            "Two of the returns were caused by postcode look-up, not by the claimant.",
        ),
        benefits=Benefits(cash_savings_gbp_per_year=84000.0, hours_saved_per_year=3600.0, people_affected=41000),
        recommendation="adopt_elsewhere",
        by=ALICE,
    ),
    OutcomeAdopted(
        adoption_id=UUID("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
        origin_department="dwp",
        origin_outcome_id=OUTCOME,
        adopting_department="hmrc",
        adopted_by=ALICE,
        note="Adapting it for the self-assessment change-of-address journey.",
    ),
)
