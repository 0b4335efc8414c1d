"""A real Keycloak for the tests: realms made from the same template as `make up`'s
(deploy/keycloak/realm.py) through the admin REST API, and tokens through the password grant
of the realm's `innovation-tests` client (which only the tests use)."""

import base64
import json
import os
from dataclasses import dataclass

import httpx

from deploy.keycloak import realm as template


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def jwt_part(token: str, index: int = 1) -> dict:
    """A JWT's header (0) or claims (1), unverified: what the tests read of a token they were given."""
    segment = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@dataclass(frozen=True)
class Realm:
    department: str
    issuer: str
    audience: str  # "innovation-api"
    users: dict[str, tuple[str, str]]  # role (and "contributor2", "reviewer2") -> (username, password)
    portal_client_id: str
    portal_client_secret: str


class Keycloak:
    def __init__(self, base_url: str, admin_username: str | None = None, admin_password: str | None = None):
        self.base_url = base_url.rstrip("/")
        self._admin_username = admin_username or os.environ.get("KEYCLOAK_ADMIN_USERNAME", "admin")
        self._admin_password = admin_password or os.environ.get("KEYCLOAK_ADMIN_PASSWORD", "admin-dev-only")

    async def realm(self, department: str, *, access_token_lifespan: int | None = None) -> Realm:
        """The department's realm, created from the template when it does not exist yet."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            headers = {"Authorization": f"Bearer {await self._admin_token(client)}"}
            found = await client.get(f"/admin/realms/{department}", headers=headers)
            if found.status_code == 404:
                made = template.realm(department, access_token_lifespan=access_token_lifespan)
                created = await client.post("/admin/realms", json=made, headers=headers)
                if created.status_code not in (201, 409):  # 409: another test made it meanwhile
                    raise RuntimeError(f"creating realm {department}: {created.status_code} {created.text}")
            else:
                found.raise_for_status()
                if access_token_lifespan is not None and found.json().get("accessTokenLifespan") != access_token_lifespan:
                    updated = await client.put(f"/admin/realms/{department}", headers=headers,
                                               json={"accessTokenLifespan": access_token_lifespan})
                    updated.raise_for_status()
            discovery = await client.get(f"/realms/{department}/.well-known/openid-configuration")
            discovery.raise_for_status()
        return Realm(
            department=department, issuer=discovery.json()["issuer"], audience=template.AUDIENCE,
            users=template.demo_users(department),
            portal_client_id=template.PORTAL_CLIENT_ID, portal_client_secret=template.PORTAL_CLIENT_SECRET,
        )

    async def token(self, department: str, role: str = "contributor") -> str:
        """An access token of the department's user with that role (or "contributor2", "reviewer2")."""
        return (await self.tokens(department, role))["access_token"]

    async def tokens(self, department: str, role: str) -> dict:
        """The whole token response (access, refresh and id token) of a password grant."""
        username, password = template.demo_users(department)[role]
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(
                f"/realms/{department}/protocol/openid-connect/token",
                data={"grant_type": "password", "client_id": template.TESTS_CLIENT_ID, "scope": "openid",
                      "username": username, "password": password},
            )
        if response.status_code != 200:
            raise RuntimeError(f"password grant for {username} in realm {department}: {response.status_code} {response.text}")
        return response.json()

    async def _admin_token(self, client: httpx.AsyncClient) -> str:
        response = await client.post(
            "/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli",
                  "username": self._admin_username, "password": self._admin_password},
        )
        response.raise_for_status()
        return response.json()["access_token"]
