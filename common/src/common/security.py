"""Verifying callers: Meridian JWTs (JWKS cached locally) and API keys (asked of auth, cached).

Every service resolves the caller into a :class:`Principal` and declares what it needs with the
dependencies at the bottom (``CurrentUser``, ``TenantRole("admin")``, ``Player``, ``ApiKey``,
``Service``). No network call is made per request: JWKS is fetched once and refetched only for a
``kid`` it does not know; an API key's answer is cached for ``api_key_cache_seconds``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, Request
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from loguru import logger

from common.config import ServiceSettings
from common.context import tenant_id_var
from common.errors import BadRequest, Forbidden, MeridianError, Unauthorized

ALGORITHMS = ["ES256"]
API_KEY_PREFIX = "mk_"
ROLE_RANK = {"viewer": 1, "analyst": 2, "admin": 3, "owner": 4}
Kind = Literal["user", "player", "machine", "service"]


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``tenant_id`` is None only for service callers."""

    kind: Kind
    subject: str
    tenant_id: uuid.UUID | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def user_id(self) -> uuid.UUID:
        return uuid.UUID(self.subject)

    @property
    def service_name(self) -> str | None:
        """For a Meridian service caller, its client id (auth signs ``service:<client_id>``)."""
        return self.subject.removeprefix("service:") if self.kind == "service" else None

    @property
    def label(self) -> str:
        """``<kind>:<subject>``: who did something, as records keep it."""
        return f"{self.kind}:{self.subject}"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK.get(self.role or "", 0) >= ROLE_RANK[minimum]

    def require_tenant(self) -> uuid.UUID:
        if self.tenant_id is None:
            raise Forbidden("This caller is not acting for a tenant.")
        return self.tenant_id


class KeySource(Protocol):
    async def key_set(self, kid: str) -> KeySet | None:
        """A key set holding ``kid``, or None when no such key is known."""


class ApiKeyResolver(Protocol):
    async def resolve(self, secret: str) -> Principal | None:
        """The machine principal of a valid API key, or None."""


