"""POST /event, GET /events, GET /stats: the gaming backend's contracts, per tenant."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestion_testing import Caller, Callers


async def send(
    client: httpx.AsyncClient, caller: Caller, event_type: str, ts: str, meta: str | None = None
) -> str:
    body: dict[str, Any] = {"eventType": event_type, "timestampUtc": ts}
    if meta is not None:
        body["meta"] = meta
    response = await client.post("/event", json=body, headers=caller.headers)
    assert response.status_code == 200, response.text
    event_id: str = response.json()["eventId"]
    return event_id


async def stored(conn: AsyncConnection, event_id: str) -> dict[str, Any]:
    row = await conn.execute(
        text(
            "SELECT tenant_id, player_id, user_id, sent_by, event_type, meta, ts"
            " FROM ingestion.event WHERE id = :id"
        ),
        {"id": event_id},
    )
    return dict(row.mappings().one())


# --- POST /event ---------------------------------------------------------------------------


async def test_player_event_is_stored_as_theirs(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant, uid="player_042")
    response = await client.post(
        "/event",
        json={
            "eventType": "level_complete",
            "meta": '{"level":42,"score":9999}',
            "timestampUtc": "2025-10-25T10:30:00Z",
        },
        headers=player.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["ok", "eventId"]
    assert body["ok"] is True
    row = await stored(conn, body["eventId"])
    assert row["tenant_id"] == tenant
    assert row["player_id"] == uuid.UUID(player.subject)
    assert row["user_id"] == "player_042"
    assert row["sent_by"] == f"player:{player.subject}"
    assert row["event_type"] == "level_complete"
    assert row["meta"] == '{"level":42,"score":9999}'
    assert row["ts"].isoformat() == "2025-10-25T10:30:00+00:00"


async def test_event_without_a_time_happened_when_received(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant)
    response = await client.post("/event", json={"eventType": "open"}, headers=player.headers)
    row = await stored(conn, response.json()["eventId"])
    # The test's transaction holds the request's: now() is the same instant in both.
    assert row["ts"] == await conn.scalar(text("SELECT now()"))
    assert row["meta"] is None


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2025-10-25T10:30:00", "2025-10-25T10:30:00Z"),  # no offset: taken as UTC
        ("2025-10-25T12:30:00+02:00", "2025-10-25T10:30:00Z"),
        ("2025-10-25 10:30:00.250Z", "2025-10-25T10:30:00.250000Z"),
    ],
)
async def test_timestamps_are_kept_in_utc(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, sent: str, kept: str
) -> None:
    player = callers.player(tenant)
    await send(client, player, "tick", sent)
    events = (await client.get("/events", headers=player.headers)).json()["events"]
    assert [e["ts"] for e in events] == [kept]


@pytest.mark.parametrize(
    ("event_type", "status"), [("", 422), ("a", 200), ("e" * 100, 200), ("e" * 101, 422)]
)
async def test_event_type_is_one_to_a_hundred_characters(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, event_type: str, status: int
) -> None:
    response = await client.post(
        "/event", json={"eventType": event_type}, headers=callers.player(tenant).headers
    )
    assert response.status_code == status


@pytest.mark.parametrize(("length", "status"), [(5000, 200), (5001, 422)])
async def test_meta_is_at_most_5000_characters(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, length: int, status: int
) -> None:
    meta = json.dumps("m" * (length - 2))  # a JSON string: its two quotes count
    assert len(meta) == length
    response = await client.post(
        "/event", json={"eventType": "big", "meta": meta}, headers=callers.player(tenant).headers
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "x", "meta": "level=42"},  # meta is not JSON
        {"eventType": "x", "meta": ""},
        {"eventType": "x", "meta": '{"score": NaN}'},  # not JSON, though Python would read it
        {"eventType": "x", "meta": {"level": 42}},  # JSON text is a string, not an object
        {"eventType": "x", "timestampUtc": 1761388200},  # seconds, not ISO-8601
        {"eventType": "x", "timestampUtc": "1761388200"},
        {"eventType": "x", "timestampUtc": "2025-10-25"},
        {"eventType": "x", "timestampUtc": "yesterday"},
        {"eventType": "tab\there"},
        {"meta": "{}"},
    ],
)
async def test_malformed_events_are_refused_as_problems(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, body: dict[str, Any]
) -> None:
    response = await client.post("/event", json=body, headers=callers.player(tenant).headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://meridian.dev/problems/validation-error"


async def test_machines_with_events_write_send_events_of_no_player(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    exchanged = callers.machine(tenant, "events:write")
    key = callers.api_key(tenant, "events:write")
    admin_key = callers.api_key(tenant, "admin")
    for machine in (exchanged, key, admin_key):
        event_id = await send(client, machine, "server_tick", "2025-10-25T10:00:00Z")
        row = await stored(conn, event_id)
        assert (row["tenant_id"], row["player_id"], row["user_id"], row["sent_by"]) == (
            tenant,
            None,
            None,
            f"machine:{machine.subject}",
        )


async def test_callers_without_the_right_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    body = {"eventType": "x"}
    reader = callers.api_key(tenant, "events:read", "wallets:write")
    writer = callers.machine(tenant, "events:write")
    for caller in (reader, callers.user(tenant, "owner"), callers.service()):
        response = await client.post("/event", json=body, headers=caller.headers)
        assert response.status_code == 403, caller
    for path in ("/events", "/stats"):
        for caller in (writer, callers.service()):
            response = await client.get(path, headers=caller.headers)
            assert response.status_code == 403
            assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/event"), ("GET", "/events"), ("GET", "/stats")]
)
async def test_no_token_is_401(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(
        method, path, json={"eventType": "x"} if method == "POST" else None
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "https://meridian.dev/problems/unauthorized"


async def test_unknown_api_key_and_foreign_tokens_are_401(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    expired = callers.sign({"sub": "p", "tid": str(tenant), "typ": "player"}, ttl=-60)
    for token in ("mk_test_unknown", expired, "not-a-jwt"):
        response = await client.get("/events", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


# --- GET /events ---------------------------------------------------------------------------


async def five_events(client: httpx.AsyncClient, caller: Caller) -> list[str]:
    """Five events an hour apart, oldest first; their ids."""
    return [
        await send(client, caller, kind, f"2025-10-25T{hour:02d}:00:00Z", meta=f'{{"n":{hour}}}')
        for hour, kind in zip(range(10, 15), ["a", "b", "a", "c", "a"], strict=True)
    ]


async def test_events_come_newest_first_with_their_fields(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    machine = callers.api_key(tenant, "events:write", "events:read")
    ids = await five_events(client, machine)
    response = await client.get("/events", headers=machine.headers)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["events", "total", "limit", "offset", "hasMore"]
    assert body["events"][0] == {
        "id": ids[4],
        "type": "a",
        "ts": "2025-10-25T14:00:00Z",
        "meta": '{"n":14}',
    }
    assert [e["id"] for e in body["events"]] == ids[::-1]
    assert (body["total"], body["limit"], body["offset"], body["hasMore"]) == (5, 100, 0, False)


@pytest.mark.parametrize(
    ("limit", "offset", "hours", "has_more"),
    [
        (2, 0, [14, 13], True),
        (2, 2, [12, 11], True),
        (2, 4, [10], False),
        (2, 5, [], False),
        (2, 99, [], False),
        (1000, 0, [14, 13, 12, 11, 10], False),
    ],
)
async def test_events_are_paged(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    limit: int,
    offset: int,
    hours: list[int],
    has_more: bool,
) -> None:
    machine = callers.api_key(tenant, "events:write", "events:read")
    await five_events(client, machine)
    response = await client.get(
        "/events", params={"limit": limit, "offset": offset}, headers=machine.headers
    )
    body = response.json()
    assert [e["meta"] for e in body["events"]] == [f'{{"n":{h}}}' for h in hours]
    assert (body["total"], body["limit"], body["offset"], body["hasMore"]) == (
        5,
        limit,
        offset,
        has_more,
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"event_type": ""},
        {"start_time": "soon"},
        {"start_time": "2025-10-25T12:00:00Z", "end_time": "2025-10-25T11:00:00Z"},
    ],
)
async def test_bad_queries_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, Any]
) -> None:
    response = await client.get("/events", params=params, headers=callers.user(tenant).headers)
    assert response.status_code == 422


async def test_events_are_filtered_by_type_and_inclusive_time_bounds(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    machine = callers.api_key(tenant, "events:write", "events:read")
    await five_events(client, machine)

    async def hours(**params: str) -> tuple[list[int], int]:
        body = (await client.get("/events", params=params, headers=machine.headers)).json()
        return [json.loads(e["meta"])["n"] for e in body["events"]], body["total"]

    assert await hours(event_type="a") == ([14, 12, 10], 3)
    assert await hours(event_type="nothing") == ([], 0)
    assert await hours(start_time="2025-10-25T11:00:00Z") == ([14, 13, 12, 11], 4)
    assert await hours(end_time="2025-10-25T11:00:00Z") == ([11, 10], 2)
    window = {"start_time": "2025-10-25T11:00:00Z", "end_time": "2025-10-25T13:00:00Z"}
    assert await hours(**window) == ([13, 12, 11], 3)
    assert await hours(**window, event_type="a") == ([12], 1)
    # without an offset a bound is UTC; with one it is converted
    assert await hours(start_time="2025-10-25T13:00:00") == ([14, 13], 2)
    assert await hours(start_time="2025-10-25T15:00:00+02:00") == ([14, 13], 2)


async def test_players_see_only_their_own_events(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    alice, bob = callers.player(tenant, "alice"), callers.player(tenant, "bob")
    mine = await send(client, alice, "a", "2025-10-25T10:00:00Z")
    theirs = await send(client, bob, "a", "2025-10-25T11:00:00Z")
    server = await send(
        client, callers.machine(tenant, "events:write"), "a", "2025-10-25T12:00:00Z"
    )

    async def seen(caller: Caller) -> tuple[list[str], int]:
        body = (await client.get("/events", headers=caller.headers)).json()
        return [e["id"] for e in body["events"]], body["total"]

    assert await seen(alice) == ([mine], 1)
    assert await seen(bob) == ([theirs], 1)
    everything = ([server, theirs, mine], 3)
    assert await seen(callers.user(tenant, "viewer")) == everything
    assert await seen(callers.machine(tenant, "events:read")) == everything
    assert await seen(callers.api_key(tenant, "admin")) == everything


async def test_another_tenant_never_sees_or_counts_these_events(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    await five_events(client, callers.api_key(tenant, "events:write"))
    other = uuid.uuid4()
    await send(client, callers.player(other), "z", "2025-10-25T10:00:00Z")
    for caller in (callers.user(other, "owner"), callers.api_key(other, "admin")):
        events = (await client.get("/events", headers=caller.headers)).json()
        assert [(e["type"], events["total"]) for e in events["events"]] == [("z", 1)]
        stats = (await client.get("/stats", headers=caller.headers)).json()
        assert (stats["stats"], stats["total"]) == ([{"eventType": "z", "count": 1}], 1)
    # X-Tenant-Id cannot reach into another tenant either
    response = await client.get(
        "/events",
        headers={**callers.user(other).headers, "X-Tenant-Id": str(tenant)},
    )
    assert response.status_code == 403


# --- GET /stats ----------------------------------------------------------------------------


async def test_stats_count_each_type_most_frequent_first_ties_by_type(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    machine = callers.api_key(tenant, "events:write", "events:read")
    for kind, times in [("b", 2), ("purchase", 3), ("a", 2), ("B", 2), ("login", 1)]:
        for _ in range(times):
            await send(client, machine, kind, "2025-10-25T10:00:00Z")
    response = await client.get("/stats", headers=machine.headers)
    assert response.status_code == 200
    assert response.json() == {
        "stats": [
            {"eventType": "purchase", "count": 3},
            {"eventType": "B", "count": 2},  # ties in byte order: upper case first
            {"eventType": "a", "count": 2},
            {"eventType": "b", "count": 2},
            {"eventType": "login", "count": 1},
        ],
        "total": 5,
        "limit": 100,
        "offset": 0,
        "hasMore": False,
    }
    page = await client.get("/stats", params={"limit": 2, "offset": 2}, headers=machine.headers)
    assert page.json() == {
        "stats": [{"eventType": "a", "count": 2}, {"eventType": "b", "count": 2}],
        "total": 5,
        "limit": 2,
        "offset": 2,
        "hasMore": True,
    }
    past = (await client.get("/stats", params={"offset": 5}, headers=machine.headers)).json()
    assert (past["stats"], past["total"], past["hasMore"]) == ([], 5, False)


async def test_stats_of_a_tenant_without_events_are_empty(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    response = await client.get("/stats", headers=callers.player(tenant).headers)
    assert response.json() == {"stats": [], "total": 0, "limit": 100, "offset": 0, "hasMore": False}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}])
async def test_bad_stats_pages_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, int]
) -> None:
    response = await client.get("/stats", params=params, headers=callers.user(tenant).headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "1899-12-31T23:59:59Z"]
)
async def test_times_outside_1900_to_2200_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, ts: str
) -> None:
    machine = callers.machine(tenant, "events:write")
    response = await client.post(
        "/event", json={"eventType": "e", "timestampUtc": ts}, headers=machine.headers
    )
    assert response.status_code == 422
