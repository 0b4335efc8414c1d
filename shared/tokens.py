"""Access tokens of a department's OpenID provider, verified as a bearer credential beside API keys.

A token is a JWS-signed JWT. It is accepted only when it is signed with an asymmetric algorithm of
ALGORITHMS by a key the provider publishes (discovery `<issuer>/.well-known/openid-configuration`,
then its `jwks_uri`), its `iss` is the configured issuer, its `aud` holds the configured audience,
it has a subject, it is within `exp`/`nbf` give or take LEEWAY_SECONDS (clock skew between the
provider and us), and its `department` claim is the service's department.

The provider's keys are cached; a token naming an unknown `kid` (a rotated key) fetches them again,
at most once per `min_refresh_seconds`, so a flood of forged kids cannot hammer the provider. When
the keys cannot be had (the provider unreachable), no token gets in: ProviderUnavailable, a 503.
"""

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key, KeySet

ALGORITHMS = ("RS256", "PS256", "ES256")  # never `none`, never HS* (a shared secret the provider would hold too)
LEEWAY_SECONDS = 30
RANK = ("admin", "reviewer", "contributor", "viewer")  # the highest role a token maps to wins
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class TokenRefused(Exception):
    """The token is not accepted; the message says why (it names no secret)."""


class ProviderUnavailable(Exception):
    """The provider's keys could not be fetched: the token can be neither accepted nor refused."""


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audience: str
    department: str
    roles_claim: str  # a dotted path into the claims, e.g. realm_access.roles
    role_map: Mapping[str, str]  # the provider's role or group name -> one of RANK
    leeway: int = LEEWAY_SECONDS


@dataclass(frozen=True)
class Identity:
    subject: str
    role: str | None  # None: the token maps to no role of ours
    email: str | None = None


def looks_like_jwt(credential: str) -> bool:
    return _JWT.match(credential) is not None


def parse_role_map(text: str) -> dict[str, str]:
    """`provider-name=role,...` (the name may hold `/`, as Keycloak's group paths do)."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, role = pair.rpartition("=")
        if not sep or not name.strip() or role.strip() not in RANK:
            raise ValueError(f"{pair!r}: each entry reads <provider role or group>=<{'|'.join(RANK)}>")
        mapping[name.strip()] = role.strip()
    return mapping


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def role_of(claims: Mapping[str, Any], policy: TokenPolicy) -> str | None:
    names = claim_at(claims, policy.roles_claim)
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        return None
    ours = {policy.role_map[name] for name in names if isinstance(name, str) and name in policy.role_map}
    return next((role for role in RANK if role in ours), None)


def check_claims(claims: dict[str, Any], policy: TokenPolicy, now: int) -> Identity:
    """The identity the verified claims carry, or TokenRefused."""
    registry = jwt.JWTClaimsRegistry(
        now=now, leeway=policy.leeway,
        iss={"essential": True, "value": policy.issuer},
        aud={"essential": True, "value": policy.audience},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise TokenRefused("the token has expired") from None
    except MissingClaimError as error:
        raise TokenRefused(f"the token lacks a required claim: {error.claim}") from None
    except ClaimError as error:
        raise TokenRefused(f"the token's {error.claim} claim is not accepted ({error.description})") from None
    if claims.get("department") != policy.department:
        raise TokenRefused(f"the token is not for department {policy.department}")
    email = claims.get("email")
    return Identity(claims["sub"], role_of(claims, policy), email if isinstance(email, str) else None)


class ProviderKeys:
    """The provider's published signing keys by kid, fetched on first need and on an unknown kid."""

    def __init__(self, issuer: str, *, min_refresh_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.transport = transport
        self.min_refresh_seconds, self.clock, self.timeout = min_refresh_seconds, clock, timeout
        self._keys: dict[str, Key] = {}
        self._jwks_uri: str | None = None
        self._tried_at: float | None = None
        self._failed = False
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many times the keys were fetched (seen by tests)

    async def key_for(self, kid: str) -> Key | None:
        """The key of `kid`; None when the provider does not publish it; ProviderUnavailable when
        the keys could not be fetched lately."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and self._may_refresh():
                await self._refresh()
        if kid in self._keys:
            return self._keys[kid]
        if self._failed:
            raise ProviderUnavailable("the identity provider's keys cannot be fetched")
        return None

    def _may_refresh(self) -> bool:
        return self._tried_at is None or self.clock() - self._tried_at >= self.min_refresh_seconds

    async def _refresh(self) -> None:
        self._tried_at, self.fetches = self.clock(), self.fetches + 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                if self._jwks_uri is None:
                    discovery = await self._json(client, f"{self.issuer}/.well-known/openid-configuration")
                    if discovery.get("issuer", "").rstrip("/") != self.issuer or not discovery.get("jwks_uri"):
                        raise ValueError("the discovery document names another issuer or no jwks_uri")
                    self._jwks_uri = discovery["jwks_uri"]
                published = await self._json(client, self._jwks_uri)
        except (httpx.HTTPError, ValueError):
            self._failed = True
            return
        self._keys, self._failed = signing_keys(published), False

    @staticmethod
    async def _json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        response = await client.get(url)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError(f"{url} answered no JSON object")
        return body


def signing_keys(published: Mapping[str, Any]) -> dict[str, Key]:
    """The signing keys of a JWKS by kid; encryption keys and keys this library cannot read are left out."""
    keys = {}
    for entry in published.get("keys", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = KeySet.import_key_set({"keys": [entry]}).keys[0]
        except (JoseError, ValueError, TypeError):
            continue
    return keys


class TokenVerifier:
    def __init__(self, policy: TokenPolicy, keys: ProviderKeys, now: Callable[[], float] = time.time) -> None:
        self.policy, self.keys, self.now = policy, keys, now

    async def verify(self, token: str) -> Identity:
        """The identity of a valid token; TokenRefused, or ProviderUnavailable."""
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise TokenRefused("the token is malformed") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenRefused(f"the token's signing algorithm is not one of {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenRefused("the token names no signing key (kid)")
        key = await self.keys.key_for(kid)
        if key is None:
            raise TokenRefused("the token is signed by a key the provider does not publish")
        try:
            claims = jwt.decode(token, key, algorithms=list(ALGORITHMS)).claims
        except BadSignatureError:
            raise TokenRefused("the token's signature does not verify") from None
        except (JoseError, ValueError):
            raise TokenRefused("the token cannot be verified with the provider's key") from None
        return check_claims(claims, self.policy, int(self.now()))
