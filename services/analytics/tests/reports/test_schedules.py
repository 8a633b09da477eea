"""/analytics/email/schedules: report schedules per tenant (admins write, viewers and analysts
read), the weekly summary a tenant's first mapping brings, and the worker queuing each due time
once as a send job, staggered per tenant."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from analytics_service.config import AnalyticsSettings
from analytics_service.models import email_schedule
from analytics_service.reports.schedules_service import queue_due
from analytics_testing import Caller, Callers
from common.db import Database
from reports_testing import MailServer, SendJob

BASE = "/analytics/email"
# Only on 29 February: a next run that does not depend on today (until 2028).
LEAP = {"kind": "daily_branch_report", "cron": "0 8 29 2 *", "time_zone": "America/New_York"}
PARIS_7AM = {"kind": "daily_branch_report", "cron": "0 7 * * *", "time_zone": "Europe/Paris"}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


RunDue = Callable[[str], Awaitable[int]]


@pytest.fixture
def run_due(database: Database, app_settings: AnalyticsSettings) -> RunDue:
    """The worker's queuing of due schedules, as if it ran at that UTC time."""

    async def run(now: str) -> int:
        return await queue_due(database.sessionmaker, app_settings, at(now))

    return run


async def add(client: httpx.AsyncClient, caller: Caller, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/schedules", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


async def due_at(conn: AsyncConnection, schedule: dict[str, Any], when: str) -> None:
    """Make the schedule's next run ``when`` (as if it had been created long ago)."""
    await conn.execute(
        text("UPDATE analytics.email_schedule SET next_run_at = :at WHERE schedule_id = :id"),
        {"at": at(when), "id": schedule["id"]},
    )


async def queued(conn: AsyncConnection, job_id: str) -> tuple[dict[str, Any], timedelta]:
    """The queue's entry of a send job: its payload, and how long after queuing it may start."""
    row = (
        await conn.execute(
            text("SELECT payload, execute_after - created FROM analytics.pgqueuer"
                 " WHERE entrypoint = 'analytics.send_reports'"
                 " AND convert_from(payload, 'UTF8')::jsonb ->> 'job_id' = :id"),
            {"id": job_id},
        )
    ).one()  # fmt: skip
    return json.loads(row[0]), row[1]


async def test_schedules_are_created_read_changed_and_deleted(
    client: httpx.AsyncClient, admin: Caller, viewer: Caller, callers: Callers, tenant: uuid.UUID
) -> None:
    made = await add(client, admin, **LEAP, branch_codes=["B2", "B1", "B2"])
    assert {k: v for k, v in made.items() if k not in ("id", "created_at", "updated_at")} == {
        "kind": "daily_branch_report", "cron": "0 8 29 2 *", "time_zone": "America/New_York",
        "enabled": True, "branch_codes": ["B1", "B2"], "skip_when_empty": True,
        "next_run_at": "2028-02-29T13:00:00Z", "last_run_at": None, "last_job_id": None,
    }  # fmt: skip
    analyst = callers.user(tenant, "analyst")
    assert (await client.get(f"{BASE}/schedules", headers=viewer.headers)).json() == {
        "data": [made]
    }
    one = await client.get(f"{BASE}/schedules/{made['id']}", headers=analyst.headers)
    assert (one.status_code, one.json()) == (200, made)

    async def patch(**body: Any) -> dict[str, Any]:
        response = await client.patch(
            f"{BASE}/schedules/{made['id']}", json=body, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        changed: dict[str, Any] = response.json()
        return changed

    tokyo = await patch(time_zone="Asia/Tokyo", cron="30  9 29 2 *")
    assert (tokyo["cron"], tokyo["next_run_at"]) == ("30 9 29 2 *", "2028-02-29T00:30:00Z")
    off = await patch(enabled=False, branch_codes=None, skip_when_empty=False)
    assert (off["enabled"], off["next_run_at"], off["branch_codes"], off["skip_when_empty"]) == (
        False, None, None, False
    )  # fmt: skip
    weekly = await patch(enabled=True, kind="weekly_summary")
    assert (weekly["kind"], weekly["next_run_at"], weekly["cron"]) == (
        "weekly_summary", "2028-02-29T00:30:00Z", "30 9 29 2 *"
    )  # fmt: skip
    assert await patch() == weekly

    gone = await client.delete(f"{BASE}/schedules/{made['id']}", headers=admin.headers)
    again = await client.delete(f"{BASE}/schedules/{made['id']}", headers=admin.headers)
    assert (gone.status_code, again.status_code) == (204, 404)
    assert (await client.get(f"{BASE}/schedules", headers=viewer.headers)).json() == {"data": []}


async def test_viewers_and_analysts_read_but_do_not_write(
    client: httpx.AsyncClient, admin: Caller, callers: Callers, tenant: uuid.UUID
) -> None:
    made = await add(client, admin, **LEAP)
    for role in ("viewer", "analyst"):
        caller = callers.user(tenant, role)
        url = f"{BASE}/schedules/{made['id']}"
        attempts = [
            await client.post(f"{BASE}/schedules", json=LEAP, headers=caller.headers),
            await client.patch(url, json={"enabled": False}, headers=caller.headers),
            await client.delete(url, headers=caller.headers),
        ]
        assert [r.status_code for r in attempts] == [403, 403, 403], role
    assert (
        await client.get(f"{BASE}/schedules/{made['id']}", headers=admin.headers)
    ).json() == made


async def test_tenants_see_and_touch_only_their_schedules(
    client: httpx.AsyncClient, admin: Caller, callers: Callers, other_tenant: uuid.UUID
) -> None:
    made = await add(client, admin, **LEAP)
    other = callers.user(other_tenant, "admin")
    url = f"{BASE}/schedules/{made['id']}"
    assert (await client.get(f"{BASE}/schedules", headers=other.headers)).json() == {"data": []}
    answers = [
        await client.get(url, headers=other.headers),
        await client.patch(url, json={"enabled": False}, headers=other.headers),
        await client.delete(url, headers=other.headers),
    ]
    assert [(r.status_code, r.headers["content-type"]) for r in answers] == [
        (404, "application/problem+json")
    ] * 3
    assert (await client.get(url, headers=admin.headers)).json() == made


@pytest.mark.parametrize(
    ("body", "where", "why"),
    [
        ({**LEAP, "cron": "*/15 * * * *"}, "cron",
         "the minute must be one number from 0 to 59: reports go out hourly at most"),
        ({**LEAP, "cron": "0 8 * *"}, "cron", "a cron expression has five fields"),
        ({**LEAP, "cron": "0 8 31 4 *"}, "cron", "'0 8 31 4 *' never comes due"),
        ({**LEAP, "cron": "0 8 * * FUNDAY"}, "cron", "is not a valid cron expression"),
        ({**LEAP, "cron": "0 8 * * 1\n"}, "cron", "String should match pattern"),
        ({**LEAP, "time_zone": "Mars/Olympus"}, "time_zone", "is not an IANA time zone"),
        ({**LEAP, "time_zone": "UTC+2"}, "time_zone", "is not an IANA time zone"),
        ({**LEAP, "kind": "monthly"}, "kind", "Input should be"),
        ({**LEAP, "branch_codes": []}, "branch_codes", "at least 1 item"),
        ({**LEAP, "branch_codes": [""]}, "branch_codes", "at least 1 character"),
        ({**LEAP, "enabled": "maybe"}, "enabled", "valid boolean"),
        ({**LEAP, "every": "day"}, "every", "Extra inputs are not permitted"),
        ({"cron": "0 8 * * 1", "time_zone": "UTC"}, "kind", "Field required"),
    ],
)  # fmt: skip
async def test_bad_schedules_are_422_problems_that_say_where(
    client: httpx.AsyncClient, admin: Caller, body: dict[str, Any], where: str, why: str
) -> None:
    response = await client.post(f"{BASE}/schedules", json=body, headers=admin.headers)
    assert (response.status_code, response.headers["content-type"]) == (
        422, "application/problem+json"
    )  # fmt: skip
    (error,) = response.json()["errors"]
    assert error["loc"][:2] == ["body", where] and why in error["msg"], error
    assert (await client.get(f"{BASE}/schedules", headers=admin.headers)).json() == {"data": []}


@pytest.mark.parametrize(
    "body",
    [{"cron": None}, {"kind": None}, {"time_zone": "Nowhere/City"}, {"enabled": None},
     {"cron": "0 8 * * 1", "id": "x"}, {"skip_when_empty": None}],
)  # fmt: skip
async def test_bad_changes_are_422_problems_and_change_nothing(
    client: httpx.AsyncClient, admin: Caller, body: dict[str, Any]
) -> None:
    made = await add(client, admin, **LEAP)
    url = f"{BASE}/schedules/{made['id']}"
    response = await client.patch(url, json=body, headers=admin.headers)
    assert (response.status_code, response.headers["content-type"]) == (
        422, "application/problem+json"
    )  # fmt: skip
    assert (await client.get(url, headers=admin.headers)).json() == made


async def test_a_tenant_has_at_most_20_schedules(client: httpx.AsyncClient, admin: Caller) -> None:
    for _ in range(20):
        await add(client, admin, **LEAP)
    response = await client.post(f"{BASE}/schedules", json=LEAP, headers=admin.headers)
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[-1]) == (
        409, "too-many-schedules"
    )  # fmt: skip


async def test_a_tenants_first_mapping_brings_the_weekly_summary_on_monday_8_utc(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    before = datetime.now(UTC)
    for branch in ("B1", "B2"):
        body = {"branch_code": branch, "recipients": [f"{branch}@shop.example.com"]}
        assert (await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)).is_success
    (default,) = (await client.get(f"{BASE}/schedules", headers=admin.headers)).json()["data"]
    monday = before.replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(
        days=-before.weekday() % 7
    )
    if monday <= before:
        monday += timedelta(days=7)
    assert (default["kind"], default["cron"], default["time_zone"], default["enabled"]) == (
        "weekly_summary", "0 8 * * 1", "UTC", True
    )  # fmt: skip
    assert (default["branch_codes"], default["skip_when_empty"]) == (None, True)
    assert datetime.fromisoformat(default["next_run_at"]) == monday

    # deleted while mappings remain, it stays deleted
    await client.delete(f"{BASE}/schedules/{default['id']}", headers=admin.headers)
    body = {"branch_code": "B3", "recipients": ["b3@shop.example.com"]}
    assert (await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)).is_success
    assert (await client.get(f"{BASE}/schedules", headers=admin.headers)).json() == {"data": []}


