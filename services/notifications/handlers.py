"""Use cases: turning events into deliveries, and managing subscriptions and webhooks. Each use
case owns its transaction; the repository runs its statements on the connection it is given.

The consumers and the HTTP routes both come through here; the delivery worker is in worker.py.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.notifications import domain, egress, repository
from services.notifications.addresses import Network
from services.notifications.domain import Subscription, Webhook, adoption_of_ours, event_types
from services.notifications.repository import DeliveryFilter
from shared.events import Event, ExperimentPlanned, OutcomeAdopted, OutcomeRecorded, encode_structured
from shared.events.pseudonym import pseudonymise
from shared.logging import get_logger
from shared.refusals import Conflict, Forbidden, NotFound

REGISTRATION_RESOLVE_SECONDS = 5.0  # a name not resolved by then is accepted: each delivery vets it again
log = get_logger(__name__)


class UnknownSubscription(NotFound):
    def __init__(self) -> None:
        super().__init__("subscription not found", field="person_ref", rule="a subscriber of this department")


class UnknownWebhook(NotFound):
    def __init__(self) -> None:
        super().__init__("webhook not found", field="webhook_id", rule="a webhook of this department")


class SubscriptionExists(Conflict):
    """A create-only PUT (If-None-Match: *) of a person who has a subscription: the HTTP layer answers 412."""

    def __init__(self) -> None:
        super().__init__("subscription exists", field="If-None-Match", rule="no subscription of this person yet")


class OthersSubscription(Forbidden):
    def __init__(self) -> None:
        super().__init__("only an admin may manage another person's subscription", field="person_ref",
                         rule="equal to X-Person-Ref unless the key is an admin's")


@dataclass
class Notifications:
    """The notifications of one department."""

    pool: asyncpg.Pool
    department: str
    pseudonym_secret: str
    allowed_networks: tuple[Network, ...] = ()  # the operator's webhook allow-list (private addresses it admits)

    # -- from the topics -------------------------------------------------------------------

    async def department_event(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        """Any event of the department's own three streams."""
        await self._deliver(conn, event)

    async def outcomes_event(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        """Any department's outcomes: only adoptions of this department's outcomes matter here
        (the department's own topic is read by the department consumer already)."""
        if adoption_of_ours(event, self.department):
            await self._deliver(conn, event)

    async def _deliver(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        """Learns who is involved in what, then tells each person who hears of `event` once: by
        email now, or in their next digest, as they chose; and every webhook that wants it."""
        ours = event.department == self.department
        learned = domain.learn(event) if ours else domain.Learned()
        idea_id = await self._idea_of(conn, event)
        await repository.remember(conn, learned, idea_id)
        heard = domain.audience(
            event,
            involved=await repository.involved(conn, idea_id) if idea_id and event.type in domain.INVOLVING else (),
            reviewers=await repository.reviewers(conn) if ours and event.type == domain.NEW_IDEA else (),
            news_readers=await repository.news_readers(conn, event.type))
        now, later = domain.rhythms(heard, await repository.choices_of(conn, list(heard)))
        added = await repository.add_notifications(conn, event.id, event.type, encode_structured(event).value,
                                                   now, later)
        if added:
            log.info("notifications added", count=added, emails=len(now), for_digests=len(later))

    async def _idea_of(self, conn: asyncpg.Connection, event: Event[Any]) -> uuid.UUID | None:
        """The department's idea an event is about, when it is about one."""
        data = event.data
        match data:
            case OutcomeAdopted():
                if data.origin_department != self.department:
                    return None
                outcome = await repository.outcome_of_ours(conn, data.origin_outcome_id)
                return outcome["idea_id"] if outcome else None
            case ExperimentPlanned() | OutcomeRecorded():
                return data.idea_id
        if hasattr(data, "idea_id"):
            return data.idea_id
        if hasattr(data, "experiment_id"):
            return await repository.idea_of_experiment(conn, data.experiment_id)
        return None

    # -- subscriptions ---------------------------------------------------------------------

    def person(self, person_ref: str) -> str:
        """The pseudonym of a person named in a path (the acting person's comes from shared.auth)."""
        return pseudonymise(self.pseudonym_secret, person_ref)

    async def subscribe(self, person: str, subscription: Subscription, *, create_only: bool = False) -> tuple[dict, bool]:
        """Creates or replaces `person`'s subscription; True when it was created. With
        `create_only`, a person who has one already gets SubscriptionExists. Pending emails of
        the kinds now set to never end `failed`: the person asked for no more of them."""
        async with self.pool.acquire() as conn, conn.transaction():
            row, created = await repository.put_subscription(conn, person, subscription, create_only=create_only)
            if row is None:
                raise SubscriptionExists()
            await self._stop_pending(conn, person, row["preferences"])
        return row, created

    async def _stop_pending(self, conn: asyncpg.Connection, person: str, chosen: dict[str, str]) -> None:
        stopped = [k for k, r in domain.preferences(chosen).items() if r == "never"]
        if stopped:
            await repository.end_pending(conn, "unsubscribed before delivery", person=person, kinds=stopped)

    async def unsubscribe_link(self, token: str, *, confirm: bool) -> tuple[domain.Scope, bool] | None:
        """Follows an unsubscribe link: (what it stops, whether it was stopped already), or None for
        a token this department did not sign or whose subscription is gone. Only `confirm` changes
        anything (a GET that a mail scanner makes must not)."""
        read = domain.read_unsubscribe_token(self.pseudonym_secret, token)
        if read is None:
            return None
        key, scope = read
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repository.subscription_by_key(conn, key)
            if row is None:
                return None
            before = domain.preferences(row["preferences"])
            after = domain.unsubscribed(row["preferences"], scope)
            already = after == before
            if confirm and not already:
                await repository.set_preferences(conn, row["person"], after)
                await self._stop_pending(conn, row["person"], after)
                log.info("unsubscribed by link", scope=scope)
        return scope, already

    async def subscription(self, person: str) -> dict:
        async with self.pool.acquire() as conn:
            row = await repository.get_subscription(conn, person)
        if row is None:
            raise UnknownSubscription()
        return row

    async def unsubscribe(self, person: str) -> None:
        """Forgets the address; the person's pending emails end failed, visibly, rather than vanish."""
        async with self.pool.acquire() as conn, conn.transaction():
            await repository.end_pending(conn, "the subscription was deleted before delivery", person=person)
            deleted = await repository.delete_subscription(conn, person)
        if not deleted:
            raise UnknownSubscription()

    # -- webhooks --------------------------------------------------------------------------

    async def add_webhook(self, webhook: Webhook) -> asyncpg.Record:
        """Registers `webhook` unless its destination is refused (addresses.RefusedDestination)."""
        await egress.vet_at_registration(webhook.url, self.allowed_networks, REGISTRATION_RESOLVE_SECONDS)
        async with self.pool.acquire() as conn:
            return await repository.add_webhook(conn, webhook)

    async def webhooks(self) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await repository.list_webhooks(conn)

    async def remove_webhook(self, webhook_id: uuid.UUID) -> None:
        """Removes the webhook; its pending deliveries end failed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await repository.end_pending(conn, "the webhook was deleted before delivery", webhook_id=webhook_id)
            deleted = await repository.delete_webhook(conn, webhook_id)
        if not deleted:
            raise UnknownWebhook()

    # -- deliveries ------------------------------------------------------------------------

    async def deliveries(self, filters: DeliveryFilter, *, after: int | None, limit: int) -> list[asyncpg.Record]:
        """Up to `limit` deliveries after position `after`, oldest first; an `event_type` filter
        may be given without the catalogue's prefix."""
        if filters.event_type is not None:
            (full,) = event_types([filters.event_type], field="event_type")
            filters = dataclasses.replace(filters, event_type=full)
        async with self.pool.acquire() as conn:
            return await repository.list_deliveries(conn, filters, after=after, limit=limit)
