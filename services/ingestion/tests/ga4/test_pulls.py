"""GA4 pulls end to end: a token from auth, Google's client against the fake Data API, facts in
the outbox, the job's state through the API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing.ga4 import DAILY, HOURLY, FakeGA4
from common.testing.oidc_provider import FakeOIDCProvider
from ingestion_service.ga4.client import GA4Api, Page, quota_resume_at
from ingestion_service.ga4.definitions import Report
from ingestion_service.ga4.tokens import GrantTokens
from ingestion_service.pulls.runner import Puller
from ingestion_testing import Callers

from .conftest import PAGE_SIZE, Tenant, facts, page_views

API = tuple[httpx.AsyncClient, Callers]


async def start(api: API, shop: Tenant, first: str, last: str, types: list[str]) -> dict[str, Any]:
    client, _ = api
    response = await client.post(
        "/data/ingest/start",
        json={"start_date": first, "end_date": last, "data_types": types},
        headers=shop.admin.headers,
    )
    assert response.status_code == 202, response.text
    return response.json()


async def job(api: API, shop: Tenant, job_id: str) -> dict[str, Any]:
    client, _ = api
    response = await client.get(f"/data/ingest/jobs/{job_id}", headers=shop.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def requests_for(fake: FakeGA4, shop: Tenant) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["property"] == shop.property.property_id]


async def test_a_day_of_several_pages_is_pulled_whole_into_facts(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str], engine: AsyncEngine
) -> None:
    fake, _ = ga4
    shop.property.add(page_views("20261101", 120))
    shop.property.thresholded_days.add("20261101")
    shop.property.other_row_days.add("20261101")
    fake.changed()
    started = await start(api, shop, "2026-11-01", "2026-11-01", ["page_views"])
    assert (started["status"], started["days_total"], started["days_done"]) == ("queued", 1, 0)

    await puller.run(uuid.UUID(started["id"]))

    done = await job(api, shop, started["id"])
    assert done["status"] == "completed", done["errors"]
    assert (done["days_done"], done["days_failed"], done["rows_done"], done["rows_total"]) == (
        1,
        0,
        120,
        120,
    )
    sent = requests_for(fake, shop)
    # The first page tells rowCount; the two after it are asked for together.
    assert sorted((int(r.get("offset", "0")), r["limit"]) for r in sent) == [
        (0, str(PAGE_SIZE)),
        (PAGE_SIZE, str(PAGE_SIZE)),
        (2 * PAGE_SIZE, str(PAGE_SIZE)),
    ]
    assert sent[0].get("offset", "0") == "0"
    assert sent[0]["dimensions"] == [
        {"name": "dateHourMinute"},
        {"name": "customEvent:ga_session_id"},
        {"name": "customUser:web_user_id"},
        {"name": "customEvent:branch_id"},
        {"name": "pageLocation"},
        {"name": "pageTitle"},
    ]
    assert sent[0]["dateRanges"] == [{"startDate": "2026-11-01", "endDate": "2026-11-01"}]
    assert sent[0]["returnPropertyQuota"] is True
    # The fake charges 1 + rows // 100 tokens a page: 50, 50 and 20 rows.
    assert done["quota_tokens"] == 3
    assert done["thresholded_days"] == 1

    rows = await facts(engine, shop.id, "ingestion.ga4_rows.v1")
    assert len(rows) == 1
    assert (rows[0]["part"], rows[0]["parts"], len(rows[0]["rows"])) == (1, 1, 120)
    first = min(rows[0]["rows"], key=lambda r: r["event_time"])
    assert first == {
        "event_time": "2026-11-01T08:00:00+01:00",
        "session_id": "s0",
        "web_user_id": "u0",
        "branch_id": "D01",
        "page_location": "https://shop.example/p/0",
        "page_title": "Product 0",
        "screen_page_views": 1,
    }
    [day] = await facts(engine, shop.id, "ingestion.ga4_day.v1")
    assert {k: v for k, v in day.items() if k != "pull_id"} == {
        "connection_id": shop.connection["id"],
        "property_id": shop.property.property_id,
        "data_type": "page_views",
        "fact_kind": "page_view",
        "day": "2026-11-01",
        "time_zone": "Europe/Berlin",
        "rows": 120,
        "parts": 1,
        "replaces_pull_id": None,
        "thresholded": True,
        "other_row": True,
    }
    assert rows[0]["pull_id"] == day["pull_id"]

    client, _ = api
    availability = await client.get("/data/availability", headers=shop.admin.headers)
    [connection] = availability.json()["connections"]
    [page_type] = connection["data_types"]
    assert page_type["data_type"] == "page_views"
    assert (page_type["first_day"], page_type["last_day"], page_type["rows"]) == (
        "2026-11-01",
        "2026-11-01",
        120,
    )
    assert page_type["missing_days"] == []
    assert (page_type["days"][0]["thresholded"], page_type["days"][0]["other_row"]) == (True, True)
    connection_state = await client.get(
        f"/data/ga4/connections/{shop.connection['id']}", headers=shop.admin.headers
    )
    assert connection_state.json()["last_success_at"] is not None
    assert connection_state.json()["quota"]["tokens_per_day"]["consumed"] == 1


async def test_a_re_pull_replaces_the_day_and_duplicates_nothing(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str], engine: AsyncEngine
) -> None:
    fake, _ = ga4
    shop.property.add(page_views("20261102", 10))
    fake.changed()
    first = await start(api, shop, "2026-11-02", "2026-11-02", ["page_views"])
    await puller.run(uuid.UUID(first["id"]))
    # Google corrects the day: three more page views arrive late.
    shop.property.clear_day("20261102")
    shop.property.add(page_views("20261102", 13))
    fake.changed()
    second = await start(api, shop, "2026-11-02", "2026-11-02", ["page_views"])
    await puller.run(uuid.UUID(second["id"]))

    assert (await job(api, shop, second["id"]))["rows_done"] == 13
    days = await facts(engine, shop.id, "ingestion.ga4_day.v1")
    assert [d["rows"] for d in days] == [10, 13]
    assert days[1]["replaces_pull_id"] == days[0]["pull_id"]
    async with engine.connect() as conn:
        pulled = await conn.execute(
            text(
                "SELECT rows, pull_id::text FROM ingestion.ga4_pulled_day"
                " WHERE tenant_id = :t AND day = '2026-11-02'"
            ),
            {"t": shop.id},
        )
        assert pulled.all() == [(13, days[1]["pull_id"])]
    client, _ = api
    availability = (await client.get("/data/availability", headers=shop.admin.headers)).json()
    assert availability["connections"][0]["data_types"][0]["rows"] == 13


async def test_an_hourly_quota_stop_waits_for_the_next_hour_and_resumes(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str], engine: AsyncEngine
) -> None:
    fake, _ = ga4
    for day in ("20261103", "20261104", "20261105"):
        shop.property.add(page_views(day, 5))
    shop.property.tokens_per_hour = 2  # two one-page days, then 429
    fake.changed()
    started = await start(api, shop, "2026-11-03", "2026-11-05", ["page_views"])
    before = datetime.now(UTC)

    await puller.run(uuid.UUID(started["id"]))

    waiting = await job(api, shop, started["id"])
    assert waiting["status"] == "queued"
    assert (waiting["days_done"], waiting["days_failed"]) == (2, 0)
    expected = quota_resume_at("hourly", before)
    assert datetime.fromisoformat(waiting["waiting_until"]) == expected
    assert waiting["detail"] == (
        f"hourly GA4 quota exhausted ({HOURLY}); resumes after the next hour"
        f" at {expected:%Y-%m-%d %H:%M} UTC"
    )
    async with engine.connect() as conn:
        queued = await conn.execute(
            text(
                "SELECT execute_after FROM ingestion.pgqueuer"
                " WHERE entrypoint = 'ingestion.ga4_pull' AND payload = :p"
                " ORDER BY id DESC LIMIT 1"
            ),
            {"p": f'{{"job_id": "{started["id"]}"}}'.encode()},
        )
        resume = queued.scalar_one()
    assert abs((resume - expected).total_seconds()) < 5

    shop.property.tokens_per_hour = 40_000
    fake.reset_hour()
    await puller.run(uuid.UUID(started["id"]))
    resumed = await job(api, shop, started["id"])
    assert (resumed["status"], resumed["days_done"], resumed["waiting_until"]) == (
        "completed",
        3,
        None,
    )
    days = await facts(engine, shop.id, "ingestion.ga4_day.v1")
    assert sorted(d["day"] for d in days) == ["2026-11-03", "2026-11-04", "2026-11-05"]


async def test_a_daily_quota_stop_waits_for_googles_daily_reset(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str]
) -> None:
    fake, _ = ga4
    shop.property.add(page_views("20261106", 5))
    shop.property.tokens_per_day = 0
    fake.changed()
    started = await start(api, shop, "2026-11-06", "2026-11-06", ["page_views"])
    before = datetime.now(UTC)
    await puller.run(uuid.UUID(started["id"]))
    waiting = await job(api, shop, started["id"])
    expected = quota_resume_at("daily", before)
    assert waiting["status"] == "queued"
    assert datetime.fromisoformat(waiting["waiting_until"]) == expected
    assert waiting["detail"] == (
        f"daily GA4 quota exhausted ({DAILY}); resumes after Google's daily reset"
        f" at {expected:%Y-%m-%d %H:%M} UTC"
    )
    assert expected.astimezone(UTC) > before
    # Midnight in California, plus a minute.
    local = expected.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (local.hour, local.minute) == (0, 1)


async def test_transient_errors_are_retried_and_a_day_that_keeps_failing_is_reported(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str]
) -> None:
    fake, _ = ga4
    shop.property.add(page_views("20261107", 3))
    fake.changed()
    fake.fail_next(503, times=2)
    recovered = await start(api, shop, "2026-11-07", "2026-11-07", ["page_views"])
    await puller.run(uuid.UUID(recovered["id"]))
    assert (await job(api, shop, recovered["id"]))["status"] == "completed"

    fake.fail_next(503, "The service is currently unavailable.", times=5)  # every attempt
    broken = await start(api, shop, "2026-11-07", "2026-11-07", ["page_views"])
    await puller.run(uuid.UUID(broken["id"]))
    failed = await job(api, shop, broken["id"])
    assert (failed["status"], failed["detail"]) == ("failed", "1 of 1 days failed; see errors")
    assert failed["errors"] == [
        {
            "connection_id": shop.connection["id"],
            "data_type": "page_views",
            "day": "2026-11-07",
            "error": "The service is currently unavailable.",
        }
    ]


async def test_requests_per_property_stay_within_ten_at_once(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str]
) -> None:
    fake, _ = ga4
    for n in range(1, 25):
        shop.property.add(page_views(f"202610{n:02d}", 2))
    fake.changed()
    fake.delay_seconds = 0.3
    try:
        started = await start(api, shop, "2026-10-01", "2026-10-24", ["page_views"])
        await puller.run(uuid.UUID(started["id"]))
    finally:
        fake.delay_seconds = 0
    assert (await job(api, shop, started["id"]))["days_done"] == 24
    assert fake.max_in_flight[shop.property.property_id] == 10


async def test_a_revoked_grant_marks_the_connection_and_every_job_says_so(
    api: API,
    shop: Tenant,
    puller: Puller,
    ga4: tuple[FakeGA4, str],
    google: FakeOIDCProvider,
) -> None:
    fake, _ = ga4
    shop.property.add(page_views("20261108", 3))
    fake.changed()
    google.revoke_refresh_token(shop.refresh_token)  # the user withdrew consent at Google
    started = await start(api, shop, "2026-11-08", "2026-11-08", ["page_views"])

    await puller.run(uuid.UUID(started["id"]))

    failed = await job(api, shop, started["id"])
    assert failed["status"] == "failed"
    assert failed["needs_reconsent"] is True, failed["errors"]
    assert failed["detail"] == (
        "Google Analytics needs consent again (The google connection needs consent again:"
        " invalid_grant: Token has been expired or revoked.): an admin connects Google again"
        " with POST /auth/grants/google/connect."
    )
    client, _ = api
    connection = await client.get(
        f"/data/ga4/connections/{shop.connection['id']}", headers=shop.admin.headers
    )
    assert connection.json()["status"] == "needs_reconsent"
    later = await start(api, shop, "2026-11-08", "2026-11-08", ["page_views"])
    assert later["needs_reconsent"] is True


async def test_cancelling_a_queued_job_stops_it_before_any_request(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str]
) -> None:
    fake, _ = ga4
    client, _ = api
    started = await start(api, shop, "2026-11-01", "2026-11-03", ["page_views"])
    response = await client.post(
        f"/data/ingest/jobs/{started['id']}/cancel", headers=shop.admin.headers
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["days_done"]) == ("cancelled", 0)
    await puller.run(uuid.UUID(started["id"]))
    assert requests_for(fake, shop) == []
    again = await client.post(
        f"/data/ingest/jobs/{started['id']}/cancel", headers=shop.admin.headers
    )
    assert again.status_code == 409


async def test_testing_a_connection_checks_grant_dimensions_and_a_report(
    api: API, shop: Tenant, ga4: tuple[FakeGA4, str]
) -> None:
    client, _ = api
    url = f"/data/ga4/connections/{shop.connection['id']}/test"
    ok = await client.post(url, headers=shop.admin.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True
    assert [c["name"] for c in ok.json()["checks"]] == ["grant", "dimensions", "report"]
    assert ok.json()["connection"]["last_tested_at"] is not None

    changed = await client.patch(
        f"/data/ga4/connections/{shop.connection['id']}",
        json={"branch_id_dimension": "customEvent:store"},
        headers=shop.admin.headers,
    )
    assert changed.status_code == 200
    bad = await client.post(url, headers=shop.admin.headers)
    assert bad.json()["ok"] is False
    assert bad.json()["checks"][1] == {
        "name": "dimensions",
        "ok": False,
        "detail": "the property does not define customEvent:store",
    }
    assert bad.json()["connection"]["status"] == "failing"
    assert bad.json()["connection"]["last_error"] == (
        "the property does not define customEvent:store"
    )


async def add_definition(api: API, shop: Tenant, name: str, dimension_filter: dict) -> None:
    client, _ = api
    response = await client.post(
        "/data/report-definitions",
        json={
            "name": name,
            "fact_kind": name,
            "dimensions": ["dateHourMinute", "{session_id}"],
            "metrics": ["eventCount"],
            "dimension_filter": dimension_filter,
        },
        headers=shop.admin.headers,
    )
    assert response.status_code == 201, response.text


async def test_a_filter_google_rejects_fails_its_days_and_the_job_ends(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str]
) -> None:
    fake, _ = ga4
    shop.property.add(page_views("20261109", 3))
    fake.changed()
    coupon = {"filter": {"fieldName": "customEvent:coupon", "stringFilter": {"value": "X"}}}
    await add_definition(api, shop, "coupons", coupon)
    started = await start(api, shop, "2026-11-09", "2026-11-10", ["coupons", "page_views"])

    await puller.run(uuid.UUID(started["id"]))

    failed = await job(api, shop, started["id"])
    assert (failed["status"], failed["detail"]) == ("failed", "2 of 4 days failed; see errors")
    assert (failed["days_done"], failed["days_failed"], failed["rows_done"]) == (2, 2, 3)
    reason = (
        "Google refused the coupons report:"
        " Field customEvent:coupon is not a valid dimension in the filter."
    )
    assert [(e["data_type"], e["day"], e["error"]) for e in failed["errors"]] == [
        ("coupons", "2026-11-09", reason),
        ("coupons", "2026-11-10", reason),
    ]


async def test_a_stored_filter_the_client_cannot_read_fails_its_days_not_the_worker(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str], engine: AsyncEngine
) -> None:
    """A definition stored before filters were checked: its ParseError escaped the runner and
    left the job running for ever."""
    fake, _ = ga4
    shop.property.add(page_views("20261111", 2))
    fake.changed()
    await add_definition(api, shop, "coupons", {"filter": {"fieldName": "eventName"}})
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE ingestion.ga4_report_definition"
                ' SET dimension_filter = \'{"filter": {"fieldName": 5}}\''
                " WHERE tenant_id = :t AND name = 'coupons'"
            ),
            {"t": shop.id},
        )
    started = await start(api, shop, "2026-11-11", "2026-11-11", ["coupons", "page_views"])

    await puller.run(uuid.UUID(started["id"]))

    failed = await job(api, shop, started["id"])
    assert (failed["status"], failed["detail"]) == ("failed", "1 of 2 days failed; see errors")
    assert (failed["days_done"], failed["rows_done"]) == (1, 2)
    assert [(e["data_type"], e["error"]) for e in failed["errors"]] == [
        (
            "coupons",
            "the coupons report's dimension_filter is not a GA4 FilterExpression: Failed to"
            " parse fieldName field: expected string or bytes-like object, got 'int'.",
        )
    ]
    assert [r["dimensions"] for r in requests_for(fake, shop)] == [
        [
            {"name": "dateHourMinute"},
            {"name": "customEvent:ga_session_id"},
            {"name": "customUser:web_user_id"},
            {"name": "customEvent:branch_id"},
            {"name": "pageLocation"},
            {"name": "pageTitle"},
        ]
    ]


class Garbled(GA4Api):
    """Google's answer read into something the runner does not expect."""

    async def page(
        self, token: str, property_id: str, report: Report, day: str, offset: int, limit: int
    ) -> Page:
        raise KeyError("rowCount")


