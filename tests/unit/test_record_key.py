"""The consumer's key rule: a record's key is the text of its event's aggregate id, exactly (a UUID's
canonical lower-case form), whatever the type of that id."""

import uuid

import pytest
from aiokafka import ConsumerRecord

from deploy.simulation import Flow
from shared.consumer import _key, read_event
from shared.events import encode
from shared.events.errors import KeyMismatch


def _events(count: int = 400):
    return [event for _, event in zip(range(count), Flow(departments=("dwp", "hmrc"), seed=7))]


def _record(event, key: bytes | None) -> ConsumerRecord:
    r = encode(event)
    return ConsumerRecord(r.topic, 0, 0, 0, 0, key, r.value, None, 1, 1, tuple(r.headers))


def test_the_key_is_the_aggregate_ids_text_for_every_type():
    for event in _events():
        assert _key(event.data) == event.data.aggregate_id.encode()
        assert read_event(_record(event, event.data.aggregate_id.encode())) == event


@pytest.mark.parametrize("value", [uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1), uuid.uuid1(), uuid.uuid4()])
def test_a_uuid_key_is_its_canonical_text(value):
    class Data:
        aggregate_id_field = "id"
        id = value

    assert _key(Data()) == str(value).encode()


def test_any_other_spelling_of_the_id_is_refused():
    event = next(e for e in _events() if isinstance(getattr(e.data, e.data.aggregate_id_field), uuid.UUID))
    value = getattr(event.data, event.data.aggregate_id_field)
    for key in (str(value).upper().encode(), value.hex.encode(), f"{{{value}}}".encode(), value.urn.encode(),
                str(value).encode() + b" ", None):
        with pytest.raises(KeyMismatch):
            read_event(_record(event, key))