async def test_a_due_schedule_queues_one_job_of_yesterday_in_its_zone(
    client: httpx.AsyncClient,
    admin: Caller,
    conn: AsyncConnection,
    run_due: RunDue,
    tenant: uuid.UUID,
) -> None:
    body = {**PARIS_7AM, "branch_codes": ["B2"], "skip_when_empty": False}
    made = await add(client, admin, **body)
    await due_at(conn, made, "2026-03-29T05:00")  # 07:00 in Paris, the first day of summer time
    assert await run_due("2026-03-29T05:00") == 1
    assert await run_due("2026-03-29T05:00:40") == 0

    (job,) = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["data"]
    assert {k: job[k] for k in ("status", "kind", "report_date", "branch_codes",
                                "skip_when_empty", "requested_by", "schedule_id",
                                "scheduled_for")} == {
        "status": "queued", "kind": "daily_branch_report", "report_date": "2026-03-28",
        "branch_codes": ["B2"], "skip_when_empty": False, "requested_by": "schedule",
        "schedule_id": made["id"], "scheduled_for": "2026-03-29T05:00:00Z",
    }  # fmt: skip
    payload, delay = await queued(conn, job["id"])
    assert payload == {"tenant_id": str(tenant), "job_id": job["id"]}
    digest = int.from_bytes(hashlib.sha256(tenant.bytes).digest()[:8], "big")
    assert delay == timedelta(seconds=digest % 301)  # the tenant's stagger after the due time
    schedule = (await client.get(f"{BASE}/schedules/{made['id']}", headers=admin.headers)).json()
    assert (schedule["next_run_at"], schedule["last_run_at"], schedule["last_job_id"]) == (
        "2026-03-30T05:00:00Z", "2026-03-29T05:00:00Z", job["id"]
    )  # fmt: skip

    assert await run_due("2026-03-30T05:03") == 1
    jobs = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["data"]
    assert sorted((j["report_date"], j["scheduled_for"]) for j in jobs) == [
        ("2026-03-28", "2026-03-29T05:00:00Z"), ("2026-03-29", "2026-03-30T05:00:00Z"),
    ]  # fmt: skip
    latest = next(j for j in jobs if j["report_date"] == "2026-03-29")
    assert (await queued(conn, latest["id"]))[1] == max(
        timedelta(seconds=digest % 301) - timedelta(minutes=3), timedelta(0)
    )


