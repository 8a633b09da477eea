"""SQL of the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import AuditEvent


async def record(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            target=target,
            details=details or {},
            ip=ip,
        )
    )
    await session.flush()


async def page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    before_id: int | None,
    limit: int,
    action: str | None,
) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action:
        query = query.where(AuditEvent.action == action)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
