"""Every stored event leaves as one fact for the analytics warehouse (through the outbox)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestion_testing import Callers


async def _facts(conn: AsyncConnection, tenant: uuid.UUID) -> list[dict[str, object]]:
    rows = await conn.execute(
        text(
            "SELECT id, kind, occurred_at, data, delivered_at FROM ingestion.outbox"
            " WHERE tenant_id = :t ORDER BY created_at"
        ),
        {"t": tenant},
    )
    return [dict(row) for row in rows.mappings()]


async def test_an_event_becomes_one_fact_with_its_own_id(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant, uid="player_042")
    body = {
        "eventType": "level_complete",
        "meta": '{"level":42}',
        "timestampUtc": "2025-10-25T10:30:00Z",
    }
    event_id = (await client.post("/event", json=body, headers=player.headers)).json()["eventId"]
    [fact] = await _facts(conn, tenant)
    assert str(fact["id"]) == event_id
    assert fact["kind"] == "ingestion.game_event.v1"
    assert fact["occurred_at"].isoformat() == "2025-10-25T10:30:00+00:00"  # type: ignore[attr-defined]
    assert fact["data"] == {
        "event_type": "level_complete",
        "meta": '{"level":42}',
        "player_id": player.subject,
        "user_id": "player_042",
    }
    assert fact["delivered_at"] is None


async def test_a_replayed_request_makes_no_second_fact(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    headers = {**machine.headers, "Idempotency-Key": "retry-1"}
    for _ in range(2):
        response = await client.post("/event", json={"eventType": "purchase"}, headers=headers)
        assert response.status_code == 200
    facts = await _facts(conn, tenant)
    assert [(f["kind"], f["data"]["player_id"]) for f in facts] == [
        ("ingestion.game_event.v1", None)
    ]  # type: ignore[index]


async def test_a_refused_event_makes_no_fact(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "events:write")
    response = await client.post("/event", json={"eventType": "x" * 101}, headers=machine.headers)
    assert response.status_code == 422
    assert await _facts(conn, tenant) == []
