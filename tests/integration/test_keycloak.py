"""The tests' identity provider: a realm per department made from the demo realms' template, whose
access tokens carry what the departmental APIs read (issuer, subject, audience, department, roles,
email). The tokens are decoded without verifying here; the APIs' tests verify them."""

import json
import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from deploy.keycloak import realm as template
from tests.support.ports import free_port
from tests.support.keycloak import jwt_part

pytestmark = pytest.mark.integration


async def test_a_token_per_role_carries_issuer_subject_audience_department_roles_and_email(keycloak, department):
    realm = await keycloak.realm(department)
    assert realm.issuer == f"{keycloak.base_url}/realms/{department}"
    assert realm.audience == "innovation-api"
    assert set(realm.users) == {"contributor", "reviewer", "admin", "viewer", "contributor2", "reviewer2"}
    subjects = {}
    for role in realm.users:
        token = jwt_part(await keycloak.token(department, role))
        username = realm.users[role][0]
        assert token["iss"] == realm.issuer
        audience = token["aud"] if isinstance(token["aud"], list) else [token["aud"]]
        assert "innovation-api" in audience
        assert token["department"] == department
        assert token["email"] == username
        granted = set(token["realm_access"]["roles"]) & {"contributor", "reviewer", "admin", "viewer"}
        assert granted == {role.removesuffix("2")}
        subjects[role] = token["sub"]
    assert len(set(subjects.values())) == len(subjects)  # a person each: contributor2 and reviewer2 are others


async def test_realm_is_idempotent_and_tokens_include_refresh_and_id_tokens(keycloak, department):
    first = await keycloak.realm(department)
    assert await keycloak.realm(department) == first
    tokens = await keycloak.tokens(department, "reviewer")
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens)
    assert jwt_part(tokens["id_token"])["department"] == department


async def test_a_wrong_password_is_refused(keycloak, department):
    realm = await keycloak.realm(department)
    username, password = realm.users["contributor"]
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            f"{realm.issuer}/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "innovation-tests", "username": username, "password": password + "x"},
        )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_grant"


async def test_the_discovery_document_names_the_realm_as_issuer_and_publishes_its_keys(keycloak, department):
    realm = await keycloak.realm(department)
    async with httpx.AsyncClient() as client:
        discovery = (await client.get(f"{realm.issuer}/.well-known/openid-configuration")).json()
        keys = (await client.get(discovery["jwks_uri"])).json()
    assert discovery["issuer"] == realm.issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert any(key["alg"] == "RS256" for key in keys["keys"])


async def test_a_realm_made_with_a_short_token_lifespan_issues_short_tokens(keycloak, department):
    await keycloak.realm(department, access_token_lifespan=5)
    token = jwt_part(await keycloak.token(department))
    assert token["exp"] - token["iat"] == 5


async def test_the_portal_client_needs_pkce_and_its_secret(keycloak, department):
    realm = await keycloak.realm(department)
    async with httpx.AsyncClient() as client:
        authorize = f"{realm.issuer}/protocol/openid-connect/auth"
        params = {"client_id": realm.portal_client_id, "response_type": "code", "scope": "openid",
                  "redirect_uri": "http://127.0.0.1:8004/auth/callback"}
        without_pkce = await client.get(authorize, params=params)
        with_pkce = await client.get(authorize, params=params | {"code_challenge": "x" * 43, "code_challenge_method": "S256"})
        elsewhere = await client.get(authorize, params=params | {"code_challenge": "x" * 43, "code_challenge_method": "S256",
                                                                  "redirect_uri": "http://evil.example/auth/callback"})
        credentials = await client.post(
            f"{realm.issuer}/protocol/openid-connect/token",
            data={"grant_type": "client_credentials", "client_id": realm.portal_client_id, "client_secret": "wrong"},
        )
    assert without_pkce.status_code == 302 and "error=invalid_request" in without_pkce.headers["location"]
    assert with_pkce.status_code == 200 and "kc-form-login" in with_pkce.text  # the provider's login page
    assert elsewhere.status_code == 400
    assert credentials.status_code == 401


def test_the_committed_demo_realms_are_the_templates_output():
    for department in ("dwp", "hmrc"):
        committed = json.loads((template.REALMS_DIR / f"{department}.json").read_text())
        assert committed == template.realm(department)


# keycloak.sh fails clearly, as the other deploy scripts do: one line naming what it tried, the port
# or the log to read, and nothing left running.
ROOT = Path(__file__).resolve().parents[2]


def _script(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "INNOVATION_RUN_DIR": str(tmp_path / "run"), **env}
    return subprocess.run(["bash", str(ROOT / "deploy" / "keycloak.sh"), command], env=environment,
                          capture_output=True, text=True, timeout=240)


def _keycloaks_under(path: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "kc.sh" in line and str(path) in line]


def test_keycloak_unreachable_on_maven_central_stops_with_one_clear_line(tmp_path):
    settings = tmp_path / "settings.xml"
    settings.write_text(f"""<settings><localRepository>{tmp_path / "m2"}</localRepository>
      <mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/maven2</url></mirror></mirrors>
    </settings>""")
    result = _script("fetch", tmp_path, INNOVATION_CACHE_DIR=str(tmp_path / "cache"), KEYCLOAK_MAVEN_SETTINGS=str(settings))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: could not fetch org.keycloak:keycloak-quarkus-dist:")
    assert "Maven Central" in last and "keycloak-fetch.log" in last
    assert not list((tmp_path / "cache").glob("keycloak*"))  # nothing half-fetched is kept


def test_keycloak_refuses_a_port_in_use_naming_it(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _script("start", tmp_path, KEYCLOAK_PORT=str(port))
    assert result.returncode != 0
    assert f"port {port} for Keycloak is already in use" in result.stderr
    assert not _keycloaks_under(tmp_path)


def test_a_keycloak_that_dies_on_start_names_its_log_and_leaves_nothing_running(tmp_path):
    result = _script("start", tmp_path, KEYCLOAK_PORT=str(free_port()), KEYCLOAK_HEAP="not-a-size")
    assert result.returncode != 0
    assert "exited during start-up" in result.stderr and str(tmp_path / "run" / "logs" / "keycloak.log") in result.stderr
    assert not _keycloaks_under(tmp_path)
    assert not (tmp_path / "run" / "pids" / "keycloak.pid").exists()
