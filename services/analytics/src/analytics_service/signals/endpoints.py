"""/analytics/signals: momentum and value scores of the tenant's daily series, their history,
alerts (listed, acknowledged), and a computation started now."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from analytics_service.signals import service
from analytics_service.signals.schemas import (
    AlertOut,
    AlertPage,
    AlertQuery,
    HistoryQuery,
    RunIn,
    RunOut,
    SignalPage,
    SignalQuery,
)
from common.db import DbSession
from common.security import Principal, TenantRole

router = APIRouter(prefix="/analytics/signals", tags=["signals"])
Reader = Annotated[Principal, TenantRole("viewer")]
Analyst = Annotated[Principal, TenantRole("analyst")]


@router.get("", response_model=SignalPage)
async def list_signals(
    query: Annotated[SignalQuery, Query()], session: DbSession, caller: Reader
) -> SignalPage:
    """Momentum and value score of each series (its latest day, or the day asked for)."""
    return await service.list_signals(session, caller.require_tenant(), query)


@router.get("/history", response_model=SignalPage)
async def series_history(
    query: Annotated[HistoryQuery, Query()], session: DbSession, caller: Reader
) -> SignalPage:
    """One series' momentum and value score day by day, oldest first (404: no such series)."""
    return await service.history(session, caller.require_tenant(), query)


@router.get("/alerts", response_model=AlertPage)
async def list_alerts(
    query: Annotated[AlertQuery, Query()], session: DbSession, caller: Reader
) -> AlertPage:
    """The tenant's alerts (spikes, momentum status changes), newest first."""
    return await service.list_alerts(session, caller.require_tenant(), query)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
async def acknowledge_alert(alert_id: uuid.UUID, session: DbSession, caller: Analyst) -> AlertOut:
    """Mark an alert acknowledged; again changes nothing (the first acknowledgement stays)."""
    return await service.acknowledge(session, caller.require_tenant(), alert_id, caller.label)


@router.post("/run", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
async def run_signals(session: DbSession, caller: Analyst, body: RunIn | None = None) -> RunOut:
    """Queue momentum, spike detection and value scores of the tenant's series now (a job)."""
    return await service.start_run(
        session, caller.require_tenant(), body or RunIn(), requested_by=caller.label
    )
