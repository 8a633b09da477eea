"""GA4 connections, report definitions and ingest jobs through the API: validation, roles and
tenants (no pull runs here; see test_pulls)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.db import Database
from ingestion_service.config import IngestionSettings
from ingestion_service.jobs import schedule_daily_pulls
from ingestion_testing import Callers

CONNECTION = {"property_id": "properties/123456", "time_zone": "America/New_York"}


async def connect(client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID) -> dict:
    admin = callers.user(tenant, role="admin")
    response = await client.post("/data/ga4/connections", json=CONNECTION, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_connection_is_registered_with_its_key_dimensions(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    made = await connect(client, callers, tenant)
    assert {k: made[k] for k in ("property_id", "time_zone", "status", "display_name")} == {
        "property_id": "123456",
        "time_zone": "America/New_York",
        "status": "active",
        "display_name": None,
    }
    assert (
        made["session_id_dimension"],
        made["web_user_id_dimension"],
        made["branch_id_dimension"],
    ) == ("customEvent:ga_session_id", "customUser:web_user_id", "customEvent:branch_id")
    again = await client.post(
        "/data/ga4/connections",
        json=CONNECTION,
        headers=callers.user(tenant, role="owner").headers,
    )
    assert again.status_code == 409
    assert again.json()["detail"] == "Property 123456 is already connected."


async def test_bad_connections_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    admin = callers.user(tenant, role="admin")
    for body, field in [
        ({**CONNECTION, "time_zone": "Mars/Olympus"}, "time_zone"),
        ({**CONNECTION, "property_id": "UA-1234-1"}, "property_id"),
        ({**CONNECTION, "branch_id_dimension": "branch"}, "branch_id_dimension"),
        ({**CONNECTION, "colour": "red"}, "colour"),
    ]:
        response = await client.post("/data/ga4/connections", json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert [e["loc"][-1] for e in response.json()["errors"]] == [field]
    count = await conn.execute(text("SELECT count(*) FROM ingestion.ga4_connection"))
    assert count.scalar_one() == 0


async def test_a_time_zone_naming_a_folder_of_the_zone_database_is_a_422(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    """America is a folder of the zone database, not a zone: it was read as a file (a 500)."""
    admin = callers.user(tenant, role="admin")
    made = await client.post(
        "/data/ga4/connections", json={**CONNECTION, "time_zone": "America"}, headers=admin.headers
    )
    assert made.status_code == 422, made.text
    assert [(e["loc"], e["msg"]) for e in made.json()["errors"]] == [
        (["body", "time_zone"], "Value error, expected an IANA time zone such as Europe/Berlin")
    ]
    count = await conn.execute(text("SELECT count(*) FROM ingestion.ga4_connection"))
    assert count.scalar_one() == 0
    connection = await connect(client, callers, tenant)
    changed = await client.patch(
        f"/data/ga4/connections/{connection['id']}",
        json={"time_zone": "Europe"},
        headers=admin.headers,
    )
    assert changed.status_code == 422, changed.text
    assert [e["loc"] for e in changed.json()["errors"]] == [["body", "time_zone"]]


async def test_only_admins_manage_connections_and_only_analysts_start_jobs(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, role="analyst")
    viewer = callers.user(tenant, role="viewer")
    refused = await client.post("/data/ga4/connections", json=CONNECTION, headers=analyst.headers)
    assert refused.status_code == 403
    made = await connect(client, callers, tenant)
    listed = await client.get("/data/ga4/connections", headers=viewer.headers)
    assert [c["id"] for c in listed.json()] == [made["id"]]
    body = {"start_date": "2026-11-01", "end_date": "2026-11-02"}
    assert (
        await client.post("/data/ingest/start", json=body, headers=viewer.headers)
    ).status_code == 403
    machine = callers.machine(tenant, "admin")
    assert (
        await client.post("/data/ingest/start", json=body, headers=machine.headers)
    ).status_code == 403
    started = await client.post("/data/ingest/start", json=body, headers=analyst.headers)
    assert started.status_code == 202


async def test_a_started_job_has_a_day_per_date_type_and_connection_and_is_queued(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    made = await connect(client, callers, tenant)
    analyst = callers.user(tenant, role="analyst")
    response = await client.post(
        "/data/ingest/start",
        json={"start_date": "2026-11-01", "end_date": "2026-11-03", "data_types": ["events"]},
        headers=analyst.headers,
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["data_types"] == [
        "page_views",
        "purchases",
        "purchase_items",
        "add_to_cart",
        "add_to_cart_items",
        "item_views",
        "search_results",
        "failed_searches",
    ]
    assert job["connection_ids"] == [made["id"]]
    assert (job["status"], job["trigger"], job["days_total"], job["days_done"]) == (
        "queued",
        "api",
        24,
        0,
    )
    assert job["requested_by"] == f"user:{analyst.subject}"
    queued = await conn.execute(
        text(
            "SELECT count(*) FROM ingestion.pgqueuer WHERE entrypoint = 'ingestion.ga4_pull'"
            " AND status = 'queued' AND payload = :p"
        ),
        {"p": f'{{"job_id": "{job["id"]}"}}'.encode()},
    )
    assert queued.scalar_one() == 1
    listed = await client.get("/data/ingest/jobs", headers=analyst.headers)
    assert (listed.json()["total"], listed.json()["jobs"][0]["id"]) == (1, job["id"])


async def test_bad_job_requests_are_refused_with_the_reason(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    analyst = callers.user(tenant, role="analyst")
    none_yet = await client.post(
        "/data/ingest/start",
        json={"start_date": "2026-11-01", "end_date": "2026-11-01"},
        headers=analyst.headers,
    )
    assert none_yet.status_code == 409
    assert none_yet.json()["detail"] == (
        "No GA4 connection to pull from: register one with POST /data/ga4/connections."
    )
    await connect(client, callers, tenant)
    cases = [
        ({"start_date": "2026-11-02", "end_date": "2026-11-01"}, "start_date is after end_date."),
        (
            {"start_date": "2024-01-01", "end_date": "2026-01-01"},
            "A job covers at most 400 days; this range has 732.",
        ),
        ({"start_date": "2026-11-01", "end_date": "2099-01-01"}, "end_date is in the future."),
        (
            {"start_date": "2026-11-01", "end_date": "2026-11-01", "data_types": ["sales"]},
            "Unknown data types: sales.",
        ),
        (
            {
                "start_date": "2026-11-01",
                "end_date": "2026-11-01",
                "connection_ids": [str(uuid.uuid4())],
            },
            None,
        ),
    ]
    for body, detail in cases:
        response = await client.post("/data/ingest/start", json=body, headers=analyst.headers)
        assert response.status_code == 422, body
        if detail:
            assert response.json()["detail"] == detail
    unknown = await client.post(
        "/data/ingest/start",
        json={"start_date": "2026-11-01", "end_date": "2026-11-01", "data_types": ["sales"]},
        headers=analyst.headers,
    )
    assert "page_views" in unknown.json()["known"]
    jobs = await conn.execute(text("SELECT count(*) FROM ingestion.ingest_job"))
    assert jobs.scalar_one() == 0


async def test_a_tenant_defines_its_own_data_type(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    await connect(client, callers, tenant)
    admin = callers.user(tenant, role="admin")
    definition = {
        "name": "coupons",
        "fact_kind": "coupon_use",
        "dimensions": ["dateHourMinute", "{session_id}", "customEvent:coupon"],
        "metrics": ["eventCount"],
        "dimension_filter": {
            "filter": {"fieldName": "eventName", "stringFilter": {"value": "coupon"}}
        },
    }
    made = await client.post("/data/report-definitions", json=definition, headers=admin.headers)
    assert made.status_code == 201, made.text
    assert made.json() == {**definition, "description": None, "builtin": False}
    clash = await client.post(
        "/data/report-definitions", json={**definition, "name": "page_views"}, headers=admin.headers
    )
    assert clash.status_code == 409
    listed = await client.get("/data/report-definitions", headers=admin.headers)
    assert [d["name"] for d in listed.json()][-1] == "coupons"
    assert len(listed.json()) == 11
    started = await client.post(
        "/data/ingest/start",
        json={"start_date": "2026-11-01", "end_date": "2026-11-01", "data_types": ["coupons"]},
        headers=admin.headers,
    )
    assert started.json()["data_types"] == ["coupons"]
    other = callers.user(uuid.uuid4(), role="admin")
    theirs = await client.get("/data/report-definitions", headers=other.headers)
    assert "coupons" not in [d["name"] for d in theirs.json()]
    assert (
        await client.delete("/data/report-definitions/coupons", headers=other.headers)
    ).status_code == 404
    assert (
        await client.delete("/data/report-definitions/page_views", headers=admin.headers)
    ).status_code == 409
    assert (
        await client.delete("/data/report-definitions/coupons", headers=admin.headers)
    ).status_code == 204


async def test_a_dimension_filter_google_cannot_read_is_refused_before_it_is_stored(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    """The worker would only fail on it later (or store NaN, NUL: a 500 from JSONB)."""
    admin = callers.user(tenant, role="admin")
    definition = {
        "name": "coupons",
        "fact_kind": "coupon_use",
        "dimensions": ["dateHourMinute"],
        "metrics": ["eventCount"],
    }
    on_event = {"fieldName": "eventName"}
    cases = [
        (
            {"bogus": 1},
            'not a GA4 FilterExpression: Message type "google.analytics.data.v1beta.'
            'FilterExpression" has no field named "bogus" at "FilterExpression".',
        ),
        (
            {"filter": {"fieldName": 5}},
            "not a GA4 FilterExpression: Failed to parse fieldName field: expected string or"
            " bytes-like object, got 'int'.",
        ),
        (
            {},
            "not a GA4 FilterExpression: it needs one of andGroup, orGroup, notExpression, filter",
        ),
        (
            {"filter": {**on_event, "stringFilter": {"value": "a\x00b"}}},
            "may not contain NUL (U+0000)",
        ),
        (
            {
                "filter": {
                    **on_event,
                    "numericFilter": {"operation": "EQUAL", "value": {"int64Value": "9" * 20}},
                }
            },
            "not a GA4 FilterExpression: Failed to parse value field: Failed to parse int64Value"
            f" field: Value out of range: {'9' * 20}..",
        ),
    ]
    for dimension_filter, message in cases:
        response = await client.post(
            "/data/report-definitions",
            json={**definition, "dimension_filter": dimension_filter},
            headers=admin.headers,
        )
        assert response.status_code == 422, response.text
        assert [(e["loc"], e["msg"]) for e in response.json()["errors"]] == [
            (["body", "dimension_filter"], f"Value error, {message}")
        ]
    nan = (
        '{"name": "coupons", "fact_kind": "coupon_use", "dimensions": ["dateHourMinute"],'
        ' "metrics": ["eventCount"], "dimension_filter": {"filter": {"fieldName": "eventName",'
        ' "numericFilter": {"operation": "EQUAL", "value": {"doubleValue": NaN}}}}}'
    )
    response = await client.post(
        "/data/report-definitions",
        content=nan,
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert [e["msg"] for e in response.json()["errors"]] == [
        "Value error, not a GA4 FilterExpression: a number is NaN or infinite"
    ]
    stored = await conn.execute(text("SELECT count(*) FROM ingestion.ga4_report_definition"))
    assert stored.scalar_one() == 0


async def test_another_tenant_sees_and_touches_none_of_it(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    made = await connect(client, callers, tenant)
    mine = callers.user(tenant, role="owner")
    job = await client.post(
        "/data/ingest/start",
        json={"start_date": "2026-11-01", "end_date": "2026-11-01"},
        headers=mine.headers,
    )
    other = callers.user(uuid.uuid4(), role="owner")
    base = f"/data/ga4/connections/{made['id']}"
    job_url = f"/data/ingest/jobs/{job.json()['id']}"
    assert (await client.get(base, headers=other.headers)).status_code == 404
    assert (
        await client.patch(base, json={"display_name": "x"}, headers=other.headers)
    ).status_code == 404
    assert (await client.delete(base, headers=other.headers)).status_code == 404
    assert (await client.post(f"{base}/test", headers=other.headers)).status_code == 404
    assert (await client.get("/data/ga4/connections", headers=other.headers)).json() == []
    assert (await client.get(job_url, headers=other.headers)).status_code == 404
    assert (await client.post(f"{job_url}/cancel", headers=other.headers)).status_code == 404
    assert (await client.get("/data/ingest/jobs", headers=other.headers)).json()["total"] == 0
    availability = await client.get(
        "/data/availability", params={"connection_id": made["id"]}, headers=other.headers
    )
    assert availability.status_code == 404
    other_job = await client.post(
        "/data/ingest/start",
        json={"start_date": "2026-11-01", "end_date": "2026-11-01", "connection_ids": [made["id"]]},
        headers=other.headers,
    )
    assert other_job.status_code == 422
    # Still there, untouched, for its own tenant; a queued job keeps it from being removed.
    assert (await client.get(base, headers=mine.headers)).json()["display_name"] is None
    busy = await client.delete(base, headers=mine.headers)
    assert busy.status_code == 409
    await client.post(f"{job_url}/cancel", headers=mine.headers)
    assert (await client.delete(base, headers=mine.headers)).status_code == 204


async def test_the_daily_schedule_pulls_yesterday_and_the_days_google_still_corrects(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    database: Database,
    settings: IngestionSettings,
) -> None:
    await connect(client, callers, tenant)
    resting = uuid.uuid4()
    paused = await connect(client, callers, resting)
    await client.patch(
        f"/data/ga4/connections/{paused['id']}",
        json={"status": "disabled"},
        headers=callers.user(resting, role="admin").headers,
    )

    # (Counts are not asserted: tenants other tests committed may be scheduled too.)
    await schedule_daily_pulls(database.sessionmaker, settings)
    await schedule_daily_pulls(database.sessionmaker, settings)  # once a day: adds nothing

    jobs = (await client.get("/data/ingest/jobs", headers=callers.user(tenant).headers)).json()
    [job] = jobs["jobs"]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert (job["trigger"], job["requested_by"], job["start_date"], job["end_date"]) == (
        "schedule",
        "schedule",
        (yesterday - timedelta(days=3)).isoformat(),
        yesterday.isoformat(),
    )
    assert job["data_types"][-1] == "locations"
    assert job["days_total"] == 4 * 10  # four days of every built-in data type
    idle = (await client.get("/data/ingest/jobs", headers=callers.user(resting).headers)).json()
    assert idle["total"] == 0


async def test_a_patch_changes_only_what_it_sends_and_may_clear_the_name(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    admin = callers.user(tenant, role="admin")
    made = await connect(client, callers, tenant)
    url = f"/data/ga4/connections/{made['id']}"
    named = await client.patch(url, json={"display_name": "Shop"}, headers=admin.headers)
    assert (named.json()["display_name"], named.json()["time_zone"]) == (
        "Shop",
        "America/New_York",
    )
    cleared = await client.patch(url, json={"display_name": None}, headers=admin.headers)
    assert (cleared.json()["display_name"], cleared.json()["time_zone"]) == (
        None,
        "America/New_York",
    )
    for field in ("time_zone", "branch_id_dimension", "status"):
        refused = await client.patch(url, json={field: None}, headers=admin.headers)
        assert refused.status_code == 422, field
        assert [e["loc"][-1] for e in refused.json()["errors"]] == [field]
