"""Sales tasks and dashboards for the caller's tenant (the SQL functions hold the rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.sales import repository
from analytics_service.sales.schemas import TaskQuery
from common.security import Principal


async def tasks(session: AsyncSession, caller: Principal, function: str, query: TaskQuery) -> Any:
    return await repository.task_page(session, function, caller.require_tenant(), query)
