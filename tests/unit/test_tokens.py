"""Access-token verification without a provider: keys made here, served by an in-memory JWKS
endpoint (httpx.MockTransport). Signature and algorithm rules, every claim check, the role mapping,
the key cache (refetch on an unknown kid at most once per interval) and a provider outage.
The integration tests (tests/integration/test_identity.py) do the same against the real Keycloak."""

import base64
import json

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from services.ideas.config import IdeasSettings
from shared.tokens import (
    ProviderKeys,
    ProviderUnavailable,
    TokenPolicy,
    TokenRefused,
    TokenVerifier,
    check_claims,
    looks_like_jwt,
    parse_role_map,
    role_of,
)

ISSUER = "https://id.example/realms/dwp"
NOW = 1_800_000_000
POLICY = TokenPolicy(issuer=ISSUER, audience="innovation-api", department="dwp", roles_claim="realm_access.roles",
                     role_map=parse_role_map("contributor=contributor,reviewer=reviewer,admin=admin,viewer=viewer"))


def claims(**changes) -> dict:
    base = {"iss": ISSUER, "sub": "user-1", "aud": ["innovation-api", "account"], "exp": NOW + 300, "iat": NOW,
            "department": "dwp", "realm_access": {"roles": ["contributor", "offline_access"]}, "email": "a@dwp.example"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refusal(payload: dict, now: int = NOW) -> str:
    with pytest.raises(TokenRefused) as refused:
        check_claims(payload, POLICY, now)
    return str(refused.value)


# --- claims ---------------------------------------------------------------------------------------

def test_valid_claims_give_the_subject_role_and_email():
    identity = check_claims(claims(), POLICY, NOW)
    assert (identity.subject, identity.role, identity.email) == ("user-1", "contributor", "a@dwp.example")
    assert check_claims(claims(aud="innovation-api"), POLICY, NOW).subject == "user-1"  # a single audience string


def test_issuer_audience_department_and_subject_are_required():
    assert "iss" in refusal(claims(iss="https://id.example/realms/hmrc"))
    assert "aud" in refusal(claims(aud=["account"]))
    assert "aud" in refusal(claims(aud="portal"))
    assert "aud" in refusal(claims(aud=None))
    assert "department dwp" in refusal(claims(department="hmrc"))
    assert "department dwp" in refusal(claims(department=["dwp", "hmrc"]))
    assert "department dwp" in refusal(claims(department=None))
    assert "sub" in refusal(claims(sub=None))
    assert "exp" in refusal(claims(exp=None))


def test_expiry_and_not_before_allow_thirty_seconds_of_clock_skew():
    assert check_claims(claims(exp=NOW - 29), POLICY, NOW).subject == "user-1"
    assert "expired" in refusal(claims(exp=NOW - 31))
    assert check_claims(claims(nbf=NOW + 29), POLICY, NOW).subject == "user-1"
    assert "nbf" in refusal(claims(nbf=NOW + 31))


def test_the_highest_mapped_role_wins_and_unmapped_names_give_none():
    assert role_of(claims(realm_access={"roles": ["viewer", "reviewer", "contributor"]}), POLICY) == "reviewer"
    assert role_of(claims(realm_access={"roles": ["admin", "viewer"]}), POLICY) == "admin"
    assert role_of(claims(realm_access={"roles": ["offline_access"]}), POLICY) is None
    assert role_of(claims(realm_access=None), POLICY) is None
    groups = TokenPolicy(ISSUER, "innovation-api", "dwp", "groups",
                         parse_role_map("/dwp/Innovation Reviewers=reviewer, /dwp/Staff=contributor"))
    assert role_of({"groups": ["/dwp/Staff", "/dwp/Innovation Reviewers"]}, groups) == "reviewer"
    assert role_of({"groups": "/dwp/Staff"}, groups) == "contributor"
    assert role_of({"groups": [{"name": "/dwp/Staff"}]}, groups) is None


def test_a_role_map_names_only_our_roles():
    assert parse_role_map("Reviewers=reviewer,a=b=admin") == {"Reviewers": "reviewer", "a=b": "admin"}
    for bad in ("reviewer", "x=superuser", "=admin"):
        with pytest.raises(ValueError):
            parse_role_map(bad)


def test_a_jwt_is_told_from_an_api_key_by_its_shape():
    assert looks_like_jwt("eyJh.eyJz.c2ln") and looks_like_jwt("eyJh.eyJz.")
    assert not looks_like_jwt("ink_0123456789ab_" + "x" * 32)
    assert not looks_like_jwt("a.b") and not looks_like_jwt("a.b.c.d") and not looks_like_jwt("a b.c.d")


# --- signatures, with an in-memory provider ----------------------------------------------------------

class Provider:
    """Discovery and JWKS over httpx.MockTransport; `down` makes every request fail."""

    def __init__(self, *keys):
        self.keys, self.down, self.requests = list(keys), False, 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("provider down", request=request)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"})
        published = [k.as_dict(private=False) for k in self.keys]
        published.append({"kty": "RSA", "kid": "enc-key", "use": "enc", "n": "AQAB", "e": "AQAB"})  # left out
        return httpx.Response(200, json={"keys": published})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})


def sign(key, alg: str = "RS256", payload: dict | None = None, **header) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid, **header}, payload or claims(), key, algorithms=[alg])


