"""Who hears of an event, in which rhythm, when digests go, and what an unsubscribe link does:
the rules, without I/O."""

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, strategies as st

from services.notifications import domain
from shared.events import (
    ExperimentPlanned,
    ExperimentStarted,
    IdeaBacked,
    IdeaEndorsed,
    IdeaShortlisted,
    IdeaSubmitted,
    IdeaWithdrawn,
    OutcomeRecorded,
    new_event,
)
from shared.events.experiments import Measure
from shared.refusals import Invalid
from tests.support.events import person

AUTHOR, FAN, SPONSOR, REVIEWER, SQUAD, READER = (person(r) for r in ("author", "fan", "sponsor", "reviewer", "squad", "reader"))
IDEA = uuid.uuid4()


def _event(data):
    return new_event(data, department="dwp", service="ideas")


def test_events_teach_who_is_involved_and_who_reviews():
    submitted = domain.learn(_event(IdeaSubmitted(idea_id=IDEA, title="Tea", problem="p", proposal="q", submitted_by=AUTHOR)))
    assert submitted.idea == (IDEA, "Tea", AUTHOR) and submitted.involved == (("submitter", AUTHOR),)
    assert domain.learn(_event(IdeaEndorsed(idea_id=IDEA, endorsed_by=FAN))).involved == (("endorser", FAN),)
    backed = domain.learn(_event(IdeaBacked(idea_id=IDEA, sponsor=SPONSOR, budget_gbp=1, staff_days=1, timebox_weeks=1)))
    assert backed.involved == (("reviewer", SPONSOR),) and backed.reviewers == (SPONSOR,)
    assert domain.learn(_event(IdeaWithdrawn(idea_id=IDEA, by=AUTHOR))) == domain.Learned()
    experiment = uuid.uuid4()
    planned = domain.learn(_event(ExperimentPlanned(
        experiment_id=experiment, idea_id=IDEA, hypothesis="h", starts_on=date(2026, 1, 5), ends_on=date(2026, 2, 5),
        squad_size=2, budget_gbp=0, staff_days=0, by=SQUAD, squad=(READER,),
        measure=Measure(name="m", unit="u", baseline=1, target=2, direction="increase"))))
    assert planned.experiment == (experiment, IDEA) and set(planned.involved) == {("squad", SQUAD), ("squad", READER)}
    started = domain.learn(_event(ExperimentStarted(experiment_id=experiment, started_on=date(2026, 1, 5), by=FAN)))
    assert started.involved == (("squad", FAN),)
    outcome = uuid.uuid4()
    recorded = domain.learn(_event(OutcomeRecorded(
        outcome_id=outcome, experiment_id=experiment, idea_id=IDEA, result="failed", summary="s", learnings=("l",),
        recommendation="stop")))
    assert recorded.outcome == (outcome, experiment, IDEA)


def test_the_people_involved_hear_what_happens_to_the_idea_once_each_as_the_kind_closest_to_them_never_the_actor():
    backed = _event(IdeaBacked(idea_id=IDEA, sponsor=SPONSOR, budget_gbp=1, staff_days=1, timebox_weeks=1))
    involved = [(AUTHOR, "submitter"), (FAN, "endorser"), (REVIEWER, "reviewer"), (REVIEWER, "endorser"),
                (SPONSOR, "reviewer"), (SQUAD, "squad")]
    heard = domain.audience(backed, involved, reviewers=[REVIEWER], news_readers=[READER, AUTHOR])
    assert heard == {AUTHOR: "my_ideas", FAN: "endorsed", REVIEWER: "review_queue", SQUAD: "my_ideas",
                     READER: "department"}


def test_a_new_idea_goes_to_the_reviewers_and_the_news_readers_only():
    submitted = _event(IdeaSubmitted(idea_id=IDEA, title="Tea", problem="p", proposal="q", submitted_by=AUTHOR))
    heard = domain.audience(submitted, [(AUTHOR, "submitter")], reviewers=[REVIEWER, AUTHOR], news_readers=[READER])
    assert heard == {REVIEWER: "review_queue", READER: "department"}  # the author raised it: no need to tell them
    endorsed = _event(IdeaEndorsed(idea_id=IDEA, endorsed_by=FAN))
    assert domain.audience(endorsed, [(AUTHOR, "submitter")], [REVIEWER], []) == {}  # not something that happens to it


def test_people_are_told_now_in_a_digest_or_not_at_all_as_they_chose_and_only_with_an_address():
    heard = {AUTHOR: "my_ideas", FAN: "endorsed", REVIEWER: "review_queue", READER: "department", SQUAD: "my_ideas"}
    chosen = {AUTHOR: {}, FAN: {"endorsed": "daily"}, REVIEWER: {"review_queue": "never"}, READER: {}}
    now, later = domain.rhythms(heard, chosen)
    assert now == [(AUTHOR, "my_ideas")]
    assert sorted(later) == sorted([(FAN, "endorsed", "daily"), (READER, "department", "weekly")])


