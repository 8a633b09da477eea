"""The two reports with a row per purchase, read back over HTTP: streamed a page of blocks at a
time (PAGE_BLOCKS blocks of PIPELINE_BLOCK_ROWS rows), every row once and in the report's order
across the blocks' and pages' edges; the CSV quoted; another tenant's run out of reach."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.models import PIPELINE_BLOCK_ROWS
from analytics_service.pipeline.runner import run_pipeline
from analytics_service.pipeline.service import PAGE_BLOCKS
from analytics_testing import Callers
from common.db import Database

BASE = "/analytics/pipeline"
# Past two pages: the last block and the last page are partly filled.
PURCHASES = 2 * PAGE_BLOCKS * PIPELINE_BLOCK_ROWS + 1234
AS_OF = "2026-11-20"


async def fill(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    """PURCHASES purchases of 11-19 (several at each second, of 700 ids), every 3rd confirmed a
    minute later, with the receipt every 6th; the first purchase's campaign needs quoting."""
    await conn.execute(
        text("""
        INSERT INTO analytics.purchase_raw (tenant_id, event_time_utc, fact_id, upload_id, line,
            appsflyer_id, event_name, revenue_usd, campaign, receipt_id, status)
        SELECT :t, timestamptz '2026-11-19 00:00:00+00' + (i / 3) * interval '1 second',
               gen_random_uuid(), gen_random_uuid(), i, 'af-' || (i % 700), 'purchase',
               1 + i % 50, CASE WHEN i = 1 THEN 'Summer, "Big" Sale' ELSE 'Camp ' || i % 7 END,
               'r-' || i, 'success'
          FROM generate_series(1, :n) i"""),
        {"t": tenant, "n": PURCHASES},
    )
    await conn.execute(
        text("""
        INSERT INTO analytics.purchase_confirmed (tenant_id, event_time_utc, fact_id, upload_id,
            line, appsflyer_id, event_name, revenue_usd, campaign, receipt_id)
        SELECT :t, timestamptz '2026-11-19 00:01:00+00' + (i / 3) * interval '1 second',
               gen_random_uuid(), gen_random_uuid(), i, 'af-' || (i % 700), 'purchase',
               1 + i % 50, 'Camp', CASE WHEN i % 6 = 0 THEN 'r-' || i END
          FROM generate_series(3, :n, 3) i"""),
        {"t": tenant, "n": PURCHASES},
    )


@pytest.fixture
async def run_id(
    client: httpx.AsyncClient,
    callers: Callers,
    database: Database,
    conn: AsyncConnection,
    tenant: uuid.UUID,
) -> str:
    """A completed run of the tenant, on PURCHASES purchases (fill)."""
    await fill(conn, tenant)
    analyst = callers.user(tenant, "analyst")
    response = await client.post(f"{BASE}/run", json={"as_of": AS_OF}, headers=analyst.headers)
    run = uuid.UUID(response.json()["id"])
    assert await run_pipeline(database.sessionmaker, tenant, run) == "completed"
    return str(run)


Query = Callable[[str], Awaitable[list[Any]]]


@pytest.fixture
def query(conn: AsyncConnection, tenant: uuid.UUID) -> Query:
    """What the SQL functions say of the tenant (:t), times in UTC."""

    async def rows(sql: str) -> list[Any]:
        await conn.execute(text("SET LOCAL timezone = 'UTC'"))
        return list((await conn.execute(text(sql), {"t": tenant})).all())

    return rows


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


