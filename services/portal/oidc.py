"""The department's OpenID provider, as the portal's client: discovery from the issuer, the authorization
code flow with PKCE (S256) through authlib, the ID token checked (signature against the provider's published
keys, issuer, audience = our client id, expiry, nonce), refresh, and RP-initiated logout.

authlib makes the protocol's messages (the authorization URL, the PKCE challenge, the token requests); the
project's httpx sends them (authlib's own httpx client now wants a second HTTP library, httpx2).

The person's role is read from their access token exactly as the departmental APIs read it
(shared.tokens: audience, department, roles claim and role map), so the portal and the APIs agree."""

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import JoseError

from services.portal.config import PortalSettings
from shared.tokens import ALGORITHMS, Identity, ProviderKeys, ProviderUnavailable, TokenRefused, TokenVerifier


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message says why (and names no secret)."""


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    nonce: str
    code_verifier: str


class Provider:
    def __init__(self, settings: PortalSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.callback = f"{settings.public_url}/auth/callback"
        self.timeout = timeout
        self.keys = ProviderKeys(self.issuer, timeout=timeout)
        self.access_tokens = TokenVerifier(settings.token_policy(), self.keys)
        self._metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(f"{self.issuer}/.well-known/openid-configuration")
                    response.raise_for_status()
                    found = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise ProviderUnavailable(f"the identity provider's discovery document: {error}") from None
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise ProviderUnavailable("the discovery document names another issuer")
            self._metadata = found
        return self._metadata

    async def authorization(self) -> Authorization:
        endpoint = (await self.metadata())["authorization_endpoint"]
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        url = prepare_grant_uri(endpoint, self.settings.oidc_client_id, "code", redirect_uri=self.callback,
                                scope=self.settings.oidc_scopes, state=state, nonce=nonce,
                                code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
        return Authorization(url, state, nonce, verifier)

    async def _token_request(self, body: str) -> httpx.Response:
        """A POST to the token endpoint, the client authenticated with its secret (client_secret_basic)."""
        endpoint = (await self.metadata())["token_endpoint"]
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await client.post(
                endpoint, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=(self.settings.oidc_client_id, self.settings.oidc_client_secret.get_secret_value()))

    async def exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        """The token response for an authorization code."""
        body = prepare_token_request("authorization_code", code=code, redirect_uri=self.callback,
                                     code_verifier=code_verifier)
        try:
            response = await self._token_request(body)
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"exchanging the code: {error}") from None
        if response.status_code != 200:
            raise SignInFailed(f"the provider did not exchange the code ({response.status_code})")
        return response.json()

    async def refresh(self, refresh_token: str) -> dict[str, Any] | None:
        """New tokens, or None when the provider no longer honours the refresh token."""
        body = prepare_token_request("refresh_token", refresh_token=refresh_token)
        try:
            response = await self._token_request(body)
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"refreshing the tokens: {error}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"refreshing the tokens: the provider answered {response.status_code}")
        return response.json() if response.status_code == 200 else None

    async def id_token_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(id_token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise SignInFailed("the ID token is malformed") from None
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise SignInFailed("the ID token is not signed with an accepted algorithm and key")
        key = await self.keys.key_for(header["kid"])
        if key is None:
            raise SignInFailed("the ID token is signed by a key the provider does not publish")
        try:
            claims = jwt.decode(id_token, key, algorithms=list(ALGORITHMS)).claims
            jwt.JWTClaimsRegistry(
                leeway=self.settings.oidc_leeway_seconds,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.settings.oidc_client_id},
                sub={"essential": True}, exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as error:
            raise SignInFailed(f"the ID token is not accepted: {error}") from None
        return claims

    async def identity(self, access_token: str) -> Identity:
        try:
            return await self.access_tokens.verify(access_token)
        except TokenRefused as error:
            raise SignInFailed(f"the access token is not accepted: {error}") from None

    async def end_session_url(self, id_token: str | None, after: str) -> str | None:
        """Where to send the browser so that the provider's session ends too (None: it offers no way)."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": after, "client_id": self.settings.oidc_client_id}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(query)}"
