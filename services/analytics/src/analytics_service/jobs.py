"""Analytics' background work: the fact tables' monthly partitions made ahead, pipeline runs,
the reports by email (send jobs, and the tenants' schedules queuing them), and the series'
momentum, spikes, value scores and alerts' clean-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from loguru import logger

from analytics_service.config import AnalyticsSettings, get_settings
from analytics_service.facts import repository as facts_repository
from analytics_service.pipeline.runner import payload_ids, run_pipeline, schedule_daily_runs
from analytics_service.pipeline.service import PIPELINE_JOB
from analytics_service.reports.jobs_service import SEND_JOB
from analytics_service.reports.schedules_service import queue_due
from analytics_service.reports.sender import SendLater, run_send_job
from analytics_service.signals import runner as signals
from analytics_service.signals.service import RUN_JOB as SIGNALS_RUN_JOB
from analytics_service.signals.service import queue_scheduled
from common.db import Database
from common.jobs import JobSet, jobs_router, worker_main

jobset = JobSet(service="analytics")
router = jobs_router("analytics", prefix="/analytics/jobs")


class Resources:
    """What the jobs share in one worker process."""

    def __init__(self, settings: AnalyticsSettings) -> None:
        self.settings = settings
        self.database = Database.from_settings(settings)


_resources: Resources | None = None


def resources() -> Resources:
    global _resources
    if _resources is None:
        _resources = Resources(get_settings())
    return _resources


@jobset.cron("analytics.partitions", "20 1 * * *")
async def partitions() -> None:
    """Daily 01:20 UTC: every fact table gets its partitions of this month and the next
    ``partition_months_ahead`` (rows already in the default partition move into theirs)."""
    res = resources()
    async with res.database.sessionmaker() as session, session.begin():
        made = await facts_repository.add_month_partitions(
            session, res.settings.partition_months_ahead
        )
    logger.info("partitions: {} made", made)


def main() -> None:
    worker_main(jobset, get_settings())


if __name__ == "__main__":
    main()


# --- marketing pipeline ----------------------------------------------------------------------


@jobset.job(PIPELINE_JOB)
async def pipeline_run(payload: dict[str, object]) -> None:
    """One queued pipeline run (POST /analytics/pipeline/run and the daily schedule)."""
    tenant_id, run_id = payload_ids(payload)
    res = resources()
    await run_pipeline(
        res.database.sessionmaker, tenant_id, run_id, work_mem=res.settings.pipeline_work_mem
    )


@jobset.cron("analytics.pipeline_daily", "30 3 * * *")
async def pipeline_daily() -> None:
    """Daily 03:30 UTC: a pipeline run as of today (reports on yesterday) for every tenant with
    purchases, costs or sessions."""
    started = await schedule_daily_runs(resources().database.sessionmaker, datetime.now(UTC).date())
    logger.info("pipeline daily: {} runs queued", started)


# --- reports by email ------------------------------------------------------------------------


@jobset.job(SEND_JOB)
async def send_reports(payload: dict[str, object]) -> None:
    """One queued send job (POST /analytics/email/send-reports). Deliveries left waiting raise
    SendLater, so the queue runs the job again with backoff; it sends only those."""
    tenant_id, job_id = uuid.UUID(str(payload["tenant_id"])), uuid.UUID(str(payload["job_id"]))
    res = resources()
    outcome = await run_send_job(res.database.sessionmaker, res.settings, tenant_id, job_id)
    if outcome == "retry":
        raise SendLater(f"send job {job_id}: deliveries wait for another attempt")


@jobset.cron("analytics.email_schedules", "* * * * *")
async def email_schedules() -> None:
    """Every minute: each tenant's report schedule come due queues one send job (for its
    latest due time), which starts after the tenant's stagger (reports/cron.py)."""
    res = resources()
    queued = await queue_due(res.database.sessionmaker, res.settings, datetime.now(UTC))
    if queued:  # every minute: quiet when nothing was due
        logger.info("email schedules: {} send jobs queued", queued)


# --- momentum, spikes, value scores and their alerts -----------------------------------------


@jobset.job(SIGNALS_RUN_JOB)
async def signals_run(payload: dict[str, object]) -> None:
    """One tenant's signal work, queued by POST /analytics/signals/run or by a schedule."""
    await signals.run_queued(resources().database.sessionmaker, payload, datetime.now(UTC))


async def _signals_for_all(task: str) -> None:
    queued = await queue_scheduled(resources().database.sessionmaker, task, datetime.now(UTC))
    logger.info("signals {}: {} tenant jobs queued", task, queued)


@jobset.cron("analytics.signals_momentum", "0 */6 * * *")
async def signals_momentum() -> None:
    """Every 6 h: each tenant's series' momentum as of yesterday, status changes alerted."""
    await _signals_for_all("momentum")


@jobset.cron("analytics.signals_spikes", "0 */3 * * *")
async def signals_spikes() -> None:
    """Every 3 h: spikes of today's running values (and yesterday's) alerted."""
    await _signals_for_all("spikes")


@jobset.cron("analytics.signals_scores", "0 3 * * *")
async def signals_scores() -> None:
    """Daily 03:00 UTC: each tenant's series' value score as of yesterday."""
    await _signals_for_all("scores")


@jobset.cron("analytics.signals_alert_cleanup", "0 2 * * *")
async def signals_alert_cleanup() -> None:
    """Daily 02:00 UTC: acknowledged alerts past their retention deleted."""
    res = resources()
    await signals.clean_up_alerts(
        res.database.sessionmaker, datetime.now(UTC), res.settings.signal_alert_retention_days
    )
