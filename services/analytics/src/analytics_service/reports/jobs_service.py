"""Send jobs of the caller's tenant: started (queued for the worker), listed, their history,
and the signed unsubscribe link honoured."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import repository, unsubscribe
from analytics_service.reports.schemas import DeliveryOut, DeliveryPage, JobOut, JobPage, SendIn
from common.errors import Forbidden, NotFound
from common.jobs import enqueue

SEND_JOB = "analytics.send_reports"


def _job_out(row: Row[Any]) -> JobOut:
    return JobOut(
        id=row.job_id,
        status=row.status,
        kind=row.kind,
        report_date=row.report_date,
        branch_codes=row.branch_codes,
        skip_when_empty=row.skip_when_empty,
        requested_by=row.requested_by,
        schedule_id=row.schedule_id,
        scheduled_for=row.scheduled_for,
        attempts=row.attempts,
        sent=row.sent,
        failed=row.failed,
        skipped=row.skipped,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def start(
    session: AsyncSession, tenant_id: uuid.UUID, body: SendIn, requested_by: str
) -> JobOut:
    """Record a queued job and queue it (both or neither)."""
    values = body.model_dump()
    values["branch_codes"] = sorted(set(body.branch_codes)) if body.branch_codes else None
    row = await queue(session, tenant_id, {**values, "requested_by": requested_by})
    return _job_out(row)


async def queue(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    values: dict[str, Any],
    delay: timedelta | None = None,
) -> Row[Any]:
    """A job recorded and queued for the worker (``delay`` later), in the caller's transaction."""
    row = await repository.add_job(session, tenant_id, values)
    payload = {"tenant_id": str(tenant_id), "job_id": str(row.job_id)}
    await enqueue(session, "analytics", SEND_JOB, payload, delay=delay)
    return row


async def get_job(session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID) -> JobOut:
    row = await repository.get_job(session, tenant_id, job_id)
    if row is None:
        raise NotFound("No such send job.")
    return _job_out(row)


async def list_jobs(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int, offset: int
) -> JobPage:
    rows, total = await repository.list_jobs(session, tenant_id, limit, offset)
    return JobPage.of([_job_out(r) for r in rows], total, limit, offset)


async def history(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID | None, limit: int, offset: int
) -> DeliveryPage:
    rows, total = await repository.list_deliveries(session, tenant_id, job_id, limit, offset)
    data = [
        DeliveryOut(
            job_id=r.job_id,
            branch_code=r.branch_code,
            recipient=r.recipient,
            status=r.status,
            subject=r.subject,
            attempts=r.attempts,
            error=r.error,
            sent_at=r.sent_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
    return DeliveryPage.of(data, total, limit, offset)


async def unsubscribe_recipient(
    session: AsyncSession,
    settings: AnalyticsSettings,
    tenant_id: uuid.UUID,
    email: str,
    signature: str,
) -> None:
    check_signature(settings, tenant_id, email, signature)
    await repository.unsubscribe(session, tenant_id, email.lower())


def check_signature(
    settings: AnalyticsSettings, tenant_id: uuid.UUID, email: str, signature: str
) -> None:
    secret = settings.email_secret.get_secret_value()
    if not unsubscribe.is_valid(secret, tenant_id, email, signature):
        raise Forbidden("This unsubscribe link is not valid.", type_slug="bad-signature")
