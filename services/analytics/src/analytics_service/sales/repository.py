"""Calls of the sales SQL functions (database/analytics/functions), each answering JSON."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.sales.schemas import TaskQuery


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
