"""POST /data/events: batches with duplicates, skewed clocks, oversize events and bad fields."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.db import Database
from ingestion_service.config import IngestionSettings
from ingestion_service.main import create_app
from ingestion_testing import Caller, Callers, auth_free_verifier

LIMITS = {"max_events": 1000, "max_bytes": 1048576, "max_event_bytes": 32768}
SENT_AT = "2025-10-25T10:30:00Z"


def event(message_id: str, event_type: str = "level_complete", **fields: Any) -> dict[str, Any]:
    return {"message_id": message_id, "event_type": event_type, "timestamp": SENT_AT, **fields}


async def send(
    client: httpx.AsyncClient, caller: Caller, events: list[Any], **body: Any
) -> httpx.Response:
    payload = {"batch": events, "sent_at": SENT_AT, "historical": True, **body}
    return await client.post("/data/events", json=payload, headers=caller.headers)


async def stored(conn: AsyncConnection, tenant: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT id, message_id, event_type, meta, ts, received_at, user_id, player_id"
            " FROM ingestion.event WHERE tenant_id = :t ORDER BY message_id"
        ),
        {"t": tenant},
    )
    return [dict(row) for row in rows.mappings()]


async def facts(conn: AsyncConnection, tenant: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text("SELECT id, kind, occurred_at, data FROM ingestion.outbox WHERE tenant_id = :t"),
        {"t": tenant},
    )
    return [dict(row) for row in rows.mappings()]


async def test_duplicates_within_a_batch_and_across_batches_are_stored_once(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    first = await send(client, machine, [event("m1"), event("m2"), event("m1", "other")])
    assert (first.status_code, first.json()) == (
        200,
        {"accepted": 2, "duplicates": 1, "errors": []},
    )
    again = await send(client, machine, [event("m2"), event("m3")])
    assert again.json() == {"accepted": 1, "duplicates": 1, "errors": []}
    rows = await stored(conn, tenant)
    assert [(r["message_id"], r["event_type"]) for r in rows] == [
        ("m1", "level_complete"),  # the first of a batch's twins is kept
        ("m2", "level_complete"),
        ("m3", "level_complete"),
    ]


async def test_another_tenants_identical_message_id_is_not_a_duplicate(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    other = uuid.uuid4()
    mine = await send(client, callers.machine(tenant, "events:write"), [event("same")])
    theirs = await send(client, callers.machine(other, "admin"), [event("same")])
    assert mine.json() == theirs.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert [r["message_id"] for r in await stored(conn, tenant)] == ["same"]
    assert [r["message_id"] for r in await stored(conn, other)] == ["same"]


async def test_a_device_clock_an_hour_slow_is_corrected(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    """corrected = timestamp + (received_at - sent_at): the event happened 10 minutes before
    sending by the device's clock, so 10 minutes before it was received."""
    device_now = datetime.now(UTC) - timedelta(hours=1)
    happened = device_now - timedelta(minutes=10)
    body = {"sent_at": device_now.isoformat(), "historical": False}
    response = await send(
        client,
        callers.machine(tenant, "events:write"),
        [event("skewed", timestamp=happened.isoformat())],
        **body,
    )
    assert response.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    [row] = await stored(conn, tenant)
    assert row["received_at"] - row["ts"] == timedelta(minutes=10)
    [fact] = await facts(conn, tenant)
    assert fact["occurred_at"] == row["ts"]


@pytest.mark.parametrize(
    ("historical", "expected"),
    [
        (False, None),  # corrected: received_at - 1 day
        (True, datetime(2025, 10, 24, 10, 30, tzinfo=UTC)),  # kept as sent
    ],
)
async def test_the_historical_flag_turns_the_correction_off(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    conn: AsyncConnection,
    historical: bool,
    expected: datetime | None,
) -> None:
    machine = callers.machine(tenant, "events:write")
    old = event("old", timestamp="2025-10-24T10:30:00Z")
    response = await send(client, machine, [old], historical=historical)
    assert response.json()["accepted"] == 1
    [row] = await stored(conn, tenant)
    if expected is None:
        assert row["received_at"] - row["ts"] == timedelta(days=1)
    else:
        assert row["ts"] == expected


async def test_bad_events_are_listed_while_the_good_ones_are_stored(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    batch = [
        event("good-1", properties={"level": 42}, user_id="player_007"),
        event("bad-time", timestamp="yesterday"),
        event("long-type", "x" * 101),
        event("huge", properties={"blob": "x" * 33_000}),
        event("good-2"),
        event("no-offset", timestamp="2025-10-25T10:30:00"),
    ]
    response = await send(client, machine, batch)
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "errors": [
            {
                "index": 1,
                "message_id": "bad-time",
                "reason": "timestamp: Value error, expected an RFC 3339 time with an offset,"
                " e.g. 2025-10-25T10:30:00Z",
            },
            {
                "index": 2,
                "message_id": "long-type",
                "reason": "event_type: String should have at most 100 characters",
            },
            {
                "index": 3,
                "message_id": "huge",
                "reason": "the event is 33111 bytes; at most 32768 are taken",
            },
            {
                "index": 5,
                "message_id": "no-offset",
                "reason": "timestamp: Value error, expected an RFC 3339 time with an offset,"
                " e.g. 2025-10-25T10:30:00Z",
            },
        ],
    }
    rows = await stored(conn, tenant)
    assert [(r["message_id"], r["meta"], r["user_id"], r["player_id"]) for r in rows] == [
        ("good-1", '{"level":42}', "player_007", None),
        ("good-2", None, None, None),
    ]
    assert [r["ts"] for r in rows] == [datetime(2025, 10, 25, 10, 30, tzinfo=UTC)] * 2