class JwksKeySource:
    """Fetches auth's JWKS, caches it, refetches for an unknown kid (at most every 10 s).

    While auth cannot be reached, the keys already known keep working (retried every 30 s), so
    an auth outage does not stop every other service from accepting the tokens it issued.
    """

    def __init__(
        self, fetch: Callable[[], Awaitable[dict[str, Any]]], ttl_seconds: int = 300
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key_set(self, kid: str) -> KeySet | None:
        if self._needs_refresh(kid):
            async with self._lock:
                if self._needs_refresh(kid):
                    await self._refresh()
        return self._keys if kid in self._kids else None

    def _needs_refresh(self, kid: str) -> bool:
        age = time.monotonic() - self._fetched_at
        if self._keys is None or age > self._ttl:
            return True
        return kid not in self._kids and age > 10

    async def _refresh(self) -> None:
        try:
            document = await self._fetch()
        except MeridianError:
            if self._keys is None:
                raise
            logger.warning("JWKS refetch failed; keeping the {} known keys", len(self._kids))
            self._fetched_at = time.monotonic() - max(self._ttl - 30, 0)
            return
        self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        self._kids = {key.get("kid") for key in document.get("keys", [])}
        self._fetched_at = time.monotonic()


class TokenVerifier:
    """Verifies Meridian access tokens and resolves API keys into principals."""

    def __init__(
        self, settings: ServiceSettings, keys: KeySource, api_keys: ApiKeyResolver | None = None
    ) -> None:
        self.keys = keys
        self.api_keys = api_keys
        self._claims = jwt.JWTClaimsRegistry(
            leeway=5,
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            iss={"essential": True, "value": settings.jwt_issuer},
            aud={"essential": True, "value": settings.jwt_audience},
        )

    async def verify(self, token: str) -> Principal:
        if token.startswith(API_KEY_PREFIX):
            return await self._api_key(token)
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError) as exc:
            raise Unauthorized("The token is malformed.") from exc
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS or not isinstance(kid, str):
            raise Unauthorized("The token is not signed with an accepted algorithm and key.")
        keys = await self.keys.key_set(kid)
        if keys is None:
            raise Unauthorized("The token is signed with an unknown key.")
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            self._claims.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise Unauthorized("The token has expired.", type_slug="token-expired") from exc
        except (JoseError, ValueError) as exc:
            raise Unauthorized("The token is invalid.") from exc
        return principal_from_claims(decoded.claims)

    async def _api_key(self, secret: str) -> Principal:
        if self.api_keys is None:
            raise Unauthorized("API keys are not accepted here.")
        principal = await self.api_keys.resolve(secret)
        if principal is None:
            raise Unauthorized("The API key is unknown or revoked.")
        return principal


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    kind = claims.get("typ")
    if kind not in ("user", "player", "machine", "service"):
        raise Unauthorized("The token is of an unknown kind.")
    tid = claims.get("tid")
    try:
        tenant_id = uuid.UUID(tid) if tid else None
    except ValueError as exc:
        raise Unauthorized("The token names a malformed tenant.") from exc
    return Principal(
        kind=kind,
        subject=str(claims["sub"]),
        tenant_id=tenant_id,
        role=claims.get("role"),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        claims=dict(claims),
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def get_principal(request: Request) -> Principal:
    """The verified caller; ``X-Tenant-Id``, when sent, must name the caller's tenant."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Send a bearer token in the Authorization header.")
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(token)
    _check_tenant_header(request, principal)
    if principal.tenant_id is not None:
        tenant_id_var.set(str(principal.tenant_id))
    return principal


def _check_tenant_header(request: Request, principal: Principal) -> None:
    header = request.headers.get("x-tenant-id")
    if header is None:
        return
    try:
        asked = uuid.UUID(header)
    except ValueError as exc:
        raise BadRequest("X-Tenant-Id is not a tenant id (a UUID).") from exc
    if asked != principal.tenant_id:
        raise Forbidden(
            "X-Tenant-Id does not match the token's tenant; switch tenant to get a token for it.",
            type_slug="tenant-mismatch",
        )


AnyCaller = Annotated[Principal, Depends(get_principal)]


def _require_kind(*kinds: Kind) -> Callable[[Principal], Awaitable[Principal]]:
    # async: FastAPI would run a plain def dependency in a worker thread, a hop per request.
    async def dependency(principal: AnyCaller) -> Principal:
        if principal.kind not in kinds:
            raise Forbidden(f"This endpoint is for {' or '.join(kinds)} callers.")
        return principal

    return dependency


def TenantRole(minimum: str) -> Any:
    """A signed-in tenant user holding at least ``minimum`` (viewer < analyst < admin < owner)."""
    if minimum not in ROLE_RANK:
        raise ValueError(f"unknown role {minimum}")

    async def dependency(
        principal: Annotated[Principal, Depends(_require_kind("user"))],
    ) -> Principal:
        if not principal.has_role(minimum):
            raise Forbidden(f"This needs the {minimum} role or higher in the tenant.")
        return principal

    return Depends(dependency)


def ServiceScope(scope: str) -> Any:
    """A Meridian service caller (client credentials) granted ``scope``."""

    async def dependency(
        principal: Annotated[Principal, Depends(_require_kind("service"))],
    ) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"This needs the {scope} scope.")
        return principal

    return Depends(dependency)


def MachineScope(scope: str) -> Any:
    """A tenant machine (API key or a token exchanged for one) granted ``scope``."""

    async def dependency(
        principal: Annotated[Principal, Depends(_require_kind("machine"))],
    ) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"This API key lacks the {scope} scope.")
        return principal

    return Depends(dependency)


CurrentUser = Annotated[Principal, Depends(_require_kind("user"))]
Player = Annotated[Principal, Depends(_require_kind("player"))]
ApiKey = Annotated[Principal, Depends(_require_kind("machine"))]
Service = Annotated[Principal, Depends(_require_kind("service"))]