def setup(*keys, clock=None):
    provider = Provider(*keys)
    clock = clock or Clock()
    cache = ProviderKeys(ISSUER, clock=clock, transport=httpx.MockTransport(provider.handle))
    return provider, cache, TokenVerifier(POLICY, cache, now=lambda: NOW)


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenRefused) as refusal_:
        await verifier.verify(token)
    return str(refusal_.value)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
async def test_a_token_signed_by_a_published_key_with_an_allowed_algorithm_is_accepted(alg):
    key = ECKey.generate_key("P-256", parameters={"kid": "ec"}) if alg == "ES256" else rsa("r1")
    _, _, verifier = setup(key)
    assert (await verifier.verify(sign(key, alg))).subject == "user-1"


async def test_none_and_hmac_algorithms_are_refused_before_any_key_is_fetched():
    key = rsa("r1")
    provider, _, verifier = setup(key)
    unsigned = f"{b64({'alg': 'none', 'kid': 'r1'})}.{b64(claims())}."
    assert "algorithm" in await refused(verifier, unsigned)
    secret = OctKey.import_key(b"a shared secret that anyone could guess!", parameters={"kid": "r1"})
    assert "algorithm" in await refused(verifier, sign(secret, "HS256"))
    assert provider.requests == 0


async def test_a_changed_payload_or_a_signature_by_another_key_under_the_providers_kid_is_refused():
    key = rsa("r1")
    _, _, verifier = setup(key)
    header, _, signature = sign(key).split(".")
    promoted = f"{header}.{b64(claims(sub='someone-else', realm_access={'roles': ['admin']}))}.{signature}"
    assert "signature" in await refused(verifier, promoted)
    impostor = rsa("r1")  # our own key, the provider's kid
    assert "signature" in await refused(verifier, sign(impostor))
    ec_under_rsa_kid = ECKey.generate_key("P-256", parameters={"kid": "r1"})
    assert "verified" in await refused(verifier, sign(ec_under_rsa_kid, "ES256"))


async def test_malformed_tokens_and_tokens_without_a_kid_are_refused():
    key = rsa("r1")
    _, _, verifier = setup(key)
    assert "malformed" in await refused(verifier, "not.a.token")
    assert "kid" in await refused(verifier, jwt.encode({"alg": "RS256"}, claims(), key))
    assert "claim" in await refused(verifier, sign(key, payload=claims(aud="portal")))


async def test_an_unknown_kid_refetches_the_keys_at_most_once_per_interval():
    clock = Clock()
    old, new = rsa("old"), rsa("new")
    provider, cache, verifier = setup(old, clock=clock)
    assert (await verifier.verify(sign(old))).subject == "user-1"
    assert cache.fetches == 1
    for _ in range(5):  # forged kids: one refetch, then refused from the cache
        assert "does not publish" in await refused(verifier, sign(rsa("forged")))
    assert cache.fetches == 1  # within the interval of the first fetch
    provider.keys.append(new)  # the provider rotates
    clock.now += 31
    assert (await verifier.verify(sign(new))).subject == "user-1"
    assert cache.fetches == 2
    for _ in range(5):
        await refused(verifier, sign(rsa("forged-again")))
    assert cache.fetches == 2
    assert (await verifier.verify(sign(old))).subject == "user-1"  # known keys need no fetch


async def test_an_unreachable_provider_lets_no_token_in_but_cached_keys_still_verify():
    clock = Clock()
    key = rsa("r1")
    provider, cache, verifier = setup(key, clock=clock)
    provider.down = True
    with pytest.raises(ProviderUnavailable):
        await verifier.verify(sign(key))
    with pytest.raises(ProviderUnavailable):  # within the interval: no new attempt, still unavailable
        await verifier.verify(sign(key))
    assert cache.fetches == 1
    provider.down = False
    clock.now += 31
    assert (await verifier.verify(sign(key))).subject == "user-1"
    provider.down = True
    assert (await verifier.verify(sign(key))).subject == "user-1"  # the cached key


async def test_a_discovery_document_naming_another_issuer_is_not_trusted():
    key = rsa("r1")

    def other_issuer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": "https://evil.example", "jwks_uri": "https://evil.example/certs"})
        return httpx.Response(200, json={"keys": [key.as_dict(private=False)]})

    verifier = TokenVerifier(POLICY, ProviderKeys(ISSUER, transport=httpx.MockTransport(other_issuer)), now=lambda: NOW)
    with pytest.raises(ProviderUnavailable):
        await verifier.verify(sign(key))


# --- settings ----------------------------------------------------------------------------------------

def test_settings_give_a_policy_only_with_an_issuer_and_refuse_plain_http_outside_development():
    assert IdeasSettings(department="dwp").token_policy() is None
    policy = IdeasSettings(department="dwp", oidc_issuer=ISSUER, oidc_roles_claim="groups",
                           oidc_role_map="Staff=contributor,Leads=admin").token_policy()
    assert (policy.issuer, policy.audience, policy.department) == (ISSUER, "innovation-api", "dwp")
    assert policy.role_map == {"Staff": "contributor", "Leads": "admin"}
    with pytest.raises(ValueError):
        IdeasSettings(department="dwp", oidc_role_map="Staff=owner")
    assert IdeasSettings(department="dwp", oidc_issuer="http://127.0.0.1:8080/realms/dwp", development_mode=True)
    with pytest.raises(ValueError, match="https"):
        IdeasSettings(department="dwp", oidc_issuer="http://id.example/realms/dwp", development_mode=False,
                      pseudonym_secret="a-secret-of-our-own", database_url="postgresql://u:own-pass@db/x")