async def test_the_curated_purchases_stream_whole_and_in_order_as_json_and_csv(
    client: httpx.AsyncClient, callers: Callers, query: Query, tenant: uuid.UUID, run_id: str
) -> None:
    ordered = await query(
        """SELECT appsflyer_id, event_time_utc, revenue_usd, campaign, receipt_id
             FROM analytics.pipeline_curated_purchases(:t)
            ORDER BY event_time_utc, appsflyer_id, original_revenue_usd"""
    )
    assert len(ordered) == PURCHASES
    viewer = callers.user(tenant, "viewer")
    response = await client.get(
        f"{BASE}/runs/{run_id}/reports/purchases_curated", headers=viewer.headers
    )
    assert response.status_code == 200
    found = response.json()
    assert [(r["appsflyer_id"], utc(r["event_time_utc"])) for r in found] == [
        (r.appsflyer_id, r.event_time_utc) for r in ordered
    ]
    edge = PAGE_BLOCKS * PIPELINE_BLOCK_ROWS  # the first row of the second page
    assert found[edge] == {
        "appsflyer_id": ordered[edge].appsflyer_id, "event_name": "purchase",
        "event_time_utc": ordered[edge].event_time_utc.isoformat(),
        "revenue_usd": int(ordered[edge].revenue_usd), "campaign": ordered[edge].campaign,
        "receipt_id": ordered[edge].receipt_id, "status": "success", "chargeback": False,
        "original_revenue_usd": int(ordered[edge].revenue_usd),
    }  # fmt: skip

    response = await client.get(
        f"{BASE}/runs/{run_id}/files/purchases_curated.csv", headers=viewer.headers
    )
    lines = response.text.split("\n")
    assert (len(lines), lines[-1]) == (PURCHASES + 2, "")  # a header, a row each, a last "\n"
    assert (
        lines[1]
        == 'af-1,purchase,2026-11-19T00:00:00+00:00,2,"Summer, ""Big"" Sale",r-1,success,false,2'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert [(r[0], utc(r[2])) for r in rows[1:]] == [
        (r.appsflyer_id, r.event_time_utc) for r in ordered
    ]
    assert rows[1][4] == 'Summer, "Big" Sale'


async def test_the_reconciliation_streams_its_summary_and_every_detail_in_order(
    client: httpx.AsyncClient, callers: Callers, query: Query, tenant: uuid.UUID, run_id: str
) -> None:
    ordered = await query(
        """SELECT status, appsflyer_id, purchase_time, confirmed_time
             FROM analytics.pipeline_reconciliation(:t, 10, 0.01) ORDER BY n"""
    )
    viewer = callers.user(tenant, "viewer")
    response = await client.get(
        f"{BASE}/runs/{run_id}/files/reconciliation.json", headers=viewer.headers
    )
    body = json.loads(response.text)
    confirmed = PURCHASES // 3
    # every 3rd purchase confirmed: by receipt every 6th, by time the others, a minute apart
    assert body["summary"] == {
        "matched": confirmed, "af_only": PURCHASES - confirmed, "confirmed_only": 0,
        "matched_by_receipt": PURCHASES // 6, "matched_by_time": confirmed - PURCHASES // 6,
        "amount_mismatches": 0, "match_minutes": 10, "amount_tolerance": 0.01,
    }  # fmt: skip
    assert len(body["details"]) == PURCHASES == len(ordered)
    assert [
        (d["status"], d["appsflyer_id"], d["purchase_time"], d["confirmed_time"])
        for d in body["details"]
    ] == [
        (r.status, r.appsflyer_id, r.purchase_time.isoformat(),
         r.confirmed_time and r.confirmed_time.isoformat())
        for r in ordered
    ]  # fmt: skip
    report = await client.get(
        f"{BASE}/runs/{run_id}/reports/reconciliation", headers=viewer.headers
    )
    assert report.json() == body


@pytest.mark.parametrize(
    "path",
    ["reports/purchases_curated", "reports/reconciliation", "files/purchases_curated.csv",
     "files/reconciliation.json"],
)  # fmt: skip
async def test_another_tenant_reads_none_of_a_runs_rows(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, run_id: str, path: str
) -> None:
    other = callers.user(uuid.uuid4(), "owner")
    response = await client.get(f"{BASE}/runs/{run_id}/{path}", headers=other.headers)
    assert (response.status_code, response.json()["title"]) == (404, "Not Found")
    mine = await client.get(f"{BASE}/runs/{run_id}/{path}", headers=callers.user(tenant).headers)
    assert mine.status_code == 200
