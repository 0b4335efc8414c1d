"""An intake event of another department is refused before anything is read or written (decode refuses it
first when it comes from another department's topic; this holds if a topic were misconfigured)."""

import pytest

from services.ideas.handlers import IdeasHandlers, OtherDepartment
from shared.consumer import is_content_failure
from tests.support.events import submitted


class NoConnection:
    def __getattr__(self, name):
        raise AssertionError(f"the connection was used: {name}")


async def test_an_event_of_another_department_is_refused_and_dead_lettered():
    handlers = IdeasHandlers(pool=None, department="dwp")
    with pytest.raises(OtherDepartment, match="department 'hmrc' on the intake of 'dwp'") as refused:
        await handlers.apply_intake(NoConnection(), submitted("hmrc"))
    assert is_content_failure(refused.value)
