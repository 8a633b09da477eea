"""Ingestion's background work: facts to analytics, the daily clean-up of spent
Idempotency-Keys."""

from __future__ import annotations

from loguru import logger

from common.db import Database
from common.http import HttpClients
from common.jobs import JobSet, jobs_router, worker_main
from common.outbox import OutboxRelay
from ingestion_service.config import IngestionSettings, get_settings
from ingestion_service.idempotency import repository as idempotency_repository
from ingestion_service.models import outbox

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


@jobset.loop("ingestion.outbox", lambda: get_settings().outbox_interval_seconds)
async def relay_facts() -> None:
    """Deliver recorded facts to analytics (at least once; retried with backoff while it is
    down or not yet deployed)."""
    await resources().relay.drain()


def main() -> None:
    worker_main(jobset, get_settings())


if __name__ == "__main__":
    main()
