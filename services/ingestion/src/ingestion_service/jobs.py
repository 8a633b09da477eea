"""Ingestion's background work: GA4 pulls (jobs and the daily schedule), facts to analytics,
the daily clean-up of spent Idempotency-Keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import exists, select

from common.db import Database
from common.http import HttpClients
from common.jobs import JobSet, jobs_router, worker_main
from common.outbox import OutboxRelay
from ingestion_service.config import IngestionSettings, get_settings
from ingestion_service.ga4.client import GA4Api
from ingestion_service.ga4.tokens import GrantTokens
from ingestion_service.idempotency import repository as idempotency_repository
from ingestion_service.models import IngestJob, outbox
from ingestion_service.pulls import repository as pulls_repository
from ingestion_service.pulls import service as pulls
from ingestion_service.pulls.runner import Puller
from ingestion_service.pulls.schemas import IngestStartIn
from ingestion_service.uploads import repository as uploads_repository

jobset = JobSet(service="ingestion")
router = jobs_router("ingestion", prefix="/ingestion/jobs")


class Resources:
    """What the jobs share in one worker process."""

    def __init__(self, settings: IngestionSettings) -> None:
        self.settings = settings
        self.database = Database.from_settings(settings)
        self.http = HttpClients(settings)
        self.relay = OutboxRelay(
            source="ingestion",
            table=outbox,
            sessionmaker=self.database.sessionmaker,
            client=self.http.client,
            url=f"{settings.analytics_url}/internal/facts",
            token=self.http.service_token,
            batch_size=settings.outbox_batch_size,
        )
        self.puller = Puller(
            settings, self.database.sessionmaker, GA4Api(settings), GrantTokens(self.http)
        )


_resources: Resources | None = None


def resources() -> Resources:
    global _resources
    if _resources is None:
        _resources = Resources(get_settings())
    return _resources


@jobset.cron("ingestion.clean_up", "40 2 * * *")
async def clean_up() -> None:
    """Daily 02:40: forget Idempotency-Keys past their retention (24 h)."""
    res = resources()
    async with res.database.sessionmaker() as session, session.begin():
        keys = await idempotency_repository.delete_older_than(
            session, res.settings.idempotency_hours
        )
    logger.info("clean-up: {} idempotency keys", keys)


@jobset.job(pulls.PULL_JOB)
async def pull(payload: dict[str, object]) -> None:
    """Run or resume an ingest job (queued by POST /data/ingest/start and the schedule)."""
    await resources().puller.run(uuid.UUID(str(payload["job_id"])))


@jobset.cron("ingestion.ga4_daily", "15 5 * * *")
async def ga4_daily() -> None:
    """Daily 05:15 UTC: for every tenant with a GA4 connection, pull every data type (built-in
    and the tenant's own) for yesterday and re-pull the days Google may still be correcting
    (``ga4_processing_days`` before it)."""
    res = resources()
    started = await schedule_daily_pulls(res.database.sessionmaker, res.settings)
    logger.info("GA4 daily: {} jobs queued", started)


async def schedule_daily_pulls(sessionmaker: Any, settings: IngestionSettings) -> int:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    started = 0
    async with sessionmaker() as session:
        tenants = await pulls_repository.tenants_with_connections(session)
    for tenant_id in tenants:
        async with sessionmaker() as session, session.begin():
            already = await session.scalar(
                select(
                    exists().where(
                        IngestJob.tenant_id == tenant_id,
                        IngestJob.trigger == "schedule",
                        IngestJob.end_date == yesterday,
                    )
                )
            )
            if already:
                continue
            # Every data type the tenant has: the built-in ones and its own.
            body = IngestStartIn(
                start_date=yesterday - timedelta(days=settings.ga4_processing_days),
                end_date=yesterday,
                data_types=list(await pulls.definitions_for(session, tenant_id)),
            )
            await pulls.start(
                session, settings, tenant_id, body, requested_by="schedule", trigger="schedule"
            )
            started += 1
    return started


@jobset.cron("ingestion.interrupted_uploads", "*/10 * * * *")
async def interrupted_uploads() -> None:
    """Every 10 minutes: uploads cut off by a stopped process are marked failed (nothing of
    them was kept), so none stays ``processing`` for ever."""
    res = resources()
    async with res.database.sessionmaker() as session, session.begin():
        failed = await uploads_repository.fail_interrupted(session, older_than_minutes=5)
    if failed:
        logger.warning("{} interrupted uploads marked failed", failed)


@jobset.loop("ingestion.outbox", lambda: get_settings().outbox_interval_seconds)
async def relay_facts() -> None:
    """Deliver recorded facts to analytics (at least once; retried with backoff while it is
    down or not yet deployed)."""
    await resources().relay.drain()


def main() -> None:
    worker_main(jobset, get_settings())


if __name__ == "__main__":
    main()
