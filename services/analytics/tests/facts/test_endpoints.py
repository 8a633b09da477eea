"""POST /internal/facts: who may send, all or nothing, each (source, id) once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_testing import Callers, fact
from common.errors import PROBLEM_JSON

EVENT = "ingestion.game_event.v1"


def _event(tenant: uuid.UUID, event_type: str = "level_up", **kw: Any) -> dict[str, Any]:
    data = {"event_type": event_type, "meta": None, "player_id": None, "user_id": "u1"}
    return fact(EVENT, tenant, data, **kw)


async def _send(
    client: httpx.AsyncClient, callers: Callers, facts: list[dict[str, Any]], source: str = ""
) -> httpx.Response:
    caller = callers.service("ingestion")
    body = {"source": source or "ingestion", "facts": facts}
    return await client.post("/internal/facts", json=body, headers=caller.headers)


async def _count(conn: AsyncConnection, table: str, tenant: uuid.UUID) -> int:
    sql = f"SELECT count(*) FROM analytics.{table} WHERE tenant_id = :t"  # noqa: S608
    return int(await conn.scalar(text(sql), {"t": tenant}) or 0)


async def test_a_batch_is_stored_and_counted(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    response = await _send(client, callers, [_event(tenant), _event(tenant, "quit")])
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert await _count(conn, "game_event", tenant) == 2
    receipts = await conn.execute(
        text("SELECT source, kind FROM analytics.fact_receipt WHERE tenant_id = :t"),
        {"t": tenant},
    )
    assert [tuple(r) for r in receipts] == [("ingestion", EVENT)] * 2


async def test_redelivered_facts_are_duplicates_and_stored_once(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    first, second = _event(tenant), _event(tenant)
    assert (await _send(client, callers, [first])).json() == {"accepted": 1, "duplicates": 0}
    again = await _send(client, callers, [first, second, second])
    assert again.json() == {"accepted": 1, "duplicates": 2}
    assert await _count(conn, "game_event", tenant) == 2
    assert await _count(conn, "fact_receipt", tenant) == 2


async def test_one_bad_fact_refuses_the_whole_batch(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    bad = _event(tenant)
    del bad["data"]["event_type"]
    response = await _send(client, callers, [_event(tenant), _event(tenant), bad])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "https://meridian.dev/problems/invalid-facts"
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["body", "facts", "2", "data", "event_type"], "missing")
    ]
    assert problem["detail"] == (
        "1 problem(s) in the facts, nothing was stored; the first: fact 2: Field required"
    )
    assert (
        await _count(conn, "game_event", tenant),
        await _count(conn, "fact_receipt", tenant),
    ) == (
        0,
        0,
    )


async def test_an_unknown_kind_is_named_by_its_index(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    unknown = fact("ingestion.telepathy.v1", tenant, {})
    response = await _send(client, callers, [_event(tenant), unknown])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "facts", "1", "kind"],
            "msg": "Unknown fact kind 'ingestion.telepathy.v1'.",
            "type": "unknown_kind",
        }
    ]
    assert await _count(conn, "game_event", tenant) == 0


async def test_data_with_a_field_of_another_shape_is_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    extra = _event(tenant)
    extra["data"]["score"] = 3
    response = await _send(client, callers, [_event(tenant), extra])
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [
        (["body", "facts", "1", "data", "score"], "extra_forbidden"),
    ]


async def test_a_time_without_offset_is_a_malformed_envelope(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    naive = _event(tenant, occurred_at="2026-11-20T10:00:00")
    response = await _send(client, callers, [_event(tenant), naive])
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [
        (["body", "facts", "1", "occurred_at"], "timezone_aware"),
    ]


async def test_a_service_sends_only_its_own_facts(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    response = await _send(client, callers, [_event(tenant)], source="economy")
    assert response.status_code == 403
    assert response.json()["type"] == "https://meridian.dev/problems/wrong-source"
    assert await _count(conn, "game_event", tenant) == 0


async def test_only_services_holding_facts_write_may_send(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    body = {"source": "analytics", "facts": [_event(tenant)]}
    refused = {
        "no scope": callers.service("analytics", "api-keys:introspect"),
        "tenant user": callers.user(tenant, "owner"),
        "tenant machine": callers.machine(tenant, "facts:write", "admin"),
    }
    for who, caller in refused.items():
        response = await client.post("/internal/facts", json=body, headers=caller.headers)
        assert response.status_code == 403, who
    anonymous = await client.post("/internal/facts", json=body)
    assert anonymous.status_code == 401


async def test_more_than_a_thousand_facts_or_eight_mib_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    many = await _send(client, callers, [_event(tenant)] * 1001)
    assert many.status_code == 422
    assert [e["loc"] for e in many.json()["errors"]] == [["body", "facts"]]
    huge = _event(tenant)
    huge["data"]["meta"] = "x" * (8 * 1024 * 1024)
    too_big = await _send(client, callers, [huge])
    assert too_big.status_code == 413
    assert too_big.json()["max_facts"] == 1000


async def test_an_empty_batch_stores_nothing(client: httpx.AsyncClient, callers: Callers) -> None:
    response = await _send(client, callers, [])
    assert response.json() == {"accepted": 0, "duplicates": 0}