async def test_a_schedule_missed_for_days_sends_once_for_its_latest_due_time(
    client: httpx.AsyncClient, admin: Caller, conn: AsyncConnection, run_due: RunDue
) -> None:
    made = await add(client, admin, **PARIS_7AM)
    await due_at(conn, made, "2026-03-25T06:00")
    assert await run_due("2026-03-29T12:00") == 1
    (job,) = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["data"]
    assert (job["report_date"], job["scheduled_for"]) == ("2026-03-28", "2026-03-29T05:00:00Z")
    schedule = (await client.get(f"{BASE}/schedules/{made['id']}", headers=admin.headers)).json()
    assert schedule["next_run_at"] == "2026-03-30T05:00:00Z"


async def test_a_due_time_queued_already_is_skipped_and_the_others_still_queue(
    client: httpx.AsyncClient, admin: Caller, conn: AsyncConnection, run_due: RunDue
) -> None:
    """A change saved on a clock behind the worker's could put a due time it had just queued
    back: the job's unique (schedule, due time) then refused it, and the whole batch with it."""
    again = await add(client, admin, **PARIS_7AM)
    other = await add(client, admin, **PARIS_7AM)
    await due_at(conn, again, "2026-03-29T05:00")
    assert await run_due("2026-03-29T05:00") == 1
    first = (await client.get(f"{BASE}/schedules/{again['id']}", headers=admin.headers)).json()
    await due_at(conn, again, "2026-03-29T05:00")  # the queued due time, back
    await due_at(conn, other, "2026-03-29T05:00")
    assert await run_due("2026-03-29T05:01") == 1  # other's; again's is not queued twice
    jobs = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["data"]
    assert sorted((j["schedule_id"], j["scheduled_for"]) for j in jobs) == sorted(
        [(again["id"], "2026-03-29T05:00:00Z"), (other["id"], "2026-03-29T05:00:00Z")]
    )
    after = (await client.get(f"{BASE}/schedules/{again['id']}", headers=admin.headers)).json()
    assert (after["next_run_at"], after["last_job_id"]) == (
        "2026-03-30T05:00:00Z", first["last_job_id"]
    )  # fmt: skip


