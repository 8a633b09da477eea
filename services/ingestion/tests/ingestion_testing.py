"""Helpers of the ingestion tests (importable by name: the tests folder is on pytest's path).

Callers are made the way auth makes them, without auth: tokens signed with a test key whose public
half the app fetches as its JWKS, and API keys answered by a fixed table. Auth is the outside edge
here; its real behaviour is tested in its own suite.
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

from common.security import JwksKeySource, Principal, TokenVerifier
from ingestion_service.config import IngestionSettings

SIGNING_KEY = ECKey.generate_key(
    "P-256", parameters={"kid": "ingestion-test", "alg": "ES256", "use": "sig"}
)


def make_settings(database_url: str, **overrides: object) -> IngestionSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "log_to_files": False,
        # The in-flight test holds a key for this long; keep it short.
        "idempotency_wait_ms": 200,
        **overrides,
    }
    return IngestionSettings(**values)


def jwks_app() -> Starlette:
    """Auth's JWKS endpoint, publishing the public half of the test signing key (for ingestion
    run as a process of its own)."""

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse({"keys": [SIGNING_KEY.as_dict(private=False)]})

    return Starlette(routes=[Route("/.well-known/jwks.json", jwks)])


def process_env(settings: IngestionSettings, port: int, jwks_url: str) -> dict[str, str]:
    """The environment of ingestion run as a process on the test database, verifying tokens
    with the JWKS at ``jwks_url``."""
    return {
        "INGESTION_DATABASE_URL": settings.database_url or "",
        "INGESTION_PORT": str(port),
        "INGESTION_ENVIRONMENT": "test",
        "INGESTION_LOG_TO_FILES": "false",
        "INGESTION_AUTH_URL": jwks_url,
        # What the test tokens are signed for, whatever a developer's .env says.
        "INGESTION_JWT_ISSUER": settings.jwt_issuer,
        "INGESTION_JWT_AUDIENCE": settings.jwt_audience,
    }


class FixedApiKeys:
    """Auth's API key introspection, answered from a table the test fills."""

    def __init__(self) -> None:
        self.keys: dict[str, Principal] = {}

    async def resolve(self, secret: str) -> Principal | None:
        return self.keys.get(secret)


def auth_free_verifier(settings: IngestionSettings, api_keys: FixedApiKeys) -> TokenVerifier:
    async def fetch_jwks() -> dict[str, Any]:
        return {"keys": [SIGNING_KEY.as_dict(private=False)]}

    return TokenVerifier(settings, JwksKeySource(fetch_jwks), api_keys)


@dataclass(frozen=True)
class Caller:
    tenant_id: uuid.UUID
    subject: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def with_key(self, key: str) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key}


@dataclass
class Callers:
    """Makes every kind of caller with the claims auth gives it."""

    settings: IngestionSettings
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
        return jwt.encode({"alg": "ES256", "kid": "ingestion-test"}, body, SIGNING_KEY)

    def player(self, tenant_id: uuid.UUID, uid: str = "player_001") -> Caller:
        player_id = str(uuid.uuid4())
        claims = {"sub": player_id, "tid": str(tenant_id), "uid": uid, "typ": "player"}
        return Caller(tenant_id, player_id, self.sign({**claims, "scope": "player"}))

    def user(self, tenant_id: uuid.UUID, role: str = "viewer") -> Caller:
        user_id = str(uuid.uuid4())
        claims = {"sub": user_id, "tid": str(tenant_id), "role": role, "typ": "user"}
        return Caller(tenant_id, user_id, self.sign(claims))

    def machine(self, tenant_id: uuid.UUID, *scopes: str, key_id: str | None = None) -> Caller:
        """A tenant machine with a token exchanged for its API key."""
        subject = f"apikey:{key_id or uuid.uuid4()}"
        claims = {
            "sub": subject,
            "tid": str(tenant_id),
            "typ": "machine",
            "scope": " ".join(scopes),
        }
        return Caller(tenant_id, subject, self.sign(claims))

    def api_key(self, tenant_id: uuid.UUID, *scopes: str, key_id: str | None = None) -> Caller:
        """A tenant machine sending its API key itself."""
        subject = f"apikey:{key_id or uuid.uuid4()}"
        secret = f"mk_test_{uuid.uuid4().hex}"
        self.api_keys.keys[secret] = Principal(
            kind="machine", subject=subject, tenant_id=tenant_id, scopes=frozenset(scopes)
        )
        return Caller(tenant_id, subject, secret)

    def service(self, name: str = "analytics") -> Caller:
        claims = {"sub": f"service:{name}", "typ": "service", "scope": "api-keys:introspect"}
        return Caller(uuid.UUID(int=0), name, self.sign(claims))
