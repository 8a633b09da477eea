"""GET /analytics/tasks/*, /analytics/stats, /analytics/locations and the event histories: the
GA system's sales tasks and dashboards, for any user of the tenant (viewer or above)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from analytics_service.sales import service
from analytics_service.sales.schemas import PurchaseTask, TaskPage, TaskQuery
from common.db import DbSession
from common.security import Principal, TenantRole

router = APIRouter(prefix="/analytics", tags=["sales"])

Viewer = Annotated[Principal, TenantRole("viewer")]
Tasks = Annotated[TaskQuery, Query()]


@router.get("/tasks/purchases", response_model=TaskPage[PurchaseTask])
async def purchase_tasks(query: Tasks, session: DbSession, caller: Viewer) -> Any:
    """Purchases to follow up, newest first, with their products (query searches the items)."""
    return await service.tasks(session, caller, "purchase_tasks", query)
