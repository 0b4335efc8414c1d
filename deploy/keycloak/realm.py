"""The one template of a department's Keycloak realm: `make up` imports its output for the demo
departments (committed under deploy/keycloak/realms/), the tests create realms from it through
the admin REST API.

    python -m deploy.keycloak.realm dwp hmrc                rewrites deploy/keycloak/realms/<dept>.json
    python -m deploy.keycloak.realm --out DIR dept...       writes DIR/<dept>.json
    python -m deploy.keycloak.realm --users dwp hmrc        prints the demo accounts as JSON

Everything here is for development only and published: the passwords, the portal's secret.
"""

import json
import sys
from pathlib import Path

AUDIENCE = "innovation-api"
ROLES = ("contributor", "reviewer", "admin", "viewer")
PORTAL_CLIENT_ID = "portal"
PORTAL_CLIENT_SECRET = "portal-dev-secret"  # development only, published
TESTS_CLIENT_ID = "innovation-tests"
REALMS_DIR = Path(__file__).resolve().parent / "realms"


def demo_users(department: str) -> dict[str, tuple[str, str]]:
    """Role (and "contributor2" and "reviewer2", a second of each: a panel has several reviewers) ->
    (username, password); dev-only, published."""
    people = {role: role for role in ROLES} | {"contributor2": "contributor2", "reviewer2": "reviewer2"}
    return {key: (f"{name}@{department}.example", f"{name}-{department}-demo") for key, name in people.items()}


def _group(role: str) -> str:
    return f"{role}s"


def _token_mappers(department: str) -> list[dict]:
    """What the departmental APIs read from an access token beside iss, sub, email and realm_access.roles."""
    return [
        {"name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
         "config": {"included.custom.audience": AUDIENCE, "access.token.claim": "true", "id.token.claim": "false",
                    "introspection.token.claim": "true"}},
        {"name": "department", "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
         "config": {"claim.name": "department", "claim.value": department, "jsonType.label": "String",
                    "access.token.claim": "true", "id.token.claim": "true", "userinfo.token.claim": "true",
                    "introspection.token.claim": "true"}},
    ]


def realm(department: str, *, access_token_lifespan: int | None = None) -> dict:
    users = demo_users(department)
    representation = {
        "realm": department,
        "displayName": f"{department.upper()} (development)",
        "enabled": True,
        "sslRequired": "none",
        "roles": {"realm": [{"name": role, "description": f"Innovation network {role}"} for role in ROLES]},
        "groups": [{"name": _group(role), "path": f"/{_group(role)}", "realmRoles": [role]} for role in ROLES],
        "users": [
            {"username": username, "email": username, "emailVerified": True, "enabled": True,
             "firstName": key.capitalize(), "lastName": department.upper(),
             "credentials": [{"type": "password", "value": password, "temporary": False}],
             "requiredActions": [],
             "groups": [f"/{_group(key.rstrip('2'))}"]}
            for key, (username, password) in users.items()
        ],
        "clients": [
            {"clientId": PORTAL_CLIENT_ID, "name": "Innovation portal", "enabled": True, "protocol": "openid-connect",
             "publicClient": False, "clientAuthenticatorType": "client-secret", "secret": PORTAL_CLIENT_SECRET,
             "standardFlowEnabled": True, "directAccessGrantsEnabled": False, "implicitFlowEnabled": False,
             "serviceAccountsEnabled": False,
             "redirectUris": ["http://127.0.0.1:*/auth/callback", "http://localhost:*/auth/callback",
                              "http://127.0.0.1/auth/callback"],
             "webOrigins": ["+"],
             "attributes": {"pkce.code.challenge.method": "S256",
                            # a registered loopback URI matches any port
                            "post.logout.redirect.uris": "http://127.0.0.1/signed-out##http://localhost/signed-out"},
             "protocolMappers": _token_mappers(department)},
            {"clientId": TESTS_CLIENT_ID, "name": "Innovation tests (password grant, tests only)", "enabled": True,
             "protocol": "openid-connect", "publicClient": True, "standardFlowEnabled": False,
             "directAccessGrantsEnabled": True, "implicitFlowEnabled": False,
             "protocolMappers": _token_mappers(department)},
        ],
    }
    if access_token_lifespan is not None:
        representation["accessTokenLifespan"] = access_token_lifespan
    return representation


def write(department: str, directory: Path = REALMS_DIR) -> Path:
    path = directory / f"{department}.json"
    path.write_text(json.dumps(realm(department), indent=2) + "\n")
    return path


if __name__ == "__main__":
    out = REALMS_DIR
    args = sys.argv[1:]
    if args[:1] == ["--users"]:
        users = {dept: {key: {"username": name, "password": password} for key, (name, password) in demo_users(dept).items()}
                 for dept in args[1:]}
        print(json.dumps(users, indent=2))
        sys.exit(0)
    if args[:1] == ["--out"]:
        out, args = Path(args[1]), args[2:]
    out.mkdir(parents=True, exist_ok=True)
    for dept in args:
        print(write(dept, out))
