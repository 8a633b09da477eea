"""Each of the pipeline's SQL functions on its own, on the hand-worked warehouse (conftest.py):
exact rows, and the parameters that change them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.pipeline import service
from analytics_service.pipeline.runner import run_pipeline
from analytics_service.pipeline.schemas import RunIn
from common.db import Database

pytestmark = pytest.mark.usefixtures("warehouse")
AS_OF = date(2026, 11, 20)
D1 = date(2026, 11, 19)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def rows(conn: AsyncConnection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await conn.execute(text(sql), params)]


@pytest.mark.parametrize(
    ("written", "amount"),
    [("12,5", D("12.5")), (" 3.25 ", D("3.25")), ("-2,50", D("-2.5")), (",5", D("0.5")),
     ("abc", D(0)), ("1,234.5", D(0)), ("1e3", D(0)), ("", D(0)), (None, D(0)),
     ("123456789012345", D(0))],
)  # fmt: skip
async def test_amounts_read_with_either_decimal_mark_and_bad_ones_are_zero(
    conn: AsyncConnection, written: str | None, amount: D
) -> None:
    found = await conn.scalar(text("SELECT analytics.pipeline_amount(:t)"), {"t": written})
    assert found == amount


CURATED = """
    SELECT appsflyer_id, event_time_utc, revenue_usd, campaign, receipt_id, chargeback,
           original_revenue_usd
      FROM analytics.pipeline_curated_purchases(:t {range}) c
     ORDER BY event_time_utc, appsflyer_id"""


async def test_curation_parses_trims_filters_dedupes_and_zeroes_chargebacks(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await rows(conn, CURATED.format(range=""), t=tenant) == [
        ("hist-3", at(22, 8, month=10), D(40), "Summer", None, False, D(40)),
        ("hist-2", at(29, 8, month=10), D(18), "Summer", None, False, D(18)),
        ("hist-7", at(29, 8, month=10), D("5.5"), "Winter", None, False, D("5.5")),
        ("hist-1", at(5, 8), D(22), "Summer", None, False, D(22)),
        ("hist-6", at(5, 8), D(5), "Winter", None, False, D(5)),
        ("hist-0", at(12, 8), D(20), "Summer", None, False, D(20)),
        ("hist-5", at(12, 8), D(6), "Winter", None, False, D(6)),
        ("hist-4", at(18, 8), D(30), "Winter", None, False, D(30)),
        ("af-7", at(18, 10), D(30), "Summer", "r-10", False, D(30)),
        # P1 from its text "12,5", trimmed; P2 (the same purchase again) is gone
        ("af-1", at(19, 10), D("12.5"), "summer", "r-1", False, D("12.5")),
        # charged back: kept at 0
        ("af-2", at(19, 11), D(0), "Summer", "r-2", True, D(20)),
        ("af-3", at(19, 12), D(8), "winter", None, False, D(8)),
        ("af-3", at(19, 12, 6), D(9), "Winter", None, False, D(9)),
        ("af-4", at(19, 13), D(5), "Spring", "r-6", False, D(5)),
    ]


async def test_curation_of_a_time_range(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    found = await rows(
        conn, CURATED.format(range=", :a, :b"), t=tenant, a=at(19, 10, 30), b=at(19, 12, 6)
    )
    assert [(r[0], r[1], r[2]) for r in found] == [
        ("af-2", at(19, 11), D(0)),  # its chargeback (at 15:00, outside) still counts
        ("af-3", at(19, 12), D(8)),
    ]


RECONCILIATION = """
    SELECT status, matched_by, appsflyer_id, purchase_time, confirmed_time,
           purchase_revenue_usd, confirmed_revenue_usd, seconds_apart, amount_diff,
           amount_mismatch
      FROM analytics.pipeline_reconciliation(:t, :minutes, :tolerance)
     ORDER BY appsflyer_id, coalesce(purchase_time, confirmed_time)"""
HISTORY_AF_ONLY = [
    ("af_only", None, f"hist-{n}", t, None, D(r), None, None, None, None)
    for n, t, r in [
        (0, at(12, 8), 20), (1, at(5, 8), 22), (2, at(29, 8, month=10), 18),
        (3, at(22, 8, month=10), 40), (4, at(18, 8), 30), (5, at(12, 8), 6),
        (6, at(5, 8), 5), (7, at(29, 8, month=10), "5.5"),
    ]
]  # fmt: skip


async def test_reconciliation_one_to_one_by_receipt_then_nearest_time(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    found = await rows(conn, RECONCILIATION, t=tenant, minutes=10, tolerance=D("0.01"))
    assert found == [
        ("matched", "receipt", "af-1", at(19, 10), at(19, 10, 3), D("12.5"), D("12.5"), D(180),
         D(0), False),
        # by receipt though 30 minutes apart; compared at its amount before the chargeback
        ("matched", "receipt", "af-2", at(19, 11), at(19, 11, 30), D(20), D(20), D(1800), D(0),
         False),
        # P4 and P5 compete for C4: the nearer (P5, 2 min) has it, P4 (4 min) is left alone
        ("af_only", None, "af-3", at(19, 12), None, D(8), None, None, None, None),
        ("matched", "time", "af-3", at(19, 12, 6), at(19, 12, 4), D(9), D(9), D(-120), D(0),
         False),
        ("matched", "receipt", "af-4", at(19, 13), at(19, 13, 1), D(5), D("5.5"), D(60),
         D("0.5"), True),
        # a minute apart, but their receipts differ
        ("af_only", None, "af-7", at(18, 10), None, D(30), None, None, None, None),
        ("confirmed_only", None, "af-7", None, at(18, 10, 1), None, D(30), None, None, None),
        ("confirmed_only", None, "af-9", None, at(19, 14), None, D(7), None, None, None),
        *HISTORY_AF_ONLY,
    ]  # fmt: skip


async def test_a_tighter_time_tolerance_leaves_the_time_pair_apart(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    found = await rows(conn, RECONCILIATION, t=tenant, minutes=1, tolerance=D("0.01"))
    af3 = [row[:5] for row in found if row[2] == "af-3"]
    assert af3 == [
        ("af_only", None, "af-3", at(19, 12), None),
        ("confirmed_only", None, "af-3", None, at(19, 12, 4)),
        ("af_only", None, "af-3", at(19, 12, 6), None),
    ]
    statuses = [row[0] for row in found]
    assert (statuses.count("matched"), statuses.count("af_only")) == (3, 11)
    assert statuses.count("confirmed_only") == 3


@pytest.mark.parametrize(("tolerance", "mismatches"), [(D("0.49"), 1), (D("0.5"), 0)])
async def test_the_amount_tolerance_decides_a_mismatch(
    conn: AsyncConnection, tenant: uuid.UUID, tolerance: D, mismatches: int
) -> None:
    found = await rows(conn, RECONCILIATION, t=tenant, minutes=10, tolerance=tolerance)
    assert [row[2] for row in found if row[9]] == ["af-4"] * mismatches


async def test_reconciliation_refuses_a_negative_tolerance(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    from sqlalchemy.exc import DBAPIError

    nested = await conn.begin_nested()
    with pytest.raises(DBAPIError, match="must be 0 or more"):
        await rows(conn, RECONCILIATION, t=tenant, minutes=-1, tolerance=D(0))
    await nested.rollback()


ROAS = "SELECT * FROM analytics.pipeline_{fn} ORDER BY 1, 2"


async def test_roas_d1_per_campaign_with_a_missing_cost(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await rows(conn, ROAS.format(fn="roas_d1(:t, :a)"), t=tenant, a=AS_OF) == [
        (D1, "AUTUMN", D(0), D(10), D(0)),  # cost, no purchase
        (D1, "SPRING", D(5), None, D(0)),  # no cost: null, ROAS 0
        (D1, "SUMMER", D("12.5"), D(50), D("0.25")),  # the chargeback counts 0
        (D1, "WINTER", D(17), D(34), D("0.5")),
    ]


async def test_daily_roas_over_days(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    sql = ROAS.format(fn="daily_roas(:t, :a, :b)")
    found = await rows(conn, sql, t=tenant, a=date(2026, 11, 18), b=date(2026, 11, 18))
    assert found == [
        (date(2026, 11, 18), "SUMMER", D(30), D(30), D(1)),
        (date(2026, 11, 18), "WINTER", D(30), D(10), D(3)),
    ]


ANOMALY = "SELECT * FROM analytics.pipeline_roas_anomaly(:t, :a{more}) ORDER BY campaign"


async def test_anomalies_by_the_seeds_rule_and_the_robust_one(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await rows(conn, ANOMALY.format(more=""), t=tenant, a=AS_OF) == [
        (D1, "AUTUMN", D(0), D(0), False, None, None, 0, None, False),
        (D1, "SPRING", D(0), D(0), False, None, None, 0, None, False),
        # avg7 = (0.25 + 1 + 2 + 2.2 + 1.8 + 4) / 6; same weekdays 2, 2.2, 1.8, 4: median 2.1,
        # MAD 0.2, threshold 2.1 - 3 x 1.4826 x 0.2
        (D1, "SUMMER", D("0.25"), D("1.875"), True, D("2.1"), D("0.2"), 4, D("1.21044"), True),
        # avg7 = (0.5 + 3 + 0.6 + 0.5 + 0.55) / 5 = 1.03 flags it; same weekdays 0.6, 0.5, 0.55:
        # median 0.55, MAD 0.05, 3 x 1.4826 x 0.05 = 0.222 under the 0.25 floor: 0.3 does not
        (D1, "WINTER", D("0.5"), D("1.03"), True, D("0.55"), D("0.05"), 3, D("0.3"), False),
    ]


@pytest.mark.parametrize(
    ("floor", "threshold", "flagged"), [(0.25, "0.3", False), (0, "0.55", True)]
)
async def test_the_floor_keeps_a_steady_campaign_from_crying_wolf(
    conn: AsyncConnection, tenant: uuid.UUID, floor: float, threshold: str, flagged: bool
) -> None:
    sql = ANOMALY.format(more=", 4, 0, CAST(:floor AS numeric)")
    found = await rows(conn, sql, t=tenant, a=AS_OF, floor=floor)
    assert [r[8:] for r in found if r[1] == "WINTER"] == [(D(threshold), flagged)]


async def test_arpdau_d1_over_the_days_distinct_session_users(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    sql = "SELECT * FROM analytics.pipeline_arpdau_d1(:t, :a) ORDER BY campaign"
    assert await rows(conn, sql, t=tenant, a=AS_OF) == [
        (D1, "SPRING", D(5), 3, D("1.666667")),
        (D1, "SUMMER", D("12.5"), 3, D("4.166667")),
        (D1, "WINTER", D(17), 3, D("5.666667")),
    ]


async def test_another_tenants_rows_are_in_none_of_them(
    conn: AsyncConnection, other_tenant: uuid.UUID
) -> None:
    assert await rows(conn, ROAS.format(fn="roas_d1(:t, :a)"), t=other_tenant, a=AS_OF) == [
        (D1, "SUMMER", D(1000), D(1), D(1000))
    ]
    assert await rows(conn, "SELECT * FROM analytics.pipeline_arpdau_d1(:t, :a)",
                      t=other_tenant, a=AS_OF) == [(D1, "SUMMER", D(1000), 1, D(1000))]  # fmt: skip
    found = await rows(conn, RECONCILIATION, t=other_tenant, minutes=10, tolerance=D(0))
    assert [r[:3] for r in found] == [("matched", "receipt", "af-1")]


@pytest.mark.parametrize(
    ("field", "written"),
    [("Summer", "Summer"), ("a,b", '"a,b"'), ('say "hi"', '"say ""hi"""'),
     ("two\nlines", '"two\nlines"'), ("", ""), (None, ""), (" spaced ", " spaced ")],
)  # fmt: skip
async def test_csv_fields_are_quoted_only_when_they_must_be(
    conn: AsyncConnection, field: str | None, written: str
) -> None:
    found = await conn.scalar(text("SELECT analytics.pipeline_csv_field(:f)"), {"f": field})
    assert found == written