async def test_a_change_never_makes_a_queued_due_time_due_again(
    client: httpx.AsyncClient, admin: Caller, conn: AsyncConnection, run_due: RunDue
) -> None:
    """The next run after a change counts from the last due time queued when that is later
    than the clock (a worker's clock ahead of the API's)."""
    made = await add(client, admin, **LEAP)
    await conn.execute(
        text("UPDATE analytics.email_schedule SET last_run_at = :at WHERE schedule_id = :id"),
        {"at": at("2028-02-29T13:00"), "id": made["id"]},
    )
    changed = await client.patch(
        f"{BASE}/schedules/{made['id']}", json={"time_zone": "UTC"}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    # 08:00 UTC on 29 February 2028 is before the last run: the next is in 2032.
    assert changed.json()["next_run_at"] == "2032-02-29T08:00:00Z"


async def test_disabled_and_future_schedules_queue_nothing(
    client: httpx.AsyncClient, admin: Caller, conn: AsyncConnection, run_due: RunDue
) -> None:
    off = await add(client, admin, **LEAP)
    later = await add(client, admin, **LEAP)
    await due_at(conn, off, "2026-03-25T06:00")
    await client.patch(
        f"{BASE}/schedules/{off['id']}", json={"enabled": False}, headers=admin.headers
    )
    await due_at(conn, later, "2026-03-29T12:01")
    assert await run_due("2026-03-29T12:00") == 0
    assert (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["total"] == 0


async def test_tenants_due_at_the_same_minute_start_at_their_own_offsets(
    client: httpx.AsyncClient,
    callers: Callers,
    conn: AsyncConnection,
    database: Database,
    app_settings: AnalyticsSettings,
) -> None:
    tenants = [uuid.UUID("0d9a4b3e-1c2f-4e5a-8b6c-7d8e9f0a1b2c"),
               uuid.UUID("f3e2d1c0-b9a8-4765-9432-10fedcba9876")]  # fmt: skip
    settings = app_settings.model_copy(update={"email_schedule_stagger_seconds": 600})
    offsets = {}
    for tenant_id in tenants:
        admin = callers.user(tenant_id, "admin")
        made = await add(client, admin, kind="weekly_summary", cron="0 6 * * 1", time_zone="UTC")
        await due_at(conn, made, "2026-11-23T06:00")
        digest = int.from_bytes(hashlib.sha256(tenant_id.bytes).digest()[:8], "big")
        offsets[tenant_id] = timedelta(seconds=digest % 601)
    assert await queue_due(database.sessionmaker, settings, at("2026-11-23T06:00")) == 2
    for tenant_id in tenants:
        admin = callers.user(tenant_id, "admin")
        (job,) = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["data"]
        assert (job["kind"], job["report_date"]) == ("weekly_summary", "2026-11-16")
        assert (await queued(conn, job["id"]))[1] == offsets[tenant_id]
    assert len(set(offsets.values())) == 2


@pytest.mark.usefixtures("warehouse", "smtp_set")
async def test_a_scheduled_weekly_summary_reaches_the_branch(
    client: httpx.AsyncClient,
    admin: Caller,
    conn: AsyncConnection,
    run_due: RunDue,
    send_job: SendJob,
    mail_server: MailServer,
) -> None:
    for branch, recipient in (("B1", "north@shop.example.com"), ("B2", "south@shop.example.com")):
        body = {"branch_code": branch, "recipients": [recipient]}
        assert (await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)).is_success
    (default,) = (await client.get(f"{BASE}/schedules", headers=admin.headers)).json()["data"]
    only_b2 = {"branch_codes": ["B2"]}
    await client.patch(f"{BASE}/schedules/{default['id']}", json=only_b2, headers=admin.headers)
    await due_at(conn, default, "2026-11-23T08:00")
    assert await run_due("2026-11-23T08:02") == 1
    (job,) = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()["data"]
    assert await send_job(job) == "completed"
    assert [(r.recipients, r.message["Subject"]) for r in mail_server.received] == [
        (["south@shop.example.com"],
         "Weekly Branch Sales Summary - 2026-11-16 to 2026-11-22 - B2"),
    ]  # fmt: skip


async def test_workers_running_at_once_queue_each_due_time_once(
    engine: AsyncEngine, settings: AnalyticsSettings
) -> None:
    """Committed rows and one connection per worker: the row locks are real here."""
    tenants = [uuid.uuid4() for _ in range(4)]
    rows = [
        {"tenant_id": t, "schedule_id": uuid.uuid4(), "kind": "daily_branch_report",
         "cron": "0 6 * * *", "time_zone": "UTC", "next_run_at": at("2026-11-23T06:00")}
        for t in tenants for _ in range(10)
    ]  # fmt: skip
    workers = [Database(engine) for _ in range(3)]
    mine = {"tenants": [str(t) for t in tenants]}
    try:
        async with engine.begin() as setup:
            await setup.execute(insert(email_schedule), rows)
        counts = await asyncio.gather(
            *(queue_due(w.sessionmaker, settings, at("2026-11-23T06:00:05"), batch=3)
              for w in workers)
        )  # fmt: skip
        async with engine.connect() as check:
            jobs = (
                await check.execute(
                    text("SELECT schedule_id, count(*) FROM analytics.email_job"
                         " WHERE tenant_id::text = ANY(:tenants) GROUP BY schedule_id"),
                    mine,
                )
            ).all()  # fmt: skip
            advanced = await check.scalar(
                text("SELECT count(*) FROM analytics.email_schedule WHERE tenant_id::text ="
                     " ANY(:tenants) AND next_run_at = '2026-11-24T06:00Z' AND last_job_id"
                     " IS NOT NULL"),
                mine,
            )  # fmt: skip
        assert sum(counts) == 40
        assert sorted(jobs) == sorted((r["schedule_id"], 1) for r in rows)
        assert advanced == 40
    finally:
        await _forget(engine, mine)


async def _forget(engine: AsyncEngine, mine: dict[str, list[str]]) -> None:
    """Deletes what a test committed for its tenants: their schedules, jobs and queue entries."""
    async with engine.begin() as cleanup:
        for statement in (
            "DELETE FROM analytics.pgqueuer_log WHERE job_id IN (SELECT id FROM"
            " analytics.pgqueuer WHERE convert_from(payload, 'UTF8')::jsonb ->> 'tenant_id'"
            " = ANY(:tenants))",
            "DELETE FROM analytics.pgqueuer"
            " WHERE convert_from(payload, 'UTF8')::jsonb ->> 'tenant_id' = ANY(:tenants)",
            "DELETE FROM analytics.email_job WHERE tenant_id::text = ANY(:tenants)",
            "DELETE FROM analytics.email_schedule WHERE tenant_id::text = ANY(:tenants)",
        ):
            await cleanup.execute(text(statement), mine)


async def test_the_workers_minute_schedule_queues_what_is_due_now(
    engine: AsyncEngine, settings: AnalyticsSettings
) -> None:
    from analytics_service import jobs

    tenant_id, schedule_id = uuid.uuid4(), uuid.uuid4()
    due = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    daily = f"{due.minute} {due.hour} * * *"  # due a minute ago, and again tomorrow
    row = {"tenant_id": tenant_id, "schedule_id": schedule_id, "kind": "weekly_summary",
           "cron": daily, "time_zone": "UTC", "next_run_at": due}  # fmt: skip
    jobs._resources = jobs.Resources(settings)
    mine = {"tenants": [str(tenant_id)]}
    try:
        async with engine.begin() as setup:
            await setup.execute(insert(email_schedule), [row])
        await jobs.email_schedules()
        async with engine.connect() as check:
            made = (
                await check.execute(
                    text("SELECT kind, scheduled_for FROM analytics.email_job"
                         " WHERE tenant_id::text = ANY(:tenants)"),
                    mine,
                )
            ).all()  # fmt: skip
            following = await check.scalar(
                text("SELECT next_run_at FROM analytics.email_schedule WHERE schedule_id = :s"),
                {"s": schedule_id},
            )
        assert [tuple(r) for r in made] == [("weekly_summary", due)]
        assert following == due + timedelta(days=1)
    finally:
        await jobs._resources.database.dispose()
        jobs._resources = None
        await _forget(engine, mine)
