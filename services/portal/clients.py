"""The department's public HTTP APIs and central reporting, called with the signed-in person's access token
(never a key of ours): the portal is a backend-for-frontend and reads no other service's database."""

from typing import Any
from uuid import UUID

import httpx


class ApiRefused(Exception):
    """The API answered 4xx: its status and its JSON error body ({"error", "detail": [{"field", "rule"}]})."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('error')}")
        self.status, self.body = status, body


class ApiUnavailable(Exception):
    """The API could not be reached or failed (5xx)."""


class Api:
    name = "API"

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def close(self) -> None:
        await self.client.aclose()

    async def _found(self, path: str, token: str | None) -> Any:
        """GET `path`: its body, or None where the API answers 404."""
        try:
            return await self._call("GET", path, token)
        except ApiRefused as refused:
            if refused.status == 404:
                return None
            raise

    async def _call(self, method: str, path: str, token: str | None, **options: Any) -> Any:
        headers = options.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        try:
            response = await self.client.request(method, path, headers=headers, **options)
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"{self.name}: {error}") from None
        if response.status_code >= 500:
            raise ApiUnavailable(f"{self.name} answered {response.status_code}")
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200], "detail": []}
        if response.status_code >= 400:
            raise ApiRefused(response.status_code, body if isinstance(body, dict) else {"error": str(body)})
        return body


class IdeasApi(Api):
    name = "ideas API"

    async def newest(self, token: str, limit: int = 20) -> list[dict[str, Any]]:
        return (await self._call("GET", "/v1/ideas", token, params={"limit": limit}))["items"]

    async def page(self, token: str, limit: int = 20, **filters: Any) -> dict[str, Any]:
        """{"items", "next_cursor"}; filters: status, theme, campaign, q, mine, endorsed, cursor."""
        params = {name: ("true" if value is True else value) for name, value in filters.items() if value}
        return await self._call("GET", "/v1/ideas", token, params={**params, "limit": limit})

    async def idea(self, token: str, idea_id: UUID) -> dict[str, Any]:
        return await self._call("GET", f"/v1/ideas/{idea_id}", token)

    async def submit(self, token: str, idea: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/v1/ideas", token, json=idea)

    async def endorse(self, token: str, idea_id: UUID) -> dict[str, Any]:
        return await self._call("POST", f"/v1/ideas/{idea_id}/endorsements", token)

    async def withdraw(self, token: str, idea_id: UUID) -> dict[str, Any]:
        return await self._call("POST", f"/v1/ideas/{idea_id}/withdraw", token)

    async def record_conversation(self, token: str, conversation: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/v1/conversations", token, json=conversation)

    # The review panel's calls (reviewers and admins)

    async def review_queue(self, token: str, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        """Open ideas the person neither raised nor reviewed, oldest first: {"items", "next_cursor"}."""
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        return await self._call("GET", "/v1/reviews/queue", token, params=params)

    async def reviews(self, token: str, idea_id: UUID) -> list[dict[str, Any]]:
        """Every review of the idea: {"reviewer", "scores", "comment", "reviewed_at"}."""
        return (await self._call("GET", f"/v1/ideas/{idea_id}/reviews", token))["items"]

    async def ranking(self, token: str) -> list[dict[str, Any]]:
        """Shortlisted ideas by their average overall score, best first."""
        return (await self._call("GET", "/v1/ideas/ranking", token))["items"]

    async def idea_or_none(self, token: str, idea_id: UUID) -> dict[str, Any] | None:
        return await self._found(f"/v1/ideas/{idea_id}", token)

    async def decide(self, token: str, idea_id: UUID, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """action: reviews, shortlist, back, decline or merge (the idea's panel calls)."""
        return await self._call("POST", f"/v1/ideas/{idea_id}/{action}", token, json=body)


class ExperimentsApi(Api):
    name = "experiments API"

    async def adopt(self, token: str, origin_department: str, origin_outcome_id: UUID, note: str) -> dict[str, Any]:
        """This department adopts another's outcome (reviewers and admins)."""
        return await self._call("POST", "/v1/adoptions", token, json={
            "origin_department": origin_department, "origin_outcome_id": str(origin_outcome_id), "note": note})

    async def experiment(self, token: str, experiment_id: UUID) -> dict[str, Any] | None:
        return await self._found(f"/v1/experiments/{experiment_id}", token)

    # The squad's calls

    async def page(self, token: str, limit: int = 20, status: str | None = None,
                   cursor: str | None = None) -> dict[str, Any]:
        """The department's experiments, oldest first: {"items", "next_cursor"}."""
        params = {"limit": limit} | ({"status": status} if status else {}) | ({"cursor": cursor} if cursor else {})
        return await self._call("GET", "/v1/experiments", token, params=params)

    async def act(self, token: str, experiment_id: UUID, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """action: plan, start, measurements, reschedule, complete or abandon; the experiment as it is now."""
        return await self._call("POST", f"/v1/experiments/{experiment_id}/{action}", token,
                                **({"json": body} if body is not None else {}))


class NotificationsApi(Api):
    name = "notifications API"

    async def subscription(self, token: str, person_ref: str) -> dict[str, Any] | None:
        return await self._found(f"/v1/subscriptions/{person_ref}", token)

    async def subscribe(self, token: str, person_ref: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("PUT", f"/v1/subscriptions/{person_ref}", token, json=body)

    async def record_address(self, token: str, person_ref: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Creates the person's subscription only if they have none (`If-None-Match: *`): the one made, or None
        where one exists (412), which stays as it is."""
        try:
            return await self._call("PUT", f"/v1/subscriptions/{person_ref}", token, json=body,
                                    headers={"If-None-Match": "*"})
        except ApiRefused as refused:
            if refused.status != 412:
                raise
            return None


class ReportingApi(Api):
    """Central reporting: public figures, no credential."""

    name = "central reporting"

    async def similar(self, q: str, limit: int = 5) -> list[dict[str, Any]]:
        return (await self._call("GET", "/v1/ideas/similar", None, params={"q": q[:200], "limit": limit}))["ideas"]

    async def outcomes(self, limit: int = 20, **filters: Any) -> dict[str, Any]:
        """The outcomes library: {"items", "next_cursor"}; filters: department, idea_id, theme, result,
        recommendation, q, cursor."""
        params = {name: str(value) for name, value in filters.items() if value}
        return await self._call("GET", "/v1/outcomes", None, params={**params, "limit": limit})

    async def outcome(self, department: str, outcome_id: UUID) -> dict[str, Any] | None:
        return await self._found(f"/v1/outcomes/{department}/{outcome_id}", None)

    async def similar_elsewhere(self, q: str, department: str, limit: int = 10) -> list[dict[str, Any]]:
        """Ideas with a similar title in every department but `department`."""
        return (await self._call("GET", "/v1/ideas/similar", None, params={
            "q": q[:200], "limit": limit, "exclude_department": department}))["ideas"]
