"""Who may upload and read uploads, one tenant never seeing another's, and the listing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ingestion_testing import Callers
from uploads_testing import counts, csv_file, rows, upload

SESSIONS = csv_file(
    "event_timestamp_utc,user_id,event_name",
    "2025-10-25T09:00:00Z,p-1,session_start",
    "2025-10-25T09:05:00Z,p-1,session_end",
)
BROKEN = csv_file("event_timestamp_utc,user_id,event_name", "later,p-1,session_start")


async def test_another_tenant_never_sees_nor_shares_an_upload(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    other = uuid.uuid4()
    mine, theirs = callers.user(tenant, "analyst"), callers.user(other, "analyst")
    upload_id = (await upload(client, mine, "sessions", SESSIONS)).json()["id"]

    assert (
        await client.get(f"/data/uploads/{upload_id}", headers=theirs.headers)
    ).status_code == 404
    assert (await client.get("/data/uploads", headers=theirs.headers)).json()["total"] == 0
    # The same file is new to them: none of its rows count as duplicates of mine.
    answer = (await upload(client, theirs, "sessions", SESSIONS)).json()
    assert counts(answer) == (2, 2, 0, 0, 0, 0)
    assert len(await rows(conn, "session_event", tenant, "user_id")) == 2
    assert len(await rows(conn, "session_event", other, "user_id")) == 2


@pytest.mark.parametrize(
    ("who", "write", "read"),
    [
        ("viewer", 403, 200),
        ("analyst", 201, 200),
        ("uploads-key", 201, 200),
        ("events-machine", 403, 403),
        ("player", 403, 403),
    ],
)
async def test_who_may_upload_and_read_uploads(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, who: str, write: int, read: int
) -> None:
    caller = {
        "viewer": lambda: callers.user(tenant, "viewer"),
        "analyst": lambda: callers.user(tenant, "analyst"),
        "uploads-key": lambda: callers.api_key(tenant, "uploads:write"),
        "events-machine": lambda: callers.machine(tenant, "events:write", "events:read"),
        "player": lambda: callers.player(tenant),
    }[who]()
    assert (await upload(client, caller, "sessions", SESSIONS)).status_code == write
    assert (await client.get("/data/uploads", headers=caller.headers)).status_code == read


async def test_uploads_are_listed_newest_first_by_kind_and_status(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    first = (await upload(client, analyst, "sessions", SESSIONS)).json()["id"]
    failed = (await upload(client, analyst, "sessions", BROKEN, mode="all_or_nothing")).json()
    costs = csv_file("date,campaign,ad_cost_usd", "2025-10-25,Summer,1")
    last = (await upload(client, analyst, "costs_daily", costs)).json()["id"]

    every = (await client.get("/data/uploads?limit=2", headers=analyst.headers)).json()
    assert [u["id"] for u in every["uploads"]] == [last, failed["upload"]["id"]]
    assert (every["total"], every["has_more"]) == (3, True)
    assert "errors" not in every["uploads"][0]
    sessions = (await client.get("/data/uploads?kind=sessions", headers=analyst.headers)).json()
    assert [u["id"] for u in sessions["uploads"]] == [failed["upload"]["id"], first]
    done = "/data/uploads?kind=sessions&status=completed"
    assert [
        u["id"] for u in (await client.get(done, headers=analyst.headers)).json()["uploads"]
    ] == [first]


async def test_an_unknown_upload_or_kind_is_a_problem(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    missing = await client.get(f"/data/uploads/{uuid.uuid4()}", headers=analyst.headers)
    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "This tenant has no upload with that id.",
    )
    assert (await upload(client, analyst, "invoices", SESSIONS)).status_code == 404
    # Each path takes only its method: a kind's is POSTed to, an upload's is read.
    read_kind = await client.get("/data/uploads/sessions", headers=analyst.headers)
    assert (read_kind.status_code, read_kind.headers["allow"]) == (405, "POST")
    post_upload = await upload(client, analyst, str(uuid.uuid4()), SESSIONS)
    assert (post_upload.status_code, post_upload.headers["allow"]) == (405, "GET")


async def test_one_file_of_a_kind_at_a_time_per_tenant(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, engine: AsyncEngine
) -> None:
    """Two at once could lock each other's rows in opposite orders: the second is a 409."""
    analyst = callers.user(tenant, "analyst")
    key = f"ingestion.upload/{tenant}/sessions"
    async with engine.connect() as other, other.begin():
        await other.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )
        busy = await upload(client, analyst, "sessions", SESSIONS)
        costs = csv_file("date,campaign,ad_cost_usd", "2025-10-25,Summer,1")
        other_kind = await upload(client, analyst, "costs_daily", costs)
    assert (busy.status_code, busy.headers["retry-after"]) == (409, "10")
    assert busy.json()["type"] == "https://meridian.dev/problems/upload-in-progress"
    assert other_kind.status_code == 201
    [failed] = (await client.get("/data/uploads?kind=sessions", headers=analyst.headers)).json()[
        "uploads"
    ]
    assert (failed["status"], failed["failure"]) == (
        "failed",
        "another file of this kind was being taken in for the tenant",
    )
    again = await upload(client, analyst, "sessions", SESSIONS)
    assert (again.status_code, counts(again.json())) == (201, (2, 2, 0, 0, 0, 0))