async def completed_run(database: Database, tenant: uuid.UUID) -> uuid.UUID:
    async with database.sessionmaker() as session, session.begin():
        run = await service.start(session, tenant, RunIn(as_of=AS_OF), requested_by="test")
    assert await run_pipeline(database.sessionmaker, tenant, run.id) == "completed"
    return run.id


PURCHASES = """
    SELECT appsflyer_id, event_time_utc, revenue_usd, campaign, receipt_id, chargeback,
           original_revenue_usd
      FROM analytics.pipeline_purchases(:t, :run)
     ORDER BY event_time_utc, appsflyer_id"""
REVENUE = "SELECT * FROM analytics.pipeline_daily_revenue(:t, :a, :b, :run) ORDER BY 1, 2"


async def test_a_runs_purchases_are_those_it_curated(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID
) -> None:
    curated = await rows(conn, CURATED.format(range=""), t=tenant)
    run_id = await completed_run(database, tenant)
    stored = await rows(conn, PURCHASES, t=tenant, run=run_id)
    assert stored == curated
    assert len(stored) == 14
    assert await rows(conn, PURCHASES, t=tenant, run=None) == stored


@pytest.mark.parametrize("from_run", [False, True])
async def test_daily_revenue_per_campaign_of_a_range_of_days(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID, from_run: bool
) -> None:
    run_id = await completed_run(database, tenant) if from_run else None
    found = await rows(conn, REVENUE, t=tenant, a=date(2026, 11, 18), b=D1, run=run_id)
    assert found == [
        (date(2026, 11, 18), "SUMMER", D(30)),  # af-7
        (date(2026, 11, 18), "WINTER", D(30)),  # hist-4
        (D1, "SPRING", D(5)),
        (D1, "SUMMER", D("12.5")),  # P1 " summer ", P3 charged back: 0
        (D1, "WINTER", D(17)),  # P4 "winter" 8, P5 9
    ]


