"""Sales tasks and dashboards for the caller's tenant (the SQL functions hold the rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.sales import repository
from analytics_service.sales.schemas import Dates, EventsQuery, StatsQuery, TaskQuery
from common.security import Principal


async def tasks(session: AsyncSession, caller: Principal, function: str, query: TaskQuery) -> Any:
    return await repository.task_page(session, function, caller.require_tenant(), query)


async def dashboard(session: AsyncSession, caller: Principal, query: StatsQuery) -> Any:
    return await repository.dashboard(session, caller.require_tenant(), query)


async def locations(session: AsyncSession, caller: Principal, query: Dates) -> Any:
    tenant_id = caller.require_tenant()
    return await repository.call(
        session, "locations_with_activity", tenant_id, query.start_date, query.end_date
    )


async def session_events(
    session: AsyncSession, caller: Principal, session_id: str, query: EventsQuery
) -> Any:
    tenant_id = caller.require_tenant()
    return await repository.event_timeline(session, tenant_id, query, session_id=session_id)


async def user_events(
    session: AsyncSession, caller: Principal, user_id: str, query: EventsQuery
) -> Any:
    tenant_id = caller.require_tenant()
    return await repository.event_timeline(session, tenant_id, query, user_id=user_id)
