"""SQL of provider grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import ProviderGrant


async def live(
    session: AsyncSession, tenant_id: uuid.UUID, provider: str, *, lock: bool = False
) -> ProviderGrant | None:
    query = select(ProviderGrant).where(
        ProviderGrant.tenant_id == tenant_id,
        ProviderGrant.provider == provider,
        ProviderGrant.status != "revoked",
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def by_id_locked(session: AsyncSession, grant_id: uuid.UUID) -> ProviderGrant | None:
    query = (
        select(ProviderGrant).where(ProviderGrant.id == grant_id).with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_for_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> list[ProviderGrant]:
    query = (
        select(ProviderGrant)
        .where(ProviderGrant.tenant_id == tenant_id, ProviderGrant.status != "revoked")
        .order_by(ProviderGrant.provider)
    )
    return list((await session.execute(query)).scalars())


async def insert(session: AsyncSession, grant: ProviderGrant) -> ProviderGrant:
    session.add(grant)
    await session.flush()
    await session.refresh(grant)
    return grant


async def update_grant(session: AsyncSession, grant_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        update(ProviderGrant).where(ProviderGrant.id == grant_id).values(**values)
    )


async def expiring(session: AsyncSession, before: datetime) -> list[uuid.UUID]:
    query = select(ProviderGrant.id).where(
        ProviderGrant.status == "active",
        (ProviderGrant.access_expires_at.is_(None)) | (ProviderGrant.access_expires_at < before),
    )
    return list((await session.execute(query)).scalars())


def now() -> Any:
    return func.now()
