"""How services other than auth verify callers: JWKS and API key introspection over HTTP."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from common.config import ServiceSettings
from common.errors import Unavailable
from common.http import HttpClients
from common.security import JwksKeySource, Principal, TokenVerifier


class HttpApiKeyResolver:
    """Asks auth about an API key once and caches the answer (valid or not) briefly.

    Revocation therefore takes effect within ``api_key_cache_seconds`` on every service.
    """

    def __init__(self, settings: ServiceSettings, http: HttpClients) -> None:
        self._url = f"{settings.auth_url}/internal/api-keys/introspect"
        self._ttl = settings.api_key_cache_seconds
        self._http = http
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(self, secret: str) -> Principal | None:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        response = await self._http.request(
            "POST", self._url, json={"api_key": secret}, auth_as_service=True
        )
        if response.status_code != 200:
            raise Unavailable("auth could not check the API key; try again")
        principal = _machine_principal(response.json())
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic(), principal)
        return principal


def _machine_principal(body: dict[str, Any]) -> Principal | None:
    if not body.get("active"):
        return None
    return Principal(
        kind="machine",
        subject=f"apikey:{body['key_id']}",
        tenant_id=uuid.UUID(body["tenant_id"]),
        scopes=frozenset(body.get("scopes", [])),
        claims=body,
    )


def http_verifier(settings: ServiceSettings, http: HttpClients) -> TokenVerifier:
    async def fetch_jwks() -> dict[str, Any]:
        response = await http.request("GET", f"{settings.auth_url}/.well-known/jwks.json")
        if response.status_code != 200:
            raise Unavailable("auth's JWKS is unavailable; try again")
        document: dict[str, Any] = response.json()
        return document

    keys = JwksKeySource(fetch_jwks, ttl_seconds=settings.jwks_cache_seconds)
    return TokenVerifier(settings, keys, HttpApiKeyResolver(settings, http))
