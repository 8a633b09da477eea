"""The tenant's security audit log."""

from typing import Annotated

from fastapi import APIRouter, Query

from auth_service.audit import repository
from auth_service.audit.schemas import AuditEventOut, AuditPage
from auth_service.deps import TenantAdmin
from common.db import DbSession

router = APIRouter(prefix="/auth/audit", tags=["audit"])
MAX_EVENT_ID = 2**63 - 1  # audit_event.id is a bigint


@router.get("", response_model=AuditPage)
async def list_audit_events(
    session: DbSession,
    caller: TenantAdmin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_EVENT_ID)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    """Security events of the caller's tenant, newest first (owners and admins)."""
    rows = await repository.page(
        session, caller.require_tenant(), before_id=before_id, limit=limit, action=action
    )
    events = [AuditEventOut.model_validate(row) for row in rows]
    return AuditPage(events=events, next_before_id=events[-1].id if len(events) == limit else None)
