"""Helpers of the analytics tests (importable by name: the tests folder is on pytest's path).

Callers are made the way auth makes them, without auth (as ingestion's tests do): tokens signed
with a test key whose public half the app fetches as its JWKS. Auth is the outside edge here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from analytics_service.config import AnalyticsSettings
from common.security import JwksKeySource, Principal, TokenVerifier

SIGNING_KEY = ECKey.generate_key(
    "P-256", parameters={"kid": "analytics-test", "alg": "ES256", "use": "sig"}
)


def make_settings(database_url: str, **overrides: object) -> AnalyticsSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "log_to_files": False,
        **overrides,
    }
    return AnalyticsSettings(**values)


def jwks_app() -> Starlette:
    """Auth's JWKS endpoint, publishing the public half of the test signing key (for analytics
    run as a process of its own)."""

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse({"keys": [SIGNING_KEY.as_dict(private=False)]})

    return Starlette(routes=[Route("/.well-known/jwks.json", jwks)])


def process_env(settings: AnalyticsSettings, port: int, jwks_url: str) -> dict[str, str]:
    """The environment of analytics run as a process on the test database, verifying tokens
    with the JWKS at ``jwks_url``."""
    return {
        "ANALYTICS_DATABASE_URL": settings.database_url or "",
        "ANALYTICS_PORT": str(port),
        "ANALYTICS_ENVIRONMENT": "test",
        "ANALYTICS_LOG_TO_FILES": "false",
        "ANALYTICS_AUTH_URL": jwks_url,
        "ANALYTICS_JWT_ISSUER": settings.jwt_issuer,
        "ANALYTICS_JWT_AUDIENCE": settings.jwt_audience,
    }


class FixedApiKeys:
    """Auth's API key introspection, answered from a table the test fills."""

    def __init__(self) -> None:
        self.keys: dict[str, Principal] = {}

    async def resolve(self, secret: str) -> Principal | None:
        return self.keys.get(secret)


def auth_free_verifier(settings: AnalyticsSettings, api_keys: FixedApiKeys) -> TokenVerifier:
    async def fetch_jwks() -> dict[str, Any]:
        return {"keys": [SIGNING_KEY.as_dict(private=False)]}

    return TokenVerifier(settings, JwksKeySource(fetch_jwks), api_keys)


@dataclass(frozen=True)
class Caller:
    subject: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Callers:
    """Makes callers with the claims auth gives them."""

    settings: AnalyticsSettings
    api_keys: FixedApiKeys = field(default_factory=FixedApiKeys)

    def sign(self, claims: dict[str, Any], ttl: int = 600) -> str:
        now = int(time.time())
        body = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode({"alg": "ES256", "kid": "analytics-test"}, body, SIGNING_KEY)

    def service(self, name: str = "ingestion", scopes: str = "facts:write") -> Caller:
        """A service with a client-credentials token (ingestion's scopes by default)."""
        claims = {"sub": f"service:{name}", "typ": "service", "scope": scopes}  # as auth signs
        return Caller(name, self.sign(claims))

    def user(self, tenant_id: uuid.UUID, role: str = "admin") -> Caller:
        user_id = str(uuid.uuid4())
        claims = {"sub": user_id, "tid": str(tenant_id), "role": role, "typ": "user"}
        return Caller(user_id, self.sign(claims))

    def machine(self, tenant_id: uuid.UUID, *scopes: str) -> Caller:
        subject = f"apikey:{uuid.uuid4()}"
        claims = {
            "sub": subject,
            "tid": str(tenant_id),
            "typ": "machine",
            "scope": " ".join(scopes),
        }
        return Caller(subject, self.sign(claims))


def fact(
    kind: str,
    tenant_id: uuid.UUID,
    data: dict[str, Any],
    *,
    occurred_at: str = "2026-11-20T10:00:00Z",
    fact_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A fact as a producer's relay sends it."""
    return {
        "id": str(fact_id or uuid.uuid4()),
        "kind": kind,
        "tenant_id": str(tenant_id),
        "occurred_at": occurred_at,
        "data": data,
    }
