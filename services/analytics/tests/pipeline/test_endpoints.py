"""/analytics/pipeline over HTTP: runs queued, run by the job, kept; reports as JSON and as the
seed's files, with the values worked by hand in conftest.py; tenants and roles kept apart."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.pipeline import repository
from analytics_service.pipeline.runner import run_pipeline, schedule_daily_runs
from analytics_testing import Caller, Callers
from common.db import Database

pytestmark = pytest.mark.usefixtures("warehouse")
BASE = "/analytics/pipeline"
REPORTS = ["purchases_curated", "reconciliation", "roas_d1", "roas_anomaly", "arpdau_d1"]


async def start(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(f"{BASE}/run", json=body, headers=caller.headers)
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    return run


async def completed_run(
    client: httpx.AsyncClient,
    database: Database,
    caller: Caller,
    tenant: uuid.UUID,
    body: dict[str, Any] | None = None,
) -> str:
    run = await start(client, caller, {"as_of": "2026-11-20", **(body or {})})
    run_id = uuid.UUID(run["id"])
    assert await run_pipeline(database.sessionmaker, tenant, run_id) == "completed"
    return str(run_id)


async def report(client: httpx.AsyncClient, caller: Caller, run_id: str, name: str) -> Any:
    response = await client.get(f"{BASE}/runs/{run_id}/reports/{name}", headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_run_is_queued_as_a_job_then_completed_with_its_reports(
    client: httpx.AsyncClient,
    callers: Callers,
    database: Database,
    conn: AsyncConnection,
    tenant: uuid.UUID,
) -> None:
    analyst = callers.user(tenant, "analyst")
    run = await start(client, analyst, {"as_of": "2026-11-20"})
    assert (run["status"], run["trigger"], run["requested_by"]) == (
        "queued", "api", f"user:{analyst.subject}"
    )  # fmt: skip
    assert (run["as_of"], run["report_date"], run["match_minutes"], run["amount_tolerance"]) == (
        "2026-11-20", "2026-11-19", 10, 0.01
    )  # fmt: skip
    assert (run["started_at"], run["reports"]) == (None, [])
    queued = await conn.scalar(
        text("SELECT payload FROM analytics.pgqueuer WHERE entrypoint = 'analytics.pipeline'"
             " AND convert_from(payload, 'UTF8')::jsonb ->> 'run_id' = :id"),
        {"id": run["id"]},
    )  # fmt: skip
    assert json.loads(queued) == {"tenant_id": str(tenant), "run_id": run["id"]}

    assert await run_pipeline(database.sessionmaker, tenant, uuid.UUID(run["id"])) == "completed"
    assert await run_pipeline(database.sessionmaker, tenant, uuid.UUID(run["id"])) == "done"
    viewer = callers.user(tenant, "viewer")
    done = (await client.get(f"{BASE}/runs/{run['id']}", headers=viewer.headers)).json()
    assert done["status"] == "completed"
    assert done["error"] is None
    assert sorted(done["timings"]) == sorted(REPORTS)
    assert done["duration_ms"] >= sum(done["timings"].values()) - len(REPORTS)
    assert [(r["name"], r["file"], r["rows"]) for r in done["reports"]] == [
        ("purchases_curated", "purchases_curated.csv", 14),
        ("reconciliation", "reconciliation.json", 16),
        ("roas_d1", "roas_d1.json", 4),
        ("roas_anomaly", "roas_anomaly.json", 4),
        ("arpdau_d1", "arpdau_d1.json", 3),
    ]


async def test_the_reports_hold_the_hand_worked_figures(
    client: httpx.AsyncClient, callers: Callers, database: Database, tenant: uuid.UUID
) -> None:
    caller = callers.user(tenant, "analyst")
    run_id = await completed_run(client, database, caller, tenant)
    assert await report(client, caller, run_id, "roas_d1") == [
        {"date": "2026-11-19", "campaign": "AUTUMN", "revenue_usd": 0, "ad_cost_usd": 10,
         "roas": 0},
        {"date": "2026-11-19", "campaign": "SPRING", "revenue_usd": 5, "ad_cost_usd": None,
         "roas": 0},
        {"date": "2026-11-19", "campaign": "SUMMER", "revenue_usd": 12.5, "ad_cost_usd": 50,
         "roas": 0.25},
        {"date": "2026-11-19", "campaign": "WINTER", "revenue_usd": 17, "ad_cost_usd": 34,
         "roas": 0.5},
    ]  # fmt: skip
    quiet = {"robust_median": None, "robust_mad": None, "robust_history": 0,
             "robust_threshold": None, "robust_anomaly": False}  # fmt: skip
    assert await report(client, caller, run_id, "roas_anomaly") == [
        {"date": "2026-11-19", "campaign": "AUTUMN", "roas_d1": 0, "avg7": 0, "anomaly": False,
         **quiet},
        {"date": "2026-11-19", "campaign": "SPRING", "roas_d1": 0, "avg7": 0, "anomaly": False,
         **quiet},
        {"date": "2026-11-19", "campaign": "SUMMER", "roas_d1": 0.25, "avg7": 1.875,
         "anomaly": True, "robust_median": 2.1, "robust_mad": 0.2, "robust_history": 4,
         "robust_threshold": 1.21044, "robust_anomaly": True},
        {"date": "2026-11-19", "campaign": "WINTER", "roas_d1": 0.5, "avg7": 1.03,
         "anomaly": True, "robust_median": 0.55, "robust_mad": 0.05, "robust_history": 3,
         "robust_threshold": 0.3, "robust_anomaly": False},
    ]  # fmt: skip
    assert await report(client, caller, run_id, "arpdau_d1") == [
        {"date": "2026-11-19", "campaign": "SPRING", "revenue": 5, "dau": 3, "arpdau": 1.666667},
        {"date": "2026-11-19", "campaign": "SUMMER", "revenue": 12.5, "dau": 3,
         "arpdau": 4.166667},
        {"date": "2026-11-19", "campaign": "WINTER", "revenue": 17, "dau": 3,
         "arpdau": 5.666667},
    ]  # fmt: skip
    reconciliation = await report(client, caller, run_id, "reconciliation")
    assert reconciliation["summary"] == {
        "matched": 4, "af_only": 10, "confirmed_only": 2, "matched_by_receipt": 3,
        "matched_by_time": 1, "amount_mismatches": 1, "match_minutes": 10,
        "amount_tolerance": 0.01,
    }  # fmt: skip
    assert reconciliation["details"][3] == {
        "status": "matched", "matched_by": "time", "appsflyer_id": "af-3", "campaign": "Winter",
        "purchase_time": "2026-11-19T12:06:00+00:00",
        "confirmed_time": "2026-11-19T12:04:00+00:00", "purchase_revenue_usd": 9,
        "confirmed_revenue_usd": 9, "purchase_receipt_id": None, "confirmed_receipt_id": None,
        "seconds_apart": -120, "amount_diff": 0, "amount_mismatch": False, "chargeback": False,
    }  # fmt: skip
    curated = await report(client, caller, run_id, "purchases_curated")
    assert curated[10] == {
        "appsflyer_id": "af-2", "event_name": "purchase",
        "event_time_utc": "2026-11-19T11:00:00+00:00", "revenue_usd": 0, "campaign": "Summer",
        "receipt_id": "r-2", "status": "success", "chargeback": True,
        "original_revenue_usd": 20,
    }  # fmt: skip


async def test_the_tolerances_of_a_run_change_its_reconciliation(
    client: httpx.AsyncClient, callers: Callers, database: Database, tenant: uuid.UUID
) -> None:
    caller = callers.user(tenant, "analyst")
    body = {"match_minutes": 1, "amount_tolerance": 0.5}
    run_id = await completed_run(client, database, caller, tenant, body)
    summary = (await report(client, caller, run_id, "reconciliation"))["summary"]
    assert summary == {
        "matched": 3, "af_only": 11, "confirmed_only": 3, "matched_by_receipt": 3,
        "matched_by_time": 0, "amount_mismatches": 0, "match_minutes": 1,
        "amount_tolerance": 0.5,
    }  # fmt: skip


async def test_the_seeds_files_download(
    client: httpx.AsyncClient, callers: Callers, database: Database, tenant: uuid.UUID
) -> None:
    caller = callers.user(tenant, "viewer")
    run_id = await completed_run(client, database, callers.user(tenant, "analyst"), tenant)
    response = await client.get(
        f"{BASE}/runs/{run_id}/files/purchases_curated.csv", headers=caller.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="purchases_curated.csv"'
    )
    lines = response.text.splitlines()
    assert len(lines) == 15
    assert lines[0] == (
        "appsflyer_id,event_name,event_time_utc,revenue_usd,campaign,receipt_id,status,"
        "chargeback,original_revenue_usd"
    )
    assert lines[10:12] == [
        "af-1,purchase,2026-11-19T10:00:00+00:00,12.5,summer,r-1,success,false,12.5",
        "af-2,purchase,2026-11-19T11:00:00+00:00,0,Summer,r-2,success,true,20",
    ]
    response = await client.get(f"{BASE}/runs/{run_id}/files/roas_d1.json", headers=caller.headers)
    assert response.headers["content-disposition"] == 'attachment; filename="roas_d1.json"'
    assert response.json() == await report(client, caller, run_id, "roas_d1")


async def test_the_seeds_run_pipeline_needs_no_body_and_takes_today(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    response = await client.post("/run-pipeline", headers=callers.user(tenant, "owner").headers)
    assert response.status_code == 202
    today = datetime.now(UTC).date()
    assert (response.json()["status"], response.json()["as_of"]) == ("queued", str(today))


async def test_reports_wait_for_the_run_to_complete(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    caller = callers.user(tenant, "analyst")
    run = await start(client, caller)
    response = await client.get(f"{BASE}/runs/{run['id']}/reports/roas_d1", headers=caller.headers)
    assert response.status_code == 409
    assert response.json()["type"].endswith("run-not-completed")


async def test_a_run_that_fails_says_why_and_keeps_no_report(
    client: httpx.AsyncClient,
    callers: Callers,
    database: Database,
    conn: AsyncConnection,
    tenant: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caller = callers.user(tenant, "analyst")
    run = await start(client, caller)
    real = repository.store_report

    async def failing(session: Any, name: str, run: Any) -> None:
        if name == "roas_anomaly":
            raise RuntimeError("the warehouse is away")
        return await real(session, name, run)

    monkeypatch.setattr(repository, "store_report", failing)
    assert await run_pipeline(database.sessionmaker, tenant, uuid.UUID(run["id"])) == "failed"
    failed = (await client.get(f"{BASE}/runs/{run['id']}", headers=caller.headers)).json()
    assert (failed["status"], failed["error"], failed["reports"], failed["timings"]) == (
        "failed", "RuntimeError: the warehouse is away", [], None
    )  # fmt: skip
    assert failed["finished_at"] is not None
    # the curated purchases and the reconciliation, stored before the failure, went with it
    for table in ("pipeline_report", "pipeline_purchase_block", "pipeline_reconciliation_block"):
        kept = await conn.scalar(
            text(f"SELECT count(*) FROM analytics.{table} WHERE run_id = :run"),  # noqa: S608
            {"run": run["id"]},
        )
        assert (table, kept) == (table, 0)


async def test_another_tenant_sees_none_of_the_runs(
    client: httpx.AsyncClient,
    callers: Callers,
    database: Database,
    tenant: uuid.UUID,
    other_tenant: uuid.UUID,
) -> None:
    mine = callers.user(tenant, "analyst")
    theirs = callers.user(other_tenant, "analyst")
    run_id = await completed_run(client, database, mine, tenant)
    their_run = await completed_run(client, database, theirs, other_tenant)
    for path in ("", "/reports/roas_d1", "/files/roas_d1.json"):
        response = await client.get(f"{BASE}/runs/{run_id}{path}", headers=theirs.headers)
        assert response.status_code == 404, path
    listed = (await client.get(f"{BASE}/runs", headers=theirs.headers)).json()
    assert ([r["id"] for r in listed["runs"]], listed["total"]) == ([their_run], 1)
    assert await report(client, theirs, their_run, "roas_d1") == [
        {"date": "2026-11-19", "campaign": "SUMMER", "revenue_usd": 1000, "ad_cost_usd": 1,
         "roas": 1000}
    ]  # fmt: skip


async def test_runs_are_listed_newest_first_and_by_status(
    client: httpx.AsyncClient, callers: Callers, database: Database, tenant: uuid.UUID
) -> None:
    caller = callers.user(tenant, "analyst")
    first = await completed_run(client, database, caller, tenant)
    second = (await start(client, caller))["id"]
    page = (await client.get(f"{BASE}/runs?limit=1", headers=caller.headers)).json()
    assert ([r["id"] for r in page["runs"]], page["total"], page["has_more"]) == (
        [second], 2, True
    )  # fmt: skip
    done = (await client.get(f"{BASE}/runs?status=completed", headers=caller.headers)).json()
    assert [r["id"] for r in done["runs"]] == [first]


async def test_viewers_read_analysts_run(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    viewer = callers.user(tenant, "viewer")
    for path in (f"{BASE}/run", "/run-pipeline"):
        response = await client.post(path, json={}, headers=viewer.headers)
        assert response.status_code == 403
    assert (await client.get(f"{BASE}/runs", headers=viewer.headers)).status_code == 200
    assert (await client.get(f"{BASE}/runs")).status_code == 401
    machine = callers.machine(tenant, "admin")
    assert (await client.get(f"{BASE}/runs", headers=machine.headers)).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [({"as_of": "2026-13-01"}, "as_of"), ({"as_of": 20261120}, "as_of"),
     ({"as_of": "1999-12-31"}, "as_of"), ({"match_minutes": -1}, "match_minutes"),
     ({"match_minutes": 1441}, "match_minutes"), ({"match_minutes": 2.5}, "match_minutes"),
     ({"amount_tolerance": -0.01}, "amount_tolerance"),
     ({"amount_tolerance": "lots"}, "amount_tolerance"), ({"as_if": "2026-11-20"}, "as_if")],
)  # fmt: skip
async def test_bad_parameters_are_422_problems(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, body: Any, field: str
) -> None:
    response = await client.post(
        f"{BASE}/run", json=body, headers=callers.user(tenant, "analyst").headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in response.json()["errors"]] == [["body", field]]


async def test_unknown_reports_and_runs(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    caller = callers.user(tenant, "viewer")
    missing = f"{BASE}/runs/{uuid.uuid4()}"
    assert (await client.get(missing, headers=caller.headers)).status_code == 404
    bad = await client.get(f"{missing}/reports/roas_d2", headers=caller.headers)
    assert bad.status_code == 422


async def test_the_daily_schedule_runs_each_tenant_with_data_once(
    client: httpx.AsyncClient,
    callers: Callers,
    database: Database,
    tenant: uuid.UUID,
    other_tenant: uuid.UUID,
) -> None:
    today = date(2026, 11, 20)
    await schedule_daily_runs(database.sessionmaker, today)
    await schedule_daily_runs(database.sessionmaker, today)  # once a day: adds nothing
    for who in (tenant, other_tenant):
        caller = callers.user(who, "viewer")
        runs = (await client.get(f"{BASE}/runs", headers=caller.headers)).json()["runs"]
        assert [(r["trigger"], r["requested_by"], r["as_of"]) for r in runs] == [
            ("schedule", "schedule", "2026-11-20")
        ]


async def test_a_run_kept_before_reports_were_rows_says_to_run_again(
    client: httpx.AsyncClient,
    callers: Callers,
    conn: AsyncConnection,
    database: Database,
    tenant: uuid.UUID,
) -> None:
    """The migration to blocks deletes an older run's two big reports (their JSON text is not
    read any more): asking for one is a 404 that says why, not an empty list."""
    caller = callers.user(tenant, "viewer")
    run_id = await completed_run(client, database, callers.user(tenant, "analyst"), tenant)
    roas = await report(client, caller, run_id, "roas_d1")
    await conn.execute(
        text("DELETE FROM analytics.pipeline_report WHERE run_id = :r AND name = 'reconciliation'"),
        {"r": uuid.UUID(run_id)},
    )
    for path in ("reports/reconciliation", "files/reconciliation.json"):
        response = await client.get(f"{BASE}/runs/{run_id}/{path}", headers=caller.headers)
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == (
            "The run has no reconciliation report any more: it was made before reports were "
            "kept as rows. Run the pipeline again for it."
        )
    assert await report(client, caller, run_id, "roas_d1") == roas  # the others stay
