"""Calls of the sales SQL functions (database/analytics/functions), each answering JSON."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.sales.schemas import EventsQuery, StatsQuery, TaskQuery


async def call(session: AsyncSession, function: str, *args: object) -> Any:
    """``analytics.<function>(args...)``, its jsonb answer decoded."""
    params = {f"a{n}": value for n, value in enumerate(args)}
    marks = ", ".join(f":{name}" for name in params)
    answer = await session.scalar(text(f"SELECT analytics.{function}({marks})"), params)
    return json.loads(answer) if isinstance(answer, str) else answer


async def task_page(
    session: AsyncSession, function: str, tenant_id: uuid.UUID, query: TaskQuery
) -> Any:
    """One page of a task list: every task function takes the GA seed's parameters."""
    return await call(
        session,
        function,
        tenant_id,
        query.page,
        query.limit,
        query.query,
        query.location_id,
        query.start_date,
        query.end_date,
    )


async def dashboard(session: AsyncSession, tenant_id: uuid.UUID, query: StatsQuery) -> Any:
    return await call(
        session,
        "dashboard",
        tenant_id,
        query.location_id,
        query.start_date,
        query.end_date,
        query.granularity,
    )


async def event_timeline(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: EventsQuery,
    *,
    session_id: str | None = None,
    user_id: str | None = None,
) -> Any:
    """A session's or a customer's events (``analytics.event_timeline``)."""
    return await call(
        session,
        "event_timeline",
        tenant_id,
        session_id,
        user_id,
        query.page,
        query.limit,
        query.order == "oldest",
        query.start_date,
        query.end_date,
    )
