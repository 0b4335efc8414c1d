"""The central catalogue (central reporting's `GET /v1/ideas/{department}/{idea_id}`): where a merge into
another department's idea finds its target. Reporting is public; no credential is sent."""

from __future__ import annotations

from uuid import UUID

import httpx

from services.ideas.domain import MergeTarget
from shared.http import ApiError
from shared.logging import get_logger

log = get_logger(__name__)


class CatalogueUnavailable(ApiError):
    """Reporting could not say whether the idea exists: the merge is refused for now, never accepted unchecked."""

    def __init__(self, why: str) -> None:
        super().__init__(503, "central reporting is unreachable, so a merge into another department's idea cannot "
                              "be checked; try again later",
                         [{"field": "into_department", "rule": "the central catalogue answers"}], cause=why)
        self.headers = {"Retry-After": "30"}


class Catalogue:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._base_url, self._timeout = base_url.rstrip("/"), timeout

    async def idea(self, department: str, idea_id: UUID) -> MergeTarget | None:
        """The idea as central reporting knows it; None when reporting says it has no such idea."""
        try:
            async with httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout) as client:
                response = await client.get(f"/v1/ideas/{department}/{idea_id}")
        except httpx.HTTPError as error:
            log.warning("central catalogue unreachable", error=repr(error))
            raise CatalogueUnavailable(type(error).__name__) from None
        if response.status_code == 404 and _names_the_idea(response):
            return None
        if response.status_code != 200:  # an older reporting without this read, or one that failed
            log.warning("central catalogue refused", status=response.status_code, body=response.text[:200])
            raise CatalogueUnavailable(f"answered {response.status_code}")
        try:
            status = response.json()["status"]
        except (ValueError, KeyError, TypeError):
            raise CatalogueUnavailable("answered without the idea's status") from None
        return MergeTarget(department=department, idea_id=idea_id, status=str(status))


def _names_the_idea(response: httpx.Response) -> bool:
    """Reporting's own 404 for an idea it has not seen (not a 404 for an unknown route)."""
    try:
        return any(d.get("field") == "idea_id" for d in response.json()["detail"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