async def test_a_runs_reports_keep_to_its_purchases_when_the_warehouse_changes(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID
) -> None:
    run_id = await completed_run(database, tenant)
    await conn.execute(
        text("""INSERT INTO analytics.purchase_raw (tenant_id, event_time_utc, fact_id, upload_id,
                    line, appsflyer_id, event_name, revenue_usd, campaign, status)
                VALUES (:t, :at, gen_random_uuid(), gen_random_uuid(), 1, 'af-late', 'purchase',
                        100, 'Summer', 'success')"""),
        {"t": tenant, "at": at(19, 20)},
    )  # fmt: skip
    roas = "SELECT campaign, revenue_usd FROM analytics.pipeline_roas_d1(:t, :a, :run) ORDER BY 1"
    summer = [r for r in await rows(conn, roas, t=tenant, a=AS_OF, run=run_id) if r[0] == "SUMMER"]
    assert summer == [("SUMMER", D("12.5"))]
    now = [r for r in await rows(conn, roas, t=tenant, a=AS_OF, run=None) if r[0] == "SUMMER"]
    assert now == [("SUMMER", D("112.5"))]
    arpdau = "SELECT campaign, revenue FROM analytics.pipeline_arpdau_d1(:t, :a, :run)"
    assert ("SUMMER", D("12.5")) in await rows(conn, arpdau, t=tenant, a=AS_OF, run=run_id)
    anomaly = (
        "SELECT campaign, roas_d1 FROM analytics.pipeline_roas_anomaly(:t, :a, p_run_id => :run)"
    )
    assert ("SUMMER", D("0.25")) in await rows(conn, anomaly, t=tenant, a=AS_OF, run=run_id)
    details = "SELECT appsflyer_id FROM analytics.pipeline_reconciliation(:t, 10, 0, :run)"
    assert "af-late" not in [r[0] for r in await rows(conn, details, t=tenant, run=run_id)]
    assert "af-late" in [r[0] for r in await rows(conn, details, t=tenant, run=None)]


async def test_reconciliation_numbers_its_rows_in_the_reports_order(
    conn: AsyncConnection, database: Database, tenant: uuid.UUID
) -> None:
    numbered = """SELECT n, status, appsflyer_id, coalesce(purchase_time, confirmed_time)
                    FROM analytics.pipeline_reconciliation(:t, 10, 0.01, :run) ORDER BY n"""
    found = await rows(conn, numbered, t=tenant, run=None)
    assert [r[0] for r in found] == list(range(1, 17))
    assert [(r[1], r[2]) for r in found[:8]] == [
        ("matched", "af-1"), ("matched", "af-2"), ("af_only", "af-3"), ("matched", "af-3"),
        ("matched", "af-4"), ("af_only", "af-7"), ("confirmed_only", "af-7"),
        ("confirmed_only", "af-9"),
    ]  # fmt: skip
    assert [r[2] for r in found[8:]] == [f"hist-{n}" for n in range(8)]
    run_id = await completed_run(database, tenant)
    assert await rows(conn, numbered, t=tenant, run=run_id) == found