async def test_an_unexpected_error_in_a_day_fails_that_day_and_the_job_ends(
    api: API, shop: Tenant, puller: Puller
) -> None:
    garbled = Garbled(puller.settings)
    started = await start(api, shop, "2026-11-12", "2026-11-13", ["page_views"])
    try:
        await Puller(puller.settings, puller.sessionmaker, garbled, puller.tokens).run(
            uuid.UUID(started["id"])
        )
    finally:
        garbled.close()

    failed = await job(api, shop, started["id"])
    assert (failed["status"], failed["detail"]) == ("failed", "2 of 2 days failed; see errors")
    assert [(e["day"], e["error"]) for e in failed["errors"]] == [
        ("2026-11-12", "the pull stopped: KeyError"),
        ("2026-11-13", "the pull stopped: KeyError"),
    ]


class Broken(GrantTokens):
    async def get(self, tenant_id: uuid.UUID, *, refused: bool = False) -> str:
        raise RuntimeError("a bug")


async def test_an_unexpected_error_before_any_day_fails_the_job_not_the_worker(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str]
) -> None:
    fake, _ = ga4
    started = await start(api, shop, "2026-11-12", "2026-11-12", ["page_views"])
    broken = Broken(puller.tokens.http)

    await Puller(puller.settings, puller.sessionmaker, puller.api, broken).run(
        uuid.UUID(started["id"])
    )

    failed = await job(api, shop, started["id"])
    assert (failed["status"], failed["detail"]) == ("failed", "the job stopped: RuntimeError")
    assert (failed["days_total"], failed["days_failed"], failed["finished_at"] is None) == (
        1,
        1,
        False,
    )
    assert requests_for(fake, shop) == []


