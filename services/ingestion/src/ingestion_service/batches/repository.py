"""SQL of batches: the events themselves go through the events repository (one table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.events.repository import NewEvent, insert_events

__all__ = ["NewEvent", "insert_events", "received_at"]


async def received_at(session: AsyncSession) -> datetime:
    """When the batch was received: the transaction's time, the stored events' received_at."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    return now
