"""The scheduled signal work: each schedule's job does its task for every tenant with data in its
window, and the clean-up deletes acknowledged alerts past their retention (and nothing else)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
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
    run_all,
    run_pairs,
)
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


async def test_each_task_runs_for_every_tenant_with_data(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    sessions = database.sessionmaker
    assert await run_all(sessions, Work("momentum", D19, at(20))) == {"momentum": 13}
    assert await run_all(sessions, Work("scores", D19, at(20, 3))) == {"scores": 13}
    assert await run_all(sessions, Work("spikes", D19, at(19, 21))) == {"spike_alerts": 4}
    ours = [
        (tenant, "branch_revenue", 1, 1, 1), (tenant, "campaign_installs", 2, 2, 2),
        (tenant, "campaign_revenue", 2, 2, 2), (tenant, "item_views", 6, 6, 6),
    ]  # fmt: skip
    assert await stored(conn) == sorted([*ours, (other_tenant, "item_views", 2, 2, 2)])
    # a day without data in the window anywhere: nothing to do
    late = date(2027, 3, 1)
    assert await run_all(sessions, Work("momentum", late, at(1))) == {}
    assert await run_all(sessions, Work("spikes", late, at(1))) == {}


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