async def test_a_job_cancelled_while_the_worker_takes_it_up_stays_cancelled(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str], engine: AsyncEngine
) -> None:
    """The cancel commits while the worker begins: the worker read the job as queued and set it
    running over the cancel (a finished job running again, until it saw cancel_requested)."""
    fake, _ = ga4
    started = await start(api, shop, "2026-11-14", "2026-11-14", ["page_views"])
    job_id = uuid.UUID(started["id"])
    async with engine.connect() as cancel:
        # What POST .../cancel does to a queued job, held open until the worker waits on it.
        await cancel.execute(
            text("SELECT id FROM ingestion.ingest_job WHERE id = :j FOR UPDATE"), {"j": job_id}
        )
        await cancel.execute(
            text("UPDATE ingestion.ingest_job SET status = 'cancelled', cancel_requested = true,"
                 " detail = 'cancelled by an analyst', finished_at = now() WHERE id = :j"),
            {"j": job_id},
        )  # fmt: skip
        worker = asyncio.create_task(puller.run(job_id))
        async with engine.connect() as watch:
            for _ in range(500):
                # The worker waits for the cancel's row lock, holding the row's place in line.
                waiting = await watch.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'tuple'"
                        " AND relation = 'ingestion.ingest_job'::regclass"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    )
                )
                if waiting:
                    break
                await asyncio.sleep(0.01)
        assert waiting == 1
        await cancel.commit()
    await worker

    cancelled = await job(api, shop, started["id"])
    assert (cancelled["status"], cancelled["started_at"], cancelled["detail"]) == (
        "cancelled",
        None,
        "cancelled by an analyst",
    )
    assert requests_for(fake, shop) == []


async def test_a_nul_in_googles_values_is_stored_as_a_replacement_character(
    api: API, shop: Tenant, puller: Puller, ga4: tuple[FakeGA4, str], engine: AsyncEngine
) -> None:
    """JSONB refused the day's facts, so the day failed at every pull."""
    fake, _ = ga4
    [view] = page_views("20261115", 1)
    shop.property.add([{**view, "pageTitle": "Sale\x00!"}])
    fake.changed()
    started = await start(api, shop, "2026-11-15", "2026-11-15", ["page_views"])

    await puller.run(uuid.UUID(started["id"]))

    done = await job(api, shop, started["id"])
    assert (done["status"], done["rows_done"], done["errors"]) == ("completed", 1, [])
    [part] = await facts(engine, shop.id, "ingestion.ga4_rows.v1")
    assert [row["page_title"] for row in part["rows"]] == ["Sale\ufffd!"]
