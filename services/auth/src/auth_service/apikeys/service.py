"""API keys of tenant machines: created with a secret shown once, hashed at rest, revocable."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_service.apikeys import repository
from auth_service.apikeys.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, IntrospectOut
from auth_service.audit import repository as audit
from auth_service.models import ApiKey
from common.crypto import token_hash
from common.errors import NotFound
from common.security import API_KEY_PREFIX, Principal


def _new_key() -> tuple[str, str]:
    """(prefix, full key): ``mk_<12 hex>_<secret>``; the prefix names it in lists and logs (48 bits,
    so a collision with the unique index is negligible)."""
    prefix = f"{API_KEY_PREFIX}{secrets.token_hex(6)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


async def create(session: AsyncSession, caller: Principal, body: ApiKeyIn) -> ApiKeyCreated:
    tenant_id = caller.require_tenant()
    prefix, secret = _new_key()
    key = await repository.insert(
        session,
        ApiKey(
            tenant_id=tenant_id,
            name=body.name,
            kind=body.kind,
            prefix=prefix,
            secret_hash=token_hash(secret),
            scopes=list(body.scopes),
            created_by=caller.user_id,
            expires_at=body.expires_at,
        ),
    )
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"{caller.kind}:{caller.subject}",
        action="api_key.created",
        target=prefix,
        details={"name": body.name, "kind": body.kind, "scopes": list(body.scopes)},
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), api_key=secret)


async def list_keys(
    session: AsyncSession, caller: Principal, include_revoked: bool
) -> list[ApiKeyOut]:
    keys = await repository.list_for_tenant(session, caller.require_tenant(), include_revoked)
    return [ApiKeyOut.model_validate(key) for key in keys]


async def revoke(session: AsyncSession, caller: Principal, key_id: uuid.UUID) -> None:
    tenant_id = caller.require_tenant()
    key = await repository.revoke(session, tenant_id, key_id)
    if key is None:
        raise NotFound("No such live API key in this tenant.")
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"{caller.kind}:{caller.subject}",
        action="api_key.revoked",
        target=key.prefix,
    )


async def introspect(session: AsyncSession, secret: str) -> IntrospectOut:
    if not secret.startswith(API_KEY_PREFIX):
        return IntrospectOut(active=False)
    key = await repository.live_by_hash(session, token_hash(secret))
    if key is None:
        return IntrospectOut(active=False)
    return IntrospectOut(
        active=True, key_id=key.id, tenant_id=key.tenant_id, kind=key.kind, scopes=list(key.scopes)
    )


async def machine_principal(session: AsyncSession, secret: str) -> Principal | None:
    """The tenant machine an API key stands for, or None when it is not live."""
    found = await introspect(session, secret)
    if not found.active:
        return None
    return Principal(
        kind="machine",
        subject=f"apikey:{found.key_id}",
        tenant_id=found.tenant_id,
        scopes=frozenset(found.scopes),
        claims={"key_kind": found.kind},
    )


class LocalApiKeyResolver:
    """Auth's own view of API keys (straight from its table, no cache)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def resolve(self, secret: str) -> Principal | None:
        async with self._sessionmaker() as session, session.begin():
            return await machine_principal(session, secret)
