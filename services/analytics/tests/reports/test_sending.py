"""POST /analytics/email/send-reports run by its job against a real SMTP server on loopback:
one message per recipient of each enabled mapping, with both parts and a signed unsubscribe
link; a refused recipient retried alone; jobs and history per tenant."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.config import AnalyticsSettings
from analytics_service.reports.sender import run_send_job
from analytics_testing import Caller, Callers
from common.db import Database
from reports_testing import SMTP_PASSWORD, MailServer, SendJob, smtp_body

pytestmark = pytest.mark.usefixtures("warehouse", "smtp_set")
BASE = "/analytics/email"
NORTH, BOSS, SOUTH, QUIET = (f"{n}@shop.example.com" for n in ("north", "boss", "south", "quiet"))


@pytest.fixture
async def mappings(client: httpx.AsyncClient, admin: Caller) -> None:
    for branch, recipients, enabled in [
        ("B1", [NORTH, BOSS], True), ("B2", [SOUTH], True), ("B4", [QUIET], False),
    ]:  # fmt: skip
        body = {"branch_code": branch, "recipients": recipients, "enabled": enabled}
        response = await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text


async def start(client: httpx.AsyncClient, admin: Caller, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/send-reports", json=body, headers=admin.headers)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def run(
    database: Database, settings: AnalyticsSettings, tenant: uuid.UUID, job: dict[str, Any]
) -> str:
    return await run_send_job(database.sessionmaker, settings, tenant, uuid.UUID(job["id"]))


async def history(client: httpx.AsyncClient, caller: Caller, job_id: str) -> list[tuple]:
    response = await client.get(
        f"{BASE}/history", params={"job_id": job_id}, headers=caller.headers
    )
    rows = response.json()["data"]
    return sorted((r["branch_code"], r["recipient"], r["status"], r["attempts"]) for r in rows)


@pytest.mark.usefixtures("mappings")
async def test_every_enabled_mapping_gets_its_branch_report_by_recipient(
    client: httpx.AsyncClient,
    admin: Caller,
    viewer: Caller,
    database: Database,
    app_settings: AnalyticsSettings,
    conn: AsyncConnection,
    tenant: uuid.UUID,
    mail_server: MailServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    job = await start(client, admin, report_date="2026-11-18")
    assert (job["status"], job["branch_codes"], job["sent"], job["failed"]) == (
        "queued", None, 0, 0
    )  # fmt: skip
    queued = await conn.scalar(
        text("SELECT payload FROM analytics.pgqueuer WHERE entrypoint = 'analytics.send_reports'"
             " AND convert_from(payload, 'UTF8')::jsonb ->> 'job_id' = :id"),
        {"id": job["id"]},
    )  # fmt: skip
    assert json.loads(queued) == {"tenant_id": str(tenant), "job_id": job["id"]}

    assert await run(database, app_settings, tenant, job) == "completed"
    assert await run(database, app_settings, tenant, job) == "done"
    assert sorted((r.recipients, r.message["Subject"]) for r in mail_server.received) == [
        ([BOSS], "Daily Branch Sales Report - 2026-11-18 - B1"),
        ([NORTH], "Daily Branch Sales Report - 2026-11-18 - B1"),
        ([SOUTH], "Daily Branch Sales Report - 2026-11-18 - B2"),
    ]
    (south,) = mail_server.to(SOUTH)
    assert (south["From"], south["To"], south.get_content_type()) == (
        "reports@shop.example.com", SOUTH, "multipart/alternative"
    )  # fmt: skip
    plain_part, html_part = south.get_body(("plain",)), south.get_body(("html",))
    assert plain_part is not None and html_part is not None
    plain, html = (p.get_content().replace("\r\n", "\n") for p in (plain_part, html_part))
    assert "Purchases to follow up (2):\n- Customer: Bolt & Co" in plain
    assert "Bolt &amp; Co" in html and "Revenue: 95.25" in plain
    assert south["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = south["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{app_settings.public_url}/analytics/email/unsubscribe?tenant_id=")
    assert f"email={SOUTH.replace('@', '%40')}" in link and link in plain

    done = (await client.get(f"{BASE}/jobs/{job['id']}", headers=viewer.headers)).json()
    assert (done["status"], done["sent"], done["failed"], done["attempts"]) == (
        "completed", 3, 0, 1
    )  # fmt: skip
    assert await history(client, viewer, job["id"]) == [
        ("B1", BOSS, "sent", 1), ("B1", NORTH, "sent", 1), ("B2", SOUTH, "sent", 1),
    ]  # fmt: skip
    out, err = capfd.readouterr()
    assert SMTP_PASSWORD not in out + err


@pytest.mark.usefixtures("mappings")
async def test_a_refused_recipient_is_retried_alone(
    client: httpx.AsyncClient,
    admin: Caller,
    database: Database,
    app_settings: AnalyticsSettings,
    tenant: uuid.UUID,
    mail_server: MailServer,
) -> None:
    mail_server.refuse[NORTH] = "451 4.2.1 Mailbox busy, try later"
    job = await start(client, admin, report_date="2026-11-18")
    assert await run(database, app_settings, tenant, job) == "retry"
    assert sorted(r.recipients[0] for r in mail_server.received) == [BOSS, SOUTH]
    waiting = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (waiting["status"], waiting["attempts"]) == ("processing", 1)
    rows = (await client.get(f"{BASE}/history", headers=admin.headers)).json()["data"]
    assert {r["recipient"]: (r["status"], r["error"]) for r in rows} == {
        BOSS: ("sent", None), SOUTH: ("sent", None),
        NORTH: ("pending", "451 4.2.1 Mailbox busy, try later"),
    }  # fmt: skip

    mail_server.refuse.clear()
    mail_server.received.clear()
    assert await run(database, app_settings, tenant, job) == "completed"
    assert [r.recipients for r in mail_server.received] == [[NORTH]]
    done = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (done["status"], done["sent"], done["failed"], done["attempts"]) == (
        "completed", 3, 0, 2
    )  # fmt: skip
    assert await history(client, admin, job["id"]) == [
        ("B1", BOSS, "sent", 1), ("B1", NORTH, "sent", 2), ("B2", SOUTH, "sent", 1),
    ]  # fmt: skip


@pytest.mark.usefixtures("mappings")
async def test_a_permanent_refusal_fails_at_once_and_the_last_attempt_ends_the_job(
    client: httpx.AsyncClient,
    admin: Caller,
    database: Database,
    app_settings: AnalyticsSettings,
    tenant: uuid.UUID,
    mail_server: MailServer,
) -> None:
    mail_server.refuse[SOUTH] = "550 5.1.1 No such mailbox"
    mail_server.refuse[NORTH] = "451 4.2.1 Mailbox busy"
    settings = app_settings.model_copy(update={"email_send_attempts": 2})
    job = await start(client, admin, report_date="2026-11-18")
    assert await run(database, settings, tenant, job) == "retry"
    assert await run(database, settings, tenant, job) == "completed"
    done = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (done["status"], done["sent"], done["failed"], done["error"]) == (
        "completed", 1, 2, "2 of 3 deliveries failed"
    )  # fmt: skip
    assert await history(client, admin, job["id"]) == [
        ("B1", BOSS, "sent", 1), ("B1", NORTH, "failed", 2), ("B2", SOUTH, "failed", 1),
    ]  # fmt: skip
    assert [r.recipients for r in mail_server.received] == [[BOSS]]


@pytest.mark.usefixtures("mappings")
async def test_named_branches_only_and_only_enabled_mappings(
    client: httpx.AsyncClient,
    admin: Caller,
    database: Database,
    app_settings: AnalyticsSettings,
    tenant: uuid.UUID,
    mail_server: MailServer,
) -> None:
    job = await start(client, admin, report_date="2026-11-17", branch_codes=["B2", "B4", "B9"])
    assert job["branch_codes"] == ["B2", "B4", "B9"]
    assert await run(database, app_settings, tenant, job) == "completed"
    assert [(r.recipients, r.message["Subject"]) for r in mail_server.received] == [
        ([SOUTH], "Daily Branch Sales Report - 2026-11-17 - B2")
    ]


@pytest.mark.usefixtures("mappings")
async def test_an_empty_branch_is_skipped_with_the_reason_and_counted(
    client: httpx.AsyncClient, admin: Caller, send_job: SendJob, mail_server: MailServer
) -> None:
    mappings = (await client.get(f"{BASE}/mappings", headers=admin.headers)).json()["data"]
    b4 = next(m["id"] for m in mappings if m["branch_code"] == "B4")
    enable = await client.patch(
        f"{BASE}/mappings/{b4}", json={"enabled": True}, headers=admin.headers
    )
    assert enable.status_code == 200
    job = await start(client, admin, report_date="2026-11-18")
    assert await send_job(job) == "completed"
    assert sorted(r.recipients[0] for r in mail_server.received) == [BOSS, NORTH, SOUTH]
    done = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (done["status"], done["sent"], done["failed"], done["skipped"], done["error"]) == (
        "completed", 3, 0, 1, None
    )  # fmt: skip
    rows = (await client.get(f"{BASE}/history", headers=admin.headers)).json()["data"]
    assert {r["recipient"]: (r["status"], r["attempts"], r["error"]) for r in rows} == {
        BOSS: ("sent", 1, None), NORTH: ("sent", 1, None), SOUTH: ("sent", 1, None),
        QUIET: ("skipped", 0, "no activity at branch B4 on 2026-11-18"),
    }  # fmt: skip


@pytest.mark.usefixtures("mappings")
async def test_a_job_whose_reports_are_all_empty_never_connects(
    client: httpx.AsyncClient, admin: Caller, send_job: SendJob, mail_server: MailServer
) -> None:
    job = await start(client, admin, report_date="2026-11-19")
    assert await send_job(job) == "completed"
    assert (mail_server.received, mail_server.logins) == ([], [])
    assert await history(client, admin, job["id"]) == [
        ("B1", BOSS, "skipped", 0), ("B1", NORTH, "skipped", 0), ("B2", SOUTH, "skipped", 0),
    ]  # fmt: skip
    done = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (done["status"], done["sent"], done["skipped"]) == ("completed", 0, 3)


@pytest.mark.usefixtures("mappings")
async def test_an_empty_report_is_sent_when_the_request_says_so(
    client: httpx.AsyncClient, admin: Caller, send_job: SendJob, mail_server: MailServer
) -> None:
    job = await start(
        client, admin, report_date="2026-11-19", branch_codes=["B2"], skip_when_empty=False
    )
    assert job["skip_when_empty"] is False
    assert await send_job(job) == "completed"
    (south,) = mail_server.to(SOUTH)
    plain = south.get_body(("plain",))
    assert plain is not None
    assert south["Subject"] == "Daily Branch Sales Report - 2026-11-19 - B2"
    assert "Revenue: 0.00\nPurchases: 0\nVisitors: 0\n" in plain.get_content().replace("\r\n", "\n")


@pytest.mark.usefixtures("mappings")
@pytest.mark.parametrize(("connections", "logins"), [(1, 1), (2, 2), (8, 2)])
async def test_branches_go_out_over_up_to_the_configured_connections(
    client: httpx.AsyncClient,
    admin: Caller,
    send_job: SendJob,
    mail_server: MailServer,
    connections: int,
    logins: int,
) -> None:
    job = await start(client, admin, report_date="2026-11-18")  # two branches, B1 and B2
    assert await send_job(job, email_send_connections=connections) == "completed"
    assert mail_server.logins == ["PLAIN:ok"] * logins
    assert sorted(r.recipients[0] for r in mail_server.received) == [BOSS, NORTH, SOUTH]


@pytest.mark.usefixtures("mappings")
async def test_an_unreachable_server_leaves_every_delivery_for_the_retry(
    client: httpx.AsyncClient, admin: Caller, send_job: SendJob
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    await client.put(f"{BASE}/smtp", json=smtp_body(port), headers=admin.headers)
    job = await start(client, admin, report_date="2026-11-18")
    assert await send_job(job) == "retry"
    assert await history(client, admin, job["id"]) == [
        ("B1", BOSS, "pending", 0), ("B1", NORTH, "pending", 0), ("B2", SOUTH, "pending", 0),
    ]  # fmt: skip


async def test_without_smtp_settings_the_job_fails(
    client: httpx.AsyncClient,
    admin: Caller,
    database: Database,
    app_settings: AnalyticsSettings,
    tenant: uuid.UUID,
) -> None:
    assert (await client.delete(f"{BASE}/smtp", headers=admin.headers)).status_code == 204
    job = await start(client, admin, report_date="2026-11-17")
    assert await run(database, app_settings, tenant, job) == "failed"
    done = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (done["status"], done["error"], done["sent"]) == ("failed", "no SMTP settings", 0)


@pytest.mark.usefixtures("mappings")
async def test_the_signed_link_unsubscribes_and_the_next_job_skips_the_address(
    client: httpx.AsyncClient,
    admin: Caller,
    database: Database,
    app_settings: AnalyticsSettings,
    tenant: uuid.UUID,
    mail_server: MailServer,
) -> None:
    await run(database, app_settings, tenant, await start(client, admin, report_date="2026-11-18"))
    (north,) = mail_server.to(NORTH)
    link = httpx.URL(north["List-Unsubscribe"].strip("<>"))
    params = dict(link.params)
    forged = {**params, "email": BOSS}
    assert (await client.post(link.path, params=forged)).status_code == 403
    other = {**params, "tenant_id": str(uuid.uuid4())}
    assert (await client.post(link.path, params=other)).status_code == 403
    page = await client.get(link.path, params=params)
    assert (page.status_code, '<form method="post">' in page.text) == (200, True)
    done = await client.post(link.path, params=params, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200

    mail_server.received.clear()
    job = await start(client, admin, report_date="2026-11-17")
    assert await run(database, app_settings, tenant, job) == "completed"
    assert sorted(r.recipients[0] for r in mail_server.received) == [BOSS, SOUTH]
    assert await history(client, admin, job["id"]) == [
        ("B1", BOSS, "sent", 1), ("B1", NORTH, "unsubscribed", 0), ("B2", SOUTH, "sent", 1),
    ]  # fmt: skip


@pytest.mark.usefixtures("mappings")
async def test_tenants_see_only_their_jobs_and_history(
    client: httpx.AsyncClient,
    admin: Caller,
    callers: Callers,
    database: Database,
    app_settings: AnalyticsSettings,
    tenant: uuid.UUID,
    other_tenant: uuid.UUID,
    mail_server: MailServer,
) -> None:
    job = await start(client, admin, report_date="2026-11-18")
    await run(database, app_settings, tenant, job)
    other = callers.user(other_tenant, "admin")
    assert (await client.get(f"{BASE}/jobs/{job['id']}", headers=other.headers)).status_code == 404
    jobs = (await client.get(f"{BASE}/jobs", headers=other.headers)).json()
    assert (jobs["data"], jobs["total"]) == ([], 0)
    assert (await client.get(f"{BASE}/history", headers=other.headers)).json()["data"] == []
    # the other tenant's job sends nothing of ours: it has no mapping (and no SMTP settings)
    theirs = await start(client, other, report_date="2026-11-18")
    mail_server.received.clear()
    assert await run(database, app_settings, other_tenant, theirs) == "failed"
    assert mail_server.received == []
    mine = (await client.get(f"{BASE}/jobs", headers=admin.headers)).json()
    assert [j["id"] for j in mine["data"]] == [job["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"report_date": "2026-02-30"},
        {"report_date": "2026-11-18", "branch_codes": []},
        {"report_date": "2026-11-18", "branch_codes": [""]},
        {"report_date": "2026-11-18", "extra": True},
        {"report_date": "2026-11-18", "skip_when_empty": "maybe"},
        {"report_date": "2026-11-18", "kind": "monthly"},
        {"report_date": "2026-11-18", "kind": "weekly_summary"},  # a Wednesday
    ],
)
async def test_bad_send_requests_are_422_problems(
    client: httpx.AsyncClient, admin: Caller, body: dict[str, Any]
) -> None:
    response = await client.post(f"{BASE}/send-reports", json=body, headers=admin.headers)
    assert (response.status_code, response.headers["content-type"]) == (
        422, "application/problem+json"
    )  # fmt: skip


async def test_viewers_cannot_send(client: httpx.AsyncClient, viewer: Caller) -> None:
    body = {"report_date": "2026-11-18"}
    response = await client.post(f"{BASE}/send-reports", json=body, headers=viewer.headers)
    assert response.status_code == 403