def test_subscriptions_take_defaults_and_refuse_unknown_kinds_and_rhythms():
    plain = domain.new_subscription("a@dept.example.org", None, None)
    assert plain.event_types == domain.DEPARTMENT_NEWS and plain.preferences == {}
    named = domain.new_subscription("a@dept.example.org", None, ["idea.backed.v1"])
    assert named.preferences == {"department": "immediately"}  # as before preferences existed
    assert domain.new_subscription("a@dept.example.org", None, [], {"department": "weekly"}).event_types == ()
    for given in ({"everything": "daily"}, {"my_ideas": "hourly"}):
        with pytest.raises(Invalid) as refused:
            domain.new_subscription("a@dept.example.org", None, None, given)
        assert refused.value.rule in ("kind", "rhythm")
    assert domain.preferences({"endorsed": "never"}) == {**domain.DEFAULT_PREFERENCES, "endorsed": "never"}


@pytest.mark.parametrize(("now", "rhythm", "last", "next_"), [
    # 08:00 in London is 08:00 UTC in winter and 07:00 UTC in summer
    ("2026-01-14T09:00:00+00:00", "daily", "2026-01-14T08:00:00+00:00", "2026-01-15T08:00:00+00:00"),
    ("2026-07-14T07:30:00+00:00", "daily", "2026-07-14T07:00:00+00:00", "2026-07-15T07:00:00+00:00"),
    # weekly on Mondays: 2026-01-12 and 2026-07-13 are Mondays
    ("2026-01-14T09:00:00+00:00", "weekly", "2026-01-12T08:00:00+00:00", "2026-01-19T08:00:00+00:00"),
    ("2026-07-13T06:59:59+00:00", "weekly", "2026-07-06T07:00:00+00:00", "2026-07-13T07:00:00+00:00"),
    # across the changes of 29 March and 25 October 2026: still 08:00 on the clock, once a day
    ("2026-03-29T12:00:00+00:00", "daily", "2026-03-29T07:00:00+00:00", "2026-03-30T07:00:00+00:00"),
    ("2026-03-28T12:00:00+00:00", "daily", "2026-03-28T08:00:00+00:00", "2026-03-29T07:00:00+00:00"),
    ("2026-10-25T12:00:00+00:00", "daily", "2026-10-25T08:00:00+00:00", "2026-10-26T08:00:00+00:00"),
    ("2026-10-24T12:00:00+00:00", "daily", "2026-10-24T07:00:00+00:00", "2026-10-25T08:00:00+00:00"),
])
def test_digests_go_at_the_local_time_in_london_across_clock_changes(now, rhythm, last, next_):
    clock = domain.digest_clock("08:00", "monday", "Europe/London")
    moment = datetime.fromisoformat(now)
    assert clock.last(rhythm, moment) == datetime.fromisoformat(last)
    assert clock.next(rhythm, moment) == datetime.fromisoformat(next_)


def test_a_time_the_clock_skips_happens_once_an_hour_late_and_a_time_it_repeats_happens_once():
    clock = domain.digest_clock("01:30", "sunday", "Europe/London")
    # 29 March 2026: 01:00 GMT becomes 02:00 BST; 01:30 does not exist, so 02:30 BST (01:30 UTC)
    assert clock.next("daily", datetime(2026, 3, 29, 0, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 25 October 2026: 01:30 happens twice (BST, then GMT): the first, once
    first = clock.next("daily", datetime(2026, 10, 24, 23, 0, tzinfo=UTC))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert clock.next("daily", first) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(["daily", "weekly"]), st.times(), st.integers(0, 6))
def test_each_moment_falls_in_exactly_one_period(now, rhythm, at, weekday):
    clock = domain.digest_clock(at.strftime("%H:%M:%S"), domain.WEEKDAYS[weekday], "Europe/London")
    last, next_ = clock.last(rhythm, now), clock.next(rhythm, now)
    assert last <= now < next_
    assert clock.next(rhythm, last) == next_  # nothing in between
    assert (next_ - last).days <= (1 if rhythm == "daily" else 7)


def test_unsubscribe_tokens_name_no_person_are_signed_and_stop_one_kind_or_one_digest():
    key = uuid.uuid4()
    token = domain.unsubscribe_token("secret", key, "endorsed")
    assert domain.read_unsubscribe_token("secret", token) == (key, "endorsed")
    assert "p_" not in token and str(key) not in token
    assert domain.read_unsubscribe_token("another secret", token) is None
    body, _, mac = token.partition(".")
    for forged in (body + "." + mac[::-1], body[:-1] + "A." + mac, "", ".", "x" * 200, token + "=", "é.é"):
        assert domain.read_unsubscribe_token("secret", forged) is None, forged
    assert domain.unsubscribed({}, "endorsed") == {**domain.DEFAULT_PREFERENCES, "endorsed": "never"}
    # the weekly digest's link stops every kind that goes in it
    assert domain.unsubscribed({"my_ideas": "daily"}, "weekly") == {
        "my_ideas": "daily", "endorsed": "never", "review_queue": "never", "department": "never"}
