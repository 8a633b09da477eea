"""The scheduled signal work: each schedule's job queues a run job of its task for every tenant
with data in its window (a tenant's failure retries that tenant only), and the clean-up deletes
acknowledged alerts past their retention (and nothing else)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from signals_data import at
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.signals.runner import (
    SignalWorkFailed,
    Work,
    clean_up_alerts,
    default_as_of,
    run_pairs,
    run_queued,
)
from analytics_service.signals.service import queue_scheduled
from common.db import Database

pytestmark = pytest.mark.usefixtures("warehouse")
D19 = date(2026, 11, 19)


async def stored(conn: AsyncConnection) -> list[tuple[Any, ...]]:
    found = await conn.execute(
        text(
            "SELECT tenant_id, series_kind, count(*), count(momentum_status), count(value_score)"
            " FROM analytics.series_signal GROUP BY 1, 2"
        )
    )
    return sorted(tuple(row) for row in found)


def test_momentum_and_scores_are_of_yesterday_and_spikes_of_today() -> None:
    today = date(2026, 11, 20)
    assert [default_as_of(task, today) for task in ("momentum", "scores", "spikes")] == [
        D19, D19, today,
    ]  # fmt: skip


async def scheduled(
    conn: AsyncConnection, database: Database, task: str, now: datetime
) -> tuple[list[str], Counter[str]]:
    """A schedule's job at ``now``: the tenants it queued a run job for, and what those jobs
    did when the worker ran them (taken off the queue as the worker would)."""
    await queue_scheduled(database.sessionmaker, task, now)
    found = await conn.execute(
        text(
            "DELETE FROM analytics.pgqueuer WHERE entrypoint = 'analytics.signals_run'"
            " RETURNING payload"
        )
    )
    payloads = sorted((json.loads(p) for (p,) in found), key=lambda p: p["tenant_id"])
    counts: Counter[str] = Counter()
    for payload in payloads:
        assert (payload["tasks"], payload["requested_by"]) == ([task], "schedule")
        counts += await run_queued(database.sessionmaker, payload, now)
    return [p["tenant_id"] for p in payloads], counts


async def test_each_task_queues_a_job_for_every_tenant_with_data(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    both = sorted([str(tenant), str(other_tenant)])
    assert await scheduled(conn, database, "momentum", at(20)) == (both, {"momentum": 13})
    assert await scheduled(conn, database, "scores", at(20, 3)) == (both, {"scores": 13})
    assert await scheduled(conn, database, "spikes", at(19, 21)) == (both, {"spike_alerts": 4})
    ours = [
        (tenant, "branch_revenue", 1, 1, 1), (tenant, "campaign_installs", 2, 2, 2),
        (tenant, "campaign_revenue", 2, 2, 2), (tenant, "item_views", 6, 6, 6),
    ]  # fmt: skip
    assert await stored(conn) == sorted([*ours, (other_tenant, "item_views", 2, 2, 2)])
    # a day without data in the window anywhere: no job
    late = datetime(2027, 3, 2, 6, tzinfo=UTC)
    assert await scheduled(conn, database, "momentum", late) == ([], {})
    assert await scheduled(conn, database, "spikes", late) == ([], {})


async def test_a_failing_kind_fails_the_job_after_the_others_are_done(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    pairs = [(tenant, "offer_ev"), (other_tenant, "item_views")]
    with pytest.raises(SignalWorkFailed, match="signals momentum: 1 series kinds failed"):
        await run_pairs(database.sessionmaker, Work("momentum", D19, at(20)), pairs)
    assert await stored(conn) == [(other_tenant, "item_views", 2, 2, 0)]


async def add_alert(
    conn: AsyncConnection, tenant: uuid.UUID, detected: datetime, acknowledged: datetime | None
) -> uuid.UUID:
    alert_id = uuid.uuid4()
    await conn.execute(
        text(
            "INSERT INTO analytics.signal_alert (tenant_id, alert_id, series_kind, series_key,"
            " kind, series_day, value, threshold, detail, detected_at, acknowledged_at,"
            " acknowledged_by) VALUES (:t, :id, 'item_views', 'FLAT', 'spike', :day, 20, 10,"
            " '{}', :detected, :acknowledged, :by)"
        ),
        {"t": tenant, "id": alert_id, "day": detected.date(), "detected": detected,
         "acknowledged": acknowledged, "by": acknowledged and "user:x"},
    )  # fmt: skip
    return alert_id


async def test_clean_up_deletes_only_acknowledged_alerts_past_the_retention(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    now = at(20, 2)
    old, recent = now - timedelta(days=91), now - timedelta(days=89)
    gone = [
        await add_alert(conn, tenant, old, old + timedelta(hours=1)),
        await add_alert(conn, other_tenant, old, recent),
    ]
    kept = [
        await add_alert(conn, tenant, old, None),  # never acknowledged
        await add_alert(conn, tenant, recent, recent),
        await add_alert(conn, other_tenant, recent, None),
    ]
    assert await clean_up_alerts(database.sessionmaker, now, 90) == 2
    left = await conn.scalars(text("SELECT alert_id FROM analytics.signal_alert"))
    assert sorted(left) == sorted(kept)
    assert not set(gone) & set(kept)
    assert await clean_up_alerts(database.sessionmaker, now, 90) == 0
    assert await clean_up_alerts(database.sessionmaker, now, 30) == 1  # the one of 89 days
