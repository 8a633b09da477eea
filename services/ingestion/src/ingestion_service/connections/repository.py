"""Reads and writes of ga4_connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.models import GA4Connection, PulledDay


async def add(session: AsyncSession, tenant_id: uuid.UUID, **values: Any) -> GA4Connection:
    connection = GA4Connection(tenant_id=tenant_id, **values)
    session.add(connection)
    await session.flush()
    await session.refresh(connection)
    return connection


async def get(
    session: AsyncSession, tenant_id: uuid.UUID, connection_id: uuid.UUID, *, lock: bool = False
) -> GA4Connection | None:
    query = select(GA4Connection).where(
        GA4Connection.tenant_id == tenant_id, GA4Connection.id == connection_id
    )
    found: GA4Connection | None = await session.scalar(query.with_for_update() if lock else query)
    return found


async def list_for(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ids: Sequence[uuid.UUID] | None = None,
    *,
    share: bool = False,
) -> list[GA4Connection]:
    """``share``: keep them from being removed until the transaction ends (a job starting)."""
    query = select(GA4Connection).where(GA4Connection.tenant_id == tenant_id)
    if ids is not None:
        query = query.where(GA4Connection.id.in_(ids))
    query = query.order_by(GA4Connection.created_at, GA4Connection.id)
    if share:
        query = query.with_for_update(read=True)
    return list(await session.scalars(query))


async def change(
    session: AsyncSession, tenant_id: uuid.UUID, connection_id: uuid.UUID, **values: Any
) -> None:
    await session.execute(
        update(GA4Connection)
        .where(GA4Connection.tenant_id == tenant_id, GA4Connection.id == connection_id)
        .values(**values, updated_at=func.now())
    )


async def mark_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, status: str, error: str | None
) -> None:
    """The grant is the tenant's: its state holds for every connection that is not disabled."""
    await session.execute(
        update(GA4Connection)
        .where(GA4Connection.tenant_id == tenant_id, GA4Connection.status != "disabled")
        .values(status=status, last_error=error, updated_at=func.now())
    )


async def remove(session: AsyncSession, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> None:
    await session.execute(
        delete(PulledDay).where(
            PulledDay.tenant_id == tenant_id, PulledDay.connection_id == connection_id
        )
    )
    await session.execute(
        delete(GA4Connection).where(
            GA4Connection.tenant_id == tenant_id, GA4Connection.id == connection_id
        )
    )
