"""Outside identity providers: endpoints from discovery (OIDC) or settings (plain OAuth 2.0),
the authlib client that speaks to them, and ID token validation."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib 1.9 nudges towards the httpx2 fork; Meridian stays on httpx (the design card's).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from auth_service.config import AuthSettings, OAuthProvider
from common.errors import BadRequest, NotFound, Unauthorized, Upstream

DISCOVERY_TTL = 3600
ID_TOKEN_ALGS = ["RS256", "ES256", "PS256", "EdDSA", "RS384", "RS512", "ES384"]


@dataclass(frozen=True)
class ProviderEndpoints:
    name: str
    config: OAuthProvider
    authorize_url: str
    token_url: str
    issuer: str | None
    jwks_uri: str | None
    userinfo_url: str | None
    revocation_url: str | None


class ProviderDirectory:
    """Configured providers with their endpoints, discovery documents and JWKS cached."""

    def __init__(self, settings: AuthSettings, http: httpx.AsyncClient) -> None:
        self._providers = settings.providers()
        self._http = http
        self._endpoints: dict[str, tuple[float, ProviderEndpoints]] = {}
        self._jwks: dict[str, tuple[float, KeySet]] = {}

    def names(self) -> list[str]:
        return sorted(self._providers)

    async def get(self, name: str) -> ProviderEndpoints:
        config = self._providers.get(name)
        if config is None:
            raise NotFound(f"Sign-in provider {name!r} is not configured.", available=self.names())
        cached = self._endpoints.get(name)
        if cached and time.monotonic() - cached[0] < DISCOVERY_TTL:
            return cached[1]
        doc = await self._fetch_json(config.discovery_url) if config.discovery_url else {}
        endpoints = ProviderEndpoints(
            name=name,
            config=config,
            authorize_url=config.authorize_url or doc.get("authorization_endpoint", ""),
            token_url=config.token_url or doc.get("token_endpoint", ""),
            issuer=doc.get("issuer"),
            jwks_uri=doc.get("jwks_uri"),
            userinfo_url=config.userinfo_url or doc.get("userinfo_endpoint"),
            revocation_url=config.revocation_url or doc.get("revocation_endpoint"),
        )
        if not endpoints.authorize_url or not endpoints.token_url:
            raise Upstream(f"Provider {name!r} has no authorization or token endpoint.")
        self._endpoints[name] = (time.monotonic(), endpoints)
        return endpoints

    def client(
        self, provider: ProviderEndpoints, redirect_uri: str, scopes: list[str]
    ) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.config.client_id,
            client_secret=provider.config.client_secret.get_secret_value(),
            scope=" ".join(scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
        )

    async def validate_id_token(
        self, provider: ProviderEndpoints, id_token: str, nonce: str
    ) -> dict[str, Any]:
        """Signature (provider JWKS), issuer, audience, expiry and nonce of an ID token."""
        if not provider.jwks_uri or not provider.issuer:
            raise Upstream(f"Provider {provider.name!r} publishes no JWKS or issuer.")
        try:
            keys = await self._jwks_for(provider, refresh=False)
            try:
                decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGS)
            except JoseError:
                keys = await self._jwks_for(provider, refresh=True)  # the provider may have rotated
                decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGS)
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": provider.issuer},
                aud={"essential": True, "value": provider.config.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise Unauthorized(
                "The provider's ID token has expired.", type_slug="id-token-invalid"
            ) from exc
        except (JoseError, ValueError) as exc:
            raise Unauthorized(
                f"The provider's ID token is not valid: {exc}", type_slug="id-token-invalid"
            ) from exc
        return dict(decoded.claims)

    async def userinfo(self, provider: ProviderEndpoints, access_token: str) -> dict[str, Any]:
        if not provider.userinfo_url:
            raise Upstream(f"Provider {provider.name!r} has no userinfo endpoint.")
        return await self._fetch_json(
            provider.userinfo_url, headers={"Authorization": f"Bearer {access_token}"}
        )

    async def _jwks_for(self, provider: ProviderEndpoints, *, refresh: bool) -> KeySet:
        cached = self._jwks.get(provider.name)
        if cached and not refresh and time.monotonic() - cached[0] < DISCOVERY_TTL:
            return cached[1]
        assert provider.jwks_uri
        keys = KeySet.import_key_set(await self._fetch_json(provider.jwks_uri))  # type: ignore[arg-type]
        self._jwks[provider.name] = (time.monotonic(), keys)
        return keys

    async def _fetch_json(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers=headers)
        except httpx.TransportError as exc:
            raise Upstream(f"The provider at {url} is unreachable.") from exc
        if response.status_code != 200:
            raise Upstream(f"The provider answered {response.status_code} at {url}.")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise Upstream(f"The provider sent no JSON at {url}.") from exc
        return body


def provider_error(exc: Exception) -> BadRequest:
    """A refused code exchange (bad, expired or replayed code) as a clear 400."""
    return BadRequest(
        f"The provider refused the authorization code: {exc}",
        type_slug="authorization-code-refused",
    )
