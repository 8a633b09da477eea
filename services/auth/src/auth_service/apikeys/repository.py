"""SQL of API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import ApiKey


async def insert(session: AsyncSession, key: ApiKey) -> ApiKey:
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key


async def list_for_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, include_revoked: bool
) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list((await session.execute(query.order_by(ApiKey.created_at))).scalars())


async def revoke(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    query = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def live_by_hash(session: AsyncSession, secret_hash: str) -> ApiKey | None:
    """A usable key: not revoked, not expired. Marks it used (at most once a minute)."""
    query = select(ApiKey).where(
        ApiKey.secret_hash == secret_hash,
        ApiKey.revoked_at.is_(None),
        (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > func.now()),
    )
    key = (await session.execute(query)).scalar_one_or_none()
    recently = datetime.now(UTC) - timedelta(minutes=1)
    if key is not None and (key.last_used_at is None or key.last_used_at < recently):
        await session.execute(
            text(
                "UPDATE auth.api_key SET last_used_at = now() WHERE id = :id AND"
                " (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
            ),
            {"id": key.id},
        )
    return key
