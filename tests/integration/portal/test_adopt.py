"""Adopting another department's outcome from the outcomes library, in one step, as a reviewer: the
experiments API records the adoption, central reporting shows it on the outcome, and nobody else can."""

import re
import uuid

import pytest

from shared.events import OutcomeAdopted, OutcomeRecorded, new_event
from shared.events.topics import topic_name
from tests.integration.portal.conftest import browser, csrf_of, sign_in, start_portal
from tests.support.kafka import create_topics, publish, read_to_end
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_a_reviewer_adopts_another_departments_outcome_from_the_library_once(
        tmp_path, kafka_bootstrap, new_database, department, realm, keycloak):
    origin = f"{department}o"
    await create_topics(kafka_bootstrap, topic_name(origin, "outcomes"))
    theirs, ours = uuid.uuid4(), uuid.uuid4()
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("experiments", "reporting")):
        marker = uuid.uuid4().hex[:8]
        await publish(kafka_bootstrap, *(new_event(OutcomeRecorded(
            outcome_id=outcome, experiment_id=uuid.uuid4(), idea_id=uuid.uuid4(), result="succeeded",
            summary="Fewer calls.", learnings=(f"Ring back at a set time {marker}",), recommendation="adopt_elsewhere"),
            department=dept, service="experiments") for outcome, dept in ((theirs, origin), (ours, department))))
        url = f"{portal.url}/outcomes/{origin}/{theirs}"
        own = f"{portal.url}/outcomes/{department}/{ours}"
        async with browser() as reviewer, browser() as contributor:
            await sign_in(reviewer, portal, "reviewer")
            await sign_in(contributor, portal, "contributor")

            async def in_library() -> bool:
                return (await reviewer.get(url)).status_code == 200 and (await reviewer.get(own)).status_code == 200

            await eventually(in_library, what="both outcomes in central reporting")
            shown = await reviewer.get(url)
            assert 'id="adopt"' in shown.text and f"Adopt for {department.upper()}" in shown.text
            assert 'id="adopt"' not in (await reviewer.get(own)).text  # not one's own department's outcome
            as_contributor = await contributor.get(url)
            assert 'id="adopt"' not in as_contributor.text  # a contributor is offered nothing...
            forced = await contributor.post(f"{url}/adopt", data={"note": "", "csrf_token": csrf_of(as_contributor)})
            assert forced.status_code == 403 and "Only reviewers and admins" in forced.text  # ...and refused

            no_token = await reviewer.post(f"{url}/adopt", data={"note": "Trying it"})
            assert no_token.status_code == 403
            too_long = await reviewer.post(f"{url}/adopt", data={"note": "x" * 2001, "csrf_token": csrf_of(shown)})
            assert too_long.status_code == 400 and "2000 characters or fewer" in too_long.text

            async def catalogued() -> bool:  # the experiments service's catalogue reads outcomes asynchronously
                answer = await reviewer.post(f"{url}/adopt", follow_redirects=False,
                                             data={"note": "Trying it in our call centres", "csrf_token": csrf_of(shown)})
                assert answer.status_code in (303, 404), answer.text[:300]
                return answer.status_code == 303

            await eventually(catalogued, what="the outcome in the experiments service's catalogue")
            again = await reviewer.post(f"{url}/adopt", data={"note": "", "csrf_token": csrf_of(shown)})
            assert again.status_code == 409 and "already adopted" in again.text

            async def adoption_shown() -> bool:
                page = await reviewer.get(url)
                return department.upper() in re.search(r'id="adopted-by">.*?</(ul|p)>', page.text, re.S).group()

            await eventually(adoption_shown, what="the adoption on the outcome's page")
            page = await reviewer.get(url)
            assert 'id="adopt"' not in page.text and 'id="adopted-here"' in page.text
        records = await read_to_end(kafka_bootstrap, topic_name(department, "outcomes"))
        adoptions = [r for r in records if dict(r.headers).get("ce_type") == b"uk.gov.innovation.outcome.adopted.v1"]
        assert len(adoptions) == 1