async def test_an_event_without_a_message_id_is_listed(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    machine = callers.machine(tenant, "events:write")
    response = await send(client, machine, [{"event_type": "no_id", "timestamp": SENT_AT}])
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "errors": [{"index": 0, "message_id": None, "reason": "message_id: Field required"}],
    }


async def test_a_players_events_are_theirs(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant, uid="player_042")
    response = await send(client, player, [event("p1", user_id="someone_else")])
    assert response.json()["accepted"] == 1
    [row] = await stored(conn, tenant)
    assert (str(row["player_id"]), row["user_id"]) == (player.subject, "player_042")


async def test_each_stored_event_makes_one_fact(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    await send(client, machine, [event("f1", properties={"a": 1}), event("f2"), event("f1")])
    await send(client, machine, [event("f2"), event("bad", "")])
    rows = {r["id"]: r for r in await stored(conn, tenant)}
    found = await facts(conn, tenant)
    assert len(found) == 2
    for fact in found:
        row = rows[fact["id"]]  # the fact's id is the event's own
        assert fact["kind"] == "ingestion.game_event.v1"
        assert fact["occurred_at"] == row["ts"]
        assert fact["data"] == {
            "event_type": "level_complete",
            "meta": row["meta"],
            "player_id": None,
            "user_id": None,
        }
    assert sorted(f["data"]["meta"] or "" for f in found) == ["", '{"a":1}']


async def test_a_players_batch_event_leaves_the_same_fact_as_post_event(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    """The batch's facts are built in SQL; POST /event's in Python: the data must not differ."""
    player = callers.player(tenant, uid="player_042")
    single = {"eventType": "level_complete", "meta": '{"level":42}', "timestampUtc": SENT_AT}
    assert (await client.post("/event", json=single, headers=player.headers)).status_code == 200
    await send(client, player, [event("b1", properties={"level": 42})])
    found = await facts(conn, tenant)
    assert [(f["kind"], f["occurred_at"]) for f in found] == [
        ("ingestion.game_event.v1", datetime(2025, 10, 25, 10, 30, tzinfo=UTC))
    ] * 2
    assert (
        found[0]["data"]
        == found[1]["data"]
        == {
            "event_type": "level_complete",
            "meta": '{"level":42}',
            "player_id": player.subject,
            "user_id": "player_042",
        }
    )


async def test_1001_events_are_refused_with_the_limits(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    response = await send(client, machine, [event(f"m{n}") for n in range(1001)])
    assert response.status_code == 413
    problem = response.json()
    assert {k: problem[k] for k in LIMITS} == LIMITS
    assert problem["detail"] == "A batch holds at most 1000 events; this one has 1001."
    assert await stored(conn, tenant) == []


async def test_1000_events_are_taken(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    response = await send(client, machine, [event(f"m{n:04}") for n in range(1000)])
    assert response.json() == {"accepted": 1000, "duplicates": 0, "errors": []}
    assert len(await stored(conn, tenant)) == 1000
    assert len(await facts(conn, tenant)) == 1000


async def test_a_body_over_1_mb_is_refused_with_the_limits(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    events = [event(f"m{n}", properties={"blob": "x" * 30_000}) for n in range(40)]
    response = await send(client, machine, events)
    assert response.status_code == 413
    problem = response.json()
    assert {k: problem[k] for k in LIMITS} == LIMITS
    assert problem["detail"] == "The request body is larger than 1048576 bytes."
    assert await stored(conn, tenant) == []


async def test_nothing_is_stored_without_the_scope(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    for caller in (callers.machine(tenant, "events:read"), callers.user(tenant, "admin")):
        response = await send(client, caller, [event("m1")])
        assert response.status_code == 403
    assert await stored(conn, tenant) == []
    assert await facts(conn, tenant) == []


@pytest.fixture
async def app(
    app_settings: IngestionSettings, database: Database, callers: Callers
) -> AsyncIterator[FastAPI]:
    app = create_app(
        app_settings,
        database=database,
        verifier_factory=lambda _: auth_free_verifier(app_settings, callers.api_keys),
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_a_batch_over_the_concurrency_bound_gets_429_with_retry_after(
    app: FastAPI, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingestion.test") as http:
        slots = app.state.batch_slots
        held = [slots.take() for _ in range(8)]  # INGESTION_MAX_CONCURRENT_BATCHES' default
        for slot in held:
            await slot.__aenter__()
        busy = await send(http, machine, [event("m1")])
        for slot in held:
            await slot.__aexit__(None, None, None)
        free = await send(http, machine, [event("m1")])
    assert (busy.status_code, busy.headers["Retry-After"]) == (429, "1")
    assert busy.json()["type"] == "https://meridian.dev/problems/rate-limited"
    assert free.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert [r["message_id"] for r in await stored(conn, tenant)] == ["m1"]


async def test_review_inputs_get_answers_not_500s(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    machine = callers.machine(tenant, "events:write")
    sent_at = "2025-10-25T10:00:00Z"
    batch = {
        "sent_at": sent_at,
        "batch": [
            # a lone surrogate in a message_id that must be quoted back in an error
            {"message_id": "ok\ud800", "event_type": "x" * 101, "timestamp": sent_at},
            # the calendar's edges read back as infinity: refused
            {"message_id": "edge", "event_type": "e", "timestamp": "9999-12-31T23:59:59Z"},
            {"message_id": "fine", "event_type": "e", "timestamp": sent_at},
        ],
    }
    raw = json.dumps(batch)  # ASCII with \ud800 escaped, as a client would send it
    headers = {**machine.headers, "content-type": "application/json"}
    response = await client.post("/data/events", content=raw, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], [(e["index"], e["message_id"]) for e in body["errors"]]) == (
        1,
        [(0, None), (1, "edge")],
    )
