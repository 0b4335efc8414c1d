"""The department's public HTTP APIs, called with the signed-in person's access token (never a key of ours):
the portal is a backend-for-frontend and reads no other service's database."""

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


class IdeasApi:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, token: str, **options: Any) -> Any:
        try:
            response = await self.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **options)
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"ideas API: {error}") from None
        if response.status_code >= 500:
            raise ApiUnavailable(f"ideas API answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200], "detail": []}
        if response.status_code >= 400:
            raise ApiRefused(response.status_code, body if isinstance(body, dict) else {"error": str(body)})
        return body

    async def newest(self, token: str, limit: int = 20) -> list[dict[str, Any]]:
        return (await self._call("GET", "/v1/ideas", token, params={"limit": limit}))["items"]

    async def idea(self, token: str, idea_id: UUID) -> dict[str, Any]:
        return await self._call("GET", f"/v1/ideas/{idea_id}", token)

    async def submit(self, token: str, idea: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/v1/ideas", token, json=idea)
