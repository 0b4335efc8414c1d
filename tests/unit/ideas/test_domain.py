"""The idea lifecycle as the contract states it, with no I/O."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ideas.domain import (
    OPEN, Backing, Idea, MergeTarget, NoSuchTarget, NotAllowed, OwnIdea, Refused, Status, TargetClosed,
)
from shared.events import (
    IdeaBacked, IdeaDeclined, IdeaEndorsed, IdeaMerged, IdeaReviewed, IdeaShortlisted, IdeaSubmitted,
    IdeaWithdrawn, Scores,
)
from tests.support.events import person

AUTHOR, PANEL = person("author"), person("panel")
SCORES = Scores(impact=5, feasibility=4, value_for_money=3, alignment=2)
TARGET = MergeTarget("hmrc", uuid.uuid4(), "submitted")


def new_idea() -> Idea:
    idea = Idea.submit(IdeaSubmitted(idea_id=uuid.uuid4(), title="Fewer forms", problem="Too many.",
                                     proposal="Merge them.", submitted_by=AUTHOR, themes=("ai",)))
    return idea


COMMANDS = {
    "endorse": lambda idea: idea.endorse(person(f"fan-{len(idea.endorsed_by)}")),
    "review": lambda idea: idea.review(person(f"panel-{len(idea.reviewed_by)}"), SCORES, "good"),
    "shortlist": lambda idea: idea.shortlist(PANEL, None),
    "back": lambda idea: idea.back(Backing(PANEL, 5000.0, 10.0, 6)),
    "decline": lambda idea: idea.decline(PANEL, "not_feasible", "too costly"),
    "withdraw": lambda idea: idea.withdraw(AUTHOR),
    "merge": lambda idea: idea.merge(PANEL, "hmrc", TARGET.idea_id, department="dwp", target=TARGET),
}
# status after each command, from each status; missing = refused
ALLOWED = {
    Status.SUBMITTED: {"endorse": Status.SUBMITTED, "review": Status.SUBMITTED, "shortlist": Status.SHORTLISTED,
                       "decline": Status.DECLINED, "withdraw": Status.WITHDRAWN, "merge": Status.MERGED},
    Status.SHORTLISTED: {"endorse": Status.SHORTLISTED, "review": Status.SHORTLISTED, "back": Status.BACKED,
                         "decline": Status.DECLINED, "withdraw": Status.WITHDRAWN, "merge": Status.MERGED},
}
EVENT_OF = {"endorse": IdeaEndorsed, "review": IdeaReviewed, "shortlist": IdeaShortlisted, "back": IdeaBacked,
            "decline": IdeaDeclined, "withdraw": IdeaWithdrawn, "merge": IdeaMerged}


def test_submitting_records_the_submission():
    idea = new_idea()
    assert idea.status is Status.SUBMITTED
    [event] = idea.take_events()
    assert isinstance(event, IdeaSubmitted) and event.idea_id == idea.idea_id
    assert idea.take_events() == []


@given(st.lists(st.sampled_from(sorted(COMMANDS)), max_size=8))
def test_every_sequence_of_commands_follows_the_contract(commands):
    idea = new_idea()
    idea.take_events()
    for name in commands:
        before = idea.status
        expected = ALLOWED.get(before, {}).get(name)
        if expected is None:
            with pytest.raises(Refused) as refused:
                COMMANDS[name](idea)
            assert refused.value.status is before and refused.value.reason
            assert idea.status is before and idea.events == []  # a refusal changes nothing
        else:
            COMMANDS[name](idea)
            assert idea.status is expected
            [event] = idea.take_events()
            assert isinstance(event, EVENT_OF[name]) and event.idea_id == idea.idea_id


def test_a_person_endorses_an_idea_once():
    idea = new_idea()
    idea.endorse(person("bob"))
    with pytest.raises(Refused, match="already endorsed"):
        idea.endorse(person("bob"))
    idea.endorse(person("carol"))
    assert [e.endorsed_by for e in idea.take_events()[1:]] == [person("bob"), person("carol")]


@pytest.mark.parametrize("closed", [Status.BACKED, Status.DECLINED, Status.WITHDRAWN, Status.MERGED])
def test_closed_ideas_take_no_reviews_or_endorsements(closed):
    assert closed not in OPEN
    idea = new_idea()
    idea.status = closed
    for command in (COMMANDS["endorse"], COMMANDS["review"]):
        with pytest.raises(Refused) as refused:
            command(idea)
        assert refused.value.status is closed and str(closed) in refused.value.reason


def test_only_the_submitter_withdraws_unless_an_admin_acts_for_them():
    idea = new_idea()
    with pytest.raises(NotAllowed):
        idea.withdraw(person("someone-else"))
    assert idea.status is Status.SUBMITTED
    idea.withdraw(person("admin"), on_behalf=True)
    assert idea.status is Status.WITHDRAWN


def test_an_idea_is_not_merged_into_itself_but_may_merge_into_another_departments_idea_of_the_same_id():
    idea = new_idea()
    with pytest.raises(Refused, match="itself"):
        idea.merge(PANEL, "dwp", idea.idea_id, department="dwp", target=MergeTarget("dwp", idea.idea_id, "submitted"))
    idea.merge(PANEL, "hmrc", idea.idea_id, department="dwp", target=MergeTarget("hmrc", idea.idea_id, "backed"))
    assert idea.closure.into_department == "hmrc" and idea.status is Status.MERGED


def test_backing_records_the_resources():
    idea = new_idea()
    idea.shortlist(PANEL, "promising")
    idea.back(Backing(PANEL, 12_000.0, 30.0, 8, "go"))
    backed = idea.take_events()[-1]
    assert (backed.sponsor, backed.budget_gbp, backed.staff_days, backed.timebox_weeks) == (PANEL, 12_000.0, 30.0, 8)


def test_a_reviewer_reviews_an_idea_once():
    idea = new_idea()
    idea.review(PANEL, SCORES, "good")
    with pytest.raises(Refused, match="already reviewed") as refused:
        idea.review(PANEL, Scores(impact=1, feasibility=1, value_for_money=1, alignment=1), "changed my mind")
    assert refused.value.status is Status.SUBMITTED
    idea.review(person("panel-2"), SCORES, None)
    assert [e.reviewer for e in idea.take_events()[1:]] == [PANEL, person("panel-2")]


@pytest.mark.parametrize("command", ["review", "shortlist", "back", "decline", "merge"])
def test_nobody_acts_as_the_panel_on_an_idea_they_submitted(command):
    idea = new_idea()
    if command == "back":
        idea.shortlist(PANEL)
    idea.take_events()
    before = idea.status
    own = {
        "review": lambda: idea.review(AUTHOR, SCORES),
        "shortlist": lambda: idea.shortlist(AUTHOR),
        "back": lambda: idea.back(Backing(AUTHOR, 1.0, 1.0, 1)),
        "decline": lambda: idea.decline(AUTHOR, "other", ""),
        "merge": lambda: idea.merge(AUTHOR, "hmrc", TARGET.idea_id, department="dwp", target=TARGET),
    }
    with pytest.raises(OwnIdea) as refused:
        own[command]()
    assert isinstance(refused.value, NotAllowed) and "conflict of interest" in refused.value.facts["reason"]
    assert idea.status is before and idea.events == [] and idea.reviewed_by == set()


def test_a_merge_needs_a_target_that_exists_and_is_open():
    idea = new_idea()
    with pytest.raises(NoSuchTarget) as missing:
        idea.merge(PANEL, "dwp", TARGET.idea_id, department="dwp", target=None)
    assert missing.value.field == "into_idea_id"
    for closed in ("withdrawn", "declined", "merged"):
        with pytest.raises(TargetClosed, match=closed) as refused:
            idea.merge(PANEL, "dwp", TARGET.idea_id, department="dwp", target=MergeTarget("dwp", TARGET.idea_id, closed))
        assert refused.value.field == "into_idea_id"
    assert idea.status is Status.SUBMITTED and idea.take_events()[1:] == []
    idea.merge(PANEL, "dwp", TARGET.idea_id, department="dwp", target=MergeTarget("dwp", TARGET.idea_id, "backed"))
    assert idea.status is Status.MERGED and idea.closure.into_idea_id == TARGET.idea_id
