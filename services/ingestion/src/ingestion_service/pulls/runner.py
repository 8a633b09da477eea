"""Running an ingest job: each pending day of each data type of each connection is pulled page
by page and, once whole, replaces that day's earlier pull as facts in the outbox.

- One day per report request; offset paging until Google's ``rowCount``; the pages after the
  first are asked for together, within the per-property limit (GA4Api).
- A day's facts, its pull record and its state commit in one transaction: a day is either
  wholly the new pull or still the old one. The facts are ``ingestion.ga4_rows.v1`` (up to
  ``FACT_ROWS`` rows each) and then one ``ingestion.ga4_day.v1`` saying the pull is complete
  and which earlier pull it replaces; the warehouse swaps the day when that one arrives.
- An hourly-quota 429 puts the job back in the queue until the next hour, a daily one until
  Google's daily reset (midnight Pacific); the job says so in ``detail`` and ``waiting_until``.
- An access token Google refuses is refreshed once through auth; if auth finds the grant
  revoked (invalid_grant), every connection of the tenant is marked ``needs_reconsent`` and the
  job fails saying so.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.jobs import enqueue
from common.outbox import Fact, record_facts
from ingestion_service.config import IngestionSettings
from ingestion_service.connections import repository as connections
from ingestion_service.ga4.client import (
    BadDefinition,
    GA4Api,
    GA4Failure,
    InvalidReport,
    Page,
    PropertyDenied,
    QuotaExhausted,
    TokenRefused,
)
from ingestion_service.ga4.definitions import Definition, Report, resolve
from ingestion_service.ga4.tokens import GrantProblem, GrantTokens
from ingestion_service.models import GA4Connection, IngestJob, IngestJobDay, outbox
from ingestion_service.pulls import repository
from ingestion_service.pulls.service import PULL_JOB, definitions_for

FACT_ROWS = 1000
ROWS_KIND = "ingestion.ga4_rows.v1"
DAY_KIND = "ingestion.ga4_day.v1"
RECONNECT = "an admin connects Google again with POST /auth/grants/google/connect"


@dataclass
class Pause:
    """Why the job goes back to the queue, and until when."""

    resume_at: datetime
    detail: str


def quota_pause(stop: QuotaExhausted) -> Pause:
    when = "the next hour" if stop.scope == "hourly" else "Google's daily reset"
    return Pause(
        stop.resume_at,
        f"{stop.scope} GA4 quota exhausted ({stop.message}); resumes after {when}"
        f" at {stop.resume_at:%Y-%m-%d %H:%M} UTC",
    )


def auth_pause(exc: GrantProblem) -> Pause:
    resume = datetime.now(UTC) + timedelta(minutes=5)
    return Pause(resume, f"{exc.message}; retrying at {resume:%H:%M} UTC")


@dataclass
class PullContext:
    """What a job's run shares: the tenant's token, and why it stopped early (if it did)."""

    job: IngestJob
    connections: dict[uuid.UUID, GA4Connection]
    reports: dict[tuple[uuid.UUID, str], Report]
    token: str
    stop: Pause | None = None
    fatal: str | None = None
    cancelled: bool = False
    broken: dict[tuple[uuid.UUID, str | None], str] = field(default_factory=dict)
    # Per connection, the last day stored and the quota Google reported with it (written to the
    # connection once, when the run ends: not a row lock every day's transaction queues on).
    pulled: dict[uuid.UUID, tuple[datetime, dict[str, Any] | None]] = field(default_factory=dict)
    token_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def halted(self) -> bool:
        return self.stop is not None or self.fatal is not None or self.cancelled


@dataclass
class Puller:
    settings: IngestionSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    api: GA4Api
    tokens: GrantTokens

    async def run(self, job_id: uuid.UUID) -> None:
        """Run (or resume) the job; a second worker on the same job returns at once."""
        async with self.sessionmaker() as lock_session:
            locked = await lock_session.scalar(
                text(
                    "SELECT pg_try_advisory_lock(hashtext('ingestion.ingest_job'), hashtext(:id))"
                ),
                {"id": str(job_id)},
            )
            if not locked:
                logger.info("ingest job {} is running elsewhere", job_id)
                return
            try:
                await self._run(job_id)
            except Exception as exc:
                # Whatever it was, the job must not stay running for ever (nor the worker fall).
                logger.opt(exception=exc).error("ingest job {} stopped", job_id)
                await self._stopped(job_id, exc)
            finally:
                await lock_session.execute(
                    text(
                        "SELECT pg_advisory_unlock(hashtext('ingestion.ingest_job'), hashtext(:id))"
                    ),
                    {"id": str(job_id)},
                )
                await lock_session.commit()

    async def _run(self, job_id: uuid.UUID) -> None:
        context = await self._begin(job_id)
        if context is None:
            return
        async with self.sessionmaker() as session:
            pending = await repository.pending_days(session, job_id)
        # Days in progress at once; the per-property limit on requests is GA4Api's.
        gate = asyncio.Semaphore(2 * self.settings.ga4_max_concurrent_requests)

        async def one(unit: IngestJobDay) -> None:
            async with gate:
                if context.halted or await self._cancel_requested(job_id, context):
                    return
                try:
                    await self._pull_day(context, unit)
                except Exception as exc:
                    logger.opt(exception=exc).error("ingest job {}: {} stopped", job_id, unit.day)
                    await self._day_failed(unit, f"the pull stopped: {type(exc).__name__}")

        await asyncio.gather(*(one(unit) for unit in pending))
        await self._finish(context)

    # ---- the job -------------------------------------------------------------------------

    async def _begin(self, job_id: uuid.UUID) -> PullContext | None:
        async with self.sessionmaker() as session, session.begin():
            # Locked as a cancel locks it: a job cancelled meanwhile is not set running again.
            job = await repository.job_by_id(session, job_id, lock=True)
            if job is None or job.status not in repository.ACTIVE:
                return None
            if job.cancel_requested:
                await self._close(session, job, "cancelled", "cancelled before it ran")
                return None
            await repository.set_job(
                session,
                job.id,
                status="running",
                started_at=job.started_at or datetime.now(UTC),
                waiting_until=None,
                detail=None,
            )
            chosen = await connections.list_for(session, job.tenant_id, job.connection_ids)
            known = await definitions_for(session, job.tenant_id)
        try:
            token = await self.tokens.get(job.tenant_id)
        except GrantProblem as exc:
            await self._grant_problem(job, exc)
            return None
        await self._grant_works(job.tenant_id)
        reports: dict[tuple[uuid.UUID, str], Report] = {}
        for connection in chosen:
            for name in job.data_types:
                definition: Definition | None = known.get(name)
                if definition is not None:
                    reports[(connection.id, name)] = resolve(definition, connection)
        return PullContext(
            job=job, connections={c.id: c for c in chosen}, reports=reports, token=token
        )

    async def _finish(self, context: PullContext) -> None:
        job = context.job
        async with self.sessionmaker() as session, session.begin():
            await self._record_success(session, context)
            if context.fatal:
                await repository.close_pending(session, job.id, "failed")
                await self._close(session, job, "failed", context.fatal)
            elif context.cancelled:
                await repository.close_pending(session, job.id, "cancelled")
                await self._close(session, job, "cancelled", "cancelled while running")
            elif context.stop is not None:
                await self._pause(session, job, context.stop)
            else:
                counts = (await repository.progress(session, [job.id])).get(job.id)
                failed = counts.days_failed if counts else 0
                total = counts.days_total if counts else 0
                if failed:
                    await self._close(
                        session, job, "failed", f"{failed} of {total} days failed; see errors"
                    )
                else:
                    await self._close(session, job, "completed", None)

    async def _stopped(self, job_id: uuid.UUID, exc: Exception) -> None:
        async with self.sessionmaker() as session, session.begin():
            job = await repository.job_by_id(session, job_id)
            if job is not None and job.status in repository.ACTIVE:
                await repository.close_pending(session, job.id, "failed")
                await self._close(session, job, "failed", f"the job stopped: {type(exc).__name__}")

    async def _record_success(self, session: AsyncSession, context: PullContext) -> None:
        """The connections that gave days: when, their latest quota, and (if they were failing
        and did not fail again in this run) active again."""
        for connection_id, (when, quota) in context.pulled.items():
            connection = context.connections[connection_id]
            recovered: dict[str, Any] = (
                {"status": "active", "last_error": None}
                if connection.status == "failing" and (connection_id, None) not in context.broken
                else {}
            )
            await connections.change(
                session,
                connection.tenant_id,
                connection_id,
                last_success_at=when,
                **({"quota": quota} if quota is not None else {}),
                **recovered,
            )

    async def _close(
        self, session: AsyncSession, job: IngestJob, status: str, detail: str | None
    ) -> None:
        await repository.set_job(
            session,
            job.id,
            status=status,
            detail=detail,
            waiting_until=None,
            finished_at=datetime.now(UTC),
        )
        logger.info("ingest job {} {}{}", job.id, status, f": {detail}" if detail else "")

    async def _pause(self, session: AsyncSession, job: IngestJob, pause: Pause) -> None:
        await repository.set_job(
            session, job.id, status="queued", waiting_until=pause.resume_at, detail=pause.detail
        )
        delay = max(timedelta(0), pause.resume_at - datetime.now(UTC))
        await enqueue(session, "ingestion", PULL_JOB, {"job_id": str(job.id)}, delay=delay)
        logger.info("ingest job {} waits: {}", job.id, pause.detail)

    async def _grant_problem(self, job: IngestJob, exc: GrantProblem) -> None:
        """Before any pull: auth unreachable → back in the queue for five minutes (nothing is
        lost); otherwise the job fails saying why."""
        async with self.sessionmaker() as session, session.begin():
            if exc.state == "unavailable":
                await self._pause(session, job, auth_pause(exc))
                return
            message = await self._grant_failure(session, job.tenant_id, exc)
            await repository.close_pending(session, job.id, "failed")
            await self._close(session, job, "failed", message)

    async def _grant_failure(
        self, session: AsyncSession, tenant_id: uuid.UUID, exc: GrantProblem
    ) -> str:
        if exc.state != "needs_reconsent":
            return exc.message
        message = f"Google Analytics needs consent again ({exc.message}): {RECONNECT}."
        await connections.mark_tenant(session, tenant_id, "needs_reconsent", message)
        return message

    async def _grant_works(self, tenant_id: uuid.UUID) -> None:
        async with self.sessionmaker() as session, session.begin():
            for connection in await connections.list_for(session, tenant_id):
                if connection.status == "needs_reconsent":
                    await connections.change(
                        session, tenant_id, connection.id, status="active", last_error=None
                    )

    async def _cancel_requested(self, job_id: uuid.UUID, context: PullContext) -> bool:
        async with self.sessionmaker() as session:
            job = await repository.job_by_id(session, job_id)
        if job is not None and job.cancel_requested:
            context.cancelled = True
        return context.cancelled

    # ---- one day -------------------------------------------------------------------------

    async def _pull_day(self, context: PullContext, unit: IngestJobDay) -> None:
        connection = context.connections.get(unit.connection_id)
        report = context.reports.get((unit.connection_id, unit.data_type))
        if connection is None or report is None:
            await self._day_failed(unit, "the connection or the data type no longer exists")
            return
        for key in ((connection.id, None), (connection.id, unit.data_type)):
            if key in context.broken:
                await self._day_failed(unit, context.broken[key])
                return
        day = unit.day.isoformat()
        try:
            first = await self._page(context, connection, report, day, 0)
            await self._first_page(unit, first.row_count)
            pages = [first]
            size = self.settings.ga4_page_size
            if first.row_count > size:
                offsets = range(size, first.row_count, size)
                pages += await asyncio.gather(
                    *(self._page(context, connection, report, day, o) for o in offsets)
                )
        except QuotaExhausted as exc:
            context.stop = context.stop or quota_pause(exc)
            return
        except PropertyDenied as exc:
            reason = f"Google refused property {connection.property_id}: {exc.message}"
            context.broken[(connection.id, None)] = reason
            await self._connection_failing(connection, reason)
            await self._day_failed(unit, reason)
            return
        except InvalidReport as exc:
            reason = (
                exc.message
                if isinstance(exc, BadDefinition)
                else f"Google refused the {unit.data_type} report: {exc.message}"
            )
            context.broken[(connection.id, unit.data_type)] = reason
            await self._day_failed(unit, reason)
            return
        except TokenRefused as exc:
            context.fatal = context.fatal or f"Google refused the access token: {exc.message}"
            return
        except GrantProblem as exc:
            if exc.state == "unavailable":
                context.stop = context.stop or auth_pause(exc)
                return
            async with self.sessionmaker() as session, session.begin():
                message = await self._grant_failure(session, connection.tenant_id, exc)
            context.fatal = context.fatal or message
            return
        except GA4Failure as exc:
            await self._day_failed(unit, exc.message)
            return
        await self._store_day(context, connection, report, unit, pages)

    async def _page(
        self, context: PullContext, connection: GA4Connection, report: Report, day: str, offset: int
    ) -> Page:
        size = self.settings.ga4_page_size
        try:
            return await self.api.page(
                context.token, connection.property_id, report, day, offset, size
            )
        except TokenRefused:
            await self._renew_token(context)
            return await self.api.page(
                context.token, connection.property_id, report, day, offset, size
            )

    async def _renew_token(self, context: PullContext) -> None:
        """Google refused the token: ask auth to refresh it (once per refusal wave)."""
        stale = context.token
        async with context.token_lock:
            if context.token == stale:
                context.token = await self.tokens.get(context.job.tenant_id, refused=True)

    async def _first_page(self, unit: IngestJobDay, row_count: int) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repository.set_day(
                session, unit, row_count=row_count, attempts=IngestJobDay.attempts + 1
            )

    async def _day_failed(self, unit: IngestJobDay, reason: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repository.set_day(
                session, unit, status="failed", error=reason[:2000], finished_at=func.now()
            )

    async def _connection_failing(self, connection: GA4Connection, reason: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await connections.change(
                session, connection.tenant_id, connection.id, status="failing", last_error=reason
            )

    async def _store_day(
        self,
        context: PullContext,
        connection: GA4Connection,
        report: Report,
        unit: IngestJobDay,
        pages: list[Page],
    ) -> None:
        rows = [row for page in pages for row in page.rows]
        tokens = sum(page.tokens for page in pages)
        thresholded = any(page.thresholded for page in pages)
        other_row = any(page.other_row for page in pages)
        quota = next((page.quota for page in reversed(pages) if page.quota), None)
        pull_id = uuid.uuid4()
        tenant_id = connection.tenant_id
        now = datetime.now(UTC)
        common: dict[str, Any] = {
            "connection_id": str(connection.id),
            "property_id": connection.property_id,
            "data_type": unit.data_type,
            "fact_kind": report.definition.fact_kind,
            "day": unit.day.isoformat(),
            "time_zone": connection.time_zone,
            "pull_id": str(pull_id),
        }
        parts = [rows[i : i + FACT_ROWS] for i in range(0, len(rows), FACT_ROWS)]
        async with self.sessionmaker() as session, session.begin():
            replaces = await repository.replace_pulled_day(
                session,
                tenant_id,
                unit,
                pull_id=pull_id,
                job_id=unit.job_id,
                rows=len(rows),
                thresholded=thresholded,
                other_row=other_row,
            )
            facts = [
                Fact(
                    id=uuid.uuid4(),
                    kind=ROWS_KIND,
                    tenant_id=tenant_id,
                    occurred_at=now,
                    data={**common, "part": n + 1, "parts": len(parts), "rows": part},
                )
                for n, part in enumerate(parts)
            ]
            facts.append(
                Fact(
                    id=pull_id,
                    kind=DAY_KIND,
                    tenant_id=tenant_id,
                    occurred_at=now,
                    data={
                        **common,
                        "rows": len(rows),
                        "parts": len(parts),
                        "replaces_pull_id": str(replaces) if replaces else None,
                        "thresholded": thresholded,
                        "other_row": other_row,
                    },
                )
            )
            await record_facts(session, outbox, facts)
            await repository.set_day(
                session,
                unit,
                status="done",
                rows=len(rows),
                pages=len(pages),
                quota_tokens=tokens,
                thresholded=thresholded,
                other_row=other_row,
                error=None,
                finished_at=func.now(),
            )
        _, known_quota = context.pulled.get(connection.id, (now, None))
        context.pulled[connection.id] = (now, quota if quota is not None else known_quota)
