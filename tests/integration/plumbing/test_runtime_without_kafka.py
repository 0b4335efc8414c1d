"""A service declared without Kafka (the portal) starts, serves and is ready with no broker at all;
a spec that asks for the outbox relay or consumers without Kafka is refused when declared."""

from pathlib import Path

import httpx
import pytest

from services.reporting.config import ReportingSettings
from shared.runtime import ServiceSpec, create_app
from tests.support.ports import free_port

EMPTY = Path(__file__).parent / "no-migrations"


async def test_a_service_without_kafka_is_ready_while_no_broker_answers(new_database, tmp_path):
    settings = ReportingSettings(database_url=await new_database("nokafka"),
                                 kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")  # nothing listens there
    app = create_app(ServiceSpec(name="no-kafka", title="no Kafka", migrations=tmp_path, kafka=False), settings)
    async with app.router.lifespan_context(app):
        assert app.state.runtime.producer is None and app.state.runtime.broker is None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"database"}


@pytest.mark.parametrize("asks", [{"relay": True}, {"consumers": lambda runtime: []}])
def test_relay_or_consumers_without_kafka_are_refused(asks):
    with pytest.raises(ValueError, match="without Kafka"):
        ServiceSpec(name="portal", title="p", migrations=EMPTY, kafka=False, **asks)
