"""GET /analytics/tasks/*, /analytics/stats, /analytics/locations and the event histories: the
GA system's sales tasks and dashboards, for any user of the tenant (viewer or above)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from analytics_service.sales import service
from analytics_service.sales.schemas import (
    CartAbandonmentTask,
    Dashboard,
    Dates,
    Event,
    EventsQuery,
    Locations,
    PerformancePage,
    PurchaseTask,
    RepeatVisitTask,
    SearchTask,
    StatsQuery,
    TaskPage,
    TaskQuery,
)
from common.db import DbSession
from common.security import Principal, TenantRole

router = APIRouter(prefix="/analytics", tags=["sales"])

Viewer = Annotated[Principal, TenantRole("viewer")]
Tasks = Annotated[TaskQuery, Query()]
Events = Annotated[EventsQuery, Query()]
Id = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.get("/tasks/purchases", response_model=TaskPage[PurchaseTask])
async def purchase_tasks(query: Tasks, session: DbSession, caller: Viewer) -> Any:
    """Purchases to follow up, newest first, with their products (query searches the items)."""
    return await service.tasks(session, caller, "purchase_tasks", query)


@router.get("/tasks/cart-abandonment", response_model=TaskPage[CartAbandonmentTask])
async def cart_abandonment_tasks(query: Tasks, session: DbSession, caller: Viewer) -> Any:
    """Sessions that added to the cart and bought nothing, latest first (query: the items)."""
    return await service.tasks(session, caller, "cart_abandonment_tasks", query)


@router.get("/tasks/search-analysis", response_model=TaskPage[SearchTask])
async def search_analysis_tasks(query: Tasks, session: DbSession, caller: Viewer) -> Any:
    """Failed search terms and sessions searching more than twice without buying, latest
    first (query: the terms)."""
    return await service.tasks(session, caller, "search_analysis_tasks", query)


@router.get("/tasks/repeat-visits", response_model=TaskPage[RepeatVisitTask])
async def repeat_visit_tasks(query: Tasks, session: DbSession, caller: Viewer) -> Any:
    """Sessions of more than two pages of customers with more than one such session, latest
    first, with the products viewed (query: the products)."""
    return await service.tasks(session, caller, "repeat_visit_tasks", query)


@router.get("/tasks/performance", response_model=PerformancePage)
async def performance_tasks(query: Tasks, session: DbSession, caller: Viewer) -> Any:
    """Bounced sessions (one distinct page), latest first, and the top 10 bounced entry pages
    (query: the page's location or title)."""
    return await service.tasks(session, caller, "performance_tasks", query)


@router.get("/stats", response_model=Dashboard)
async def dashboard(
    query: Annotated[StatsQuery, Query()], session: DbSession, caller: Viewer
) -> Any:
    """The dashboard: metrics, a chart per day, week or month, and every active location's."""
    return await service.dashboard(session, caller, query)


@router.get("/locations", response_model=Locations)
async def locations(query: Annotated[Dates, Query()], session: DbSession, caller: Viewer) -> Any:
    """Active locations (branches) with at least one page view, by id."""
    return await service.locations(session, caller, query)


@router.get("/sessions/{session_id}/events", response_model=TaskPage[Event])
async def session_events(session_id: Id, query: Events, session: DbSession, caller: Viewer) -> Any:
    """A session's events (GA4 rows), newest or oldest first; none for an unknown session."""
    return await service.session_events(session, caller, session_id, query)


@router.get("/users/{user_id}/events", response_model=TaskPage[Event])
async def user_events(user_id: Id, query: Events, session: DbSession, caller: Viewer) -> Any:
    """A customer's events (GA4 rows), newest or oldest first; none for an unknown customer."""
    return await service.user_events(session, caller, user_id, query)
