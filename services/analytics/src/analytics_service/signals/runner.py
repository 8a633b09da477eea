"""The signal jobs: momentum, spike detection and value scores of one tenant (a job each tenant
with data gets from the schedules, or POST /analytics/signals/run), and the alerts' clean-up.

Each (tenant, series kind) is one SQL function call in its own transaction. A failure is logged
and the others go on; the job then fails so the queue retries it (the work is idempotent: rows
are replaced and the 24 h rule holds alerts back)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics_service.models import SERIES_KINDS
from analytics_service.signals import repository

Sessions = async_sessionmaker[AsyncSession]
# Days of source rows a task reads before its as_of (the longest window it looks at).
LOOK_BACK = {"momentum": 27, "scores": 27, "spikes": 29}


class SignalWorkFailed(Exception):
    """Some tenants' work failed (each logged); the job is retried."""


@dataclass(frozen=True)
class Work:
    task: str  # momentum, spikes or scores
    as_of: date
    now: datetime


def default_as_of(task: str, today: date) -> date:
    """Momentum and scores are of the last complete day; spikes look at today as it runs (and
    the day before)."""
    return today if task == "spikes" else today - timedelta(days=1)


async def run_queued(sessions: Sessions, payload: dict[str, Any], now: datetime) -> Counter[str]:
    """A run queued by POST /analytics/signals/run (service.start_run wrote the payload)."""
    as_of = payload.get("as_of")
    return await run_tenant(
        sessions,
        uuid.UUID(str(payload["tenant_id"])),
        [str(task) for task in payload["tasks"]],
        date.fromisoformat(str(as_of)) if as_of else None,
        now,
    )


async def run_tenant(
    sessions: Sessions, tenant_id: uuid.UUID, tasks: list[str], as_of: date | None, now: datetime
) -> Counter[str]:
    """The tasks for one tenant's every series kind (a kind without data does nothing)."""
    counts: Counter[str] = Counter()
    for task in tasks:
        work = Work(task, as_of or default_as_of(task, now.date()), now)
        counts += await run_pairs(sessions, work, [(tenant_id, kind) for kind in SERIES_KINDS])
    logger.info("signals for tenant {} ({}): {}", tenant_id, ", ".join(tasks), dict(counts))
    return counts


async def run_pairs(
    sessions: Sessions, work: Work, pairs: Iterable[tuple[uuid.UUID, str]]
) -> Counter[str]:
    """The task for each (tenant, series kind), each in its own transaction."""
    counts: Counter[str] = Counter()
    failed = 0
    for tenant_id, kind in pairs:
        try:
            async with sessions() as session, session.begin():
                counts += await _one(session, work, tenant_id, kind)
        except Exception:
            failed += 1
            logger.exception("signals {} of tenant {} ({}) failed", work.task, tenant_id, kind)
    if failed:
        raise SignalWorkFailed(f"signals {work.task}: {failed} series kinds failed")
    return counts


async def _one(session: AsyncSession, work: Work, tenant_id: uuid.UUID, kind: str) -> Counter[str]:
    if work.task == "momentum":
        stored, alerts = await repository.store_momentum(
            session, tenant_id, kind, work.as_of, work.now
        )
        return Counter(momentum=stored, status_alerts=alerts)
    if work.task == "scores":
        return Counter(
            scores=await repository.store_scores(session, tenant_id, kind, work.as_of, work.now)
        )
    return Counter(
        spike_alerts=await repository.detect_spikes(session, tenant_id, kind, work.as_of, work.now)
    )


async def clean_up_alerts(sessions: Sessions, now: datetime, retention_days: int) -> int:
    """Deletes every tenant's acknowledged alerts detected more than ``retention_days`` ago."""
    async with sessions() as session, session.begin():
        deleted = await repository.delete_acknowledged(
            session, now - timedelta(days=retention_days)
        )
    logger.info(
        "signal alerts: {} acknowledged ones older than {} days deleted", deleted, retention_days
    )
    return deleted
