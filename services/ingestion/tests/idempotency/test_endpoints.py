"""Idempotency-Key on POST /event: one event and one answer per key, tenant and caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ingestion_service.config import IngestionSettings
from ingestion_service.events.schemas import EventIn
from ingestion_service.events.service import POST_EVENT
from ingestion_service.idempotency import repository
from ingestion_service.idempotency.repository import KeyScope
from ingestion_service.idempotency.service import request_hash
from ingestion_testing import Caller, Callers

BODY = {
    "eventType": "purchase",
    "meta": '{"sku":"gems_100"}',
    "timestampUtc": "2025-10-25T10:30:00Z",
}


async def events_of(conn: AsyncConnection, tenant: uuid.UUID) -> int:
    count = await conn.scalar(
        text("SELECT count(*) FROM ingestion.event WHERE tenant_id = :t"), {"t": tenant}
    )
    return int(count or 0)


async def test_a_retry_replays_the_first_answer_byte_for_byte(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant)
    first = await client.post("/event", json=BODY, headers=player.with_key("k-1"))
    again = await client.post("/event", json=BODY, headers=player.with_key("k-1"))
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert first.json()["ok"] is True
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert await events_of(conn, tenant) == 1


async def test_the_same_request_spelled_differently_is_a_retry(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant)
    first = await client.post("/event", json=BODY, headers=player.with_key("k"))
    respelled = {
        "timestampUtc": "2025-10-25T12:30:00+02:00",
        "meta": BODY["meta"],
        "eventType": BODY["eventType"],
    }
    again = await client.post("/event", json=respelled, headers=player.with_key("k"))
    assert again.content == first.content
    assert await events_of(conn, tenant) == 1


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant)
    await client.post("/event", json=BODY, headers=player.with_key("k"))
    response = await client.post(
        "/event", json={**BODY, "eventType": "refund"}, headers=player.with_key("k")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://meridian.dev/problems/idempotency-key-reused"
    assert await events_of(conn, tenant) == 1


async def test_keys_are_scoped_per_tenant_and_per_caller(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    other = uuid.uuid4()
    senders = [
        callers.player(tenant, "alice"),
        callers.player(tenant, "bob"),
        callers.machine(tenant, "events:write"),
        callers.player(other, "alice"),
    ]
    ids = set()
    for caller in senders:
        response = await client.post("/event", json=BODY, headers=caller.with_key("shared"))
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers
        ids.add(response.json()["eventId"])
    assert len(ids) == 4
    assert (await events_of(conn, tenant), await events_of(conn, other)) == (3, 1)


async def test_a_machine_is_one_caller_with_its_key_or_an_exchanged_token(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    key = callers.api_key(tenant, "events:write", key_id="7f0c")
    token = callers.machine(tenant, "events:write", key_id="7f0c")
    first = await client.post("/event", json=BODY, headers=key.with_key("k"))
    again = await client.post("/event", json=BODY, headers=token.with_key("k"))
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_refused_request_leaves_the_key_free(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    player = callers.player(tenant)
    bad = await client.post("/event", json={**BODY, "meta": "nope"}, headers=player.with_key("k"))
    assert bad.status_code == 422
    good = await client.post("/event", json=BODY, headers=player.with_key("k"))
    assert good.status_code == 200
    assert "idempotent-replayed" not in good.headers


async def test_a_key_past_its_24_hours_is_new_again(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    player = callers.player(tenant)
    first = await client.post("/event", json=BODY, headers=player.with_key("k"))
    await conn.execute(
        text("UPDATE ingestion.idempotency_key SET created_at = now() - interval '24 hours 1 s'")
    )
    other_body = {**BODY, "eventType": "other"}
    again = await client.post("/event", json=other_body, headers=player.with_key("k"))
    assert again.status_code == 200
    assert again.json()["eventId"] != first.json()["eventId"]
    assert await events_of(conn, tenant) == 2


@pytest.mark.parametrize("key", [b"", b"k" * 256, "naïve".encode("latin-1")])
async def test_malformed_keys_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, key: bytes
) -> None:
    token = callers.player(tenant).token.encode()
    headers = {b"Authorization": b"Bearer " + token, b"Idempotency-Key": key}
    response = await client.post("/event", json=BODY, headers=headers)
    assert response.status_code == 422


async def test_a_key_of_255_characters_is_taken(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    response = await client.post(
        "/event", json=BODY, headers=callers.player(tenant).with_key("k" * 255)
    )
    assert response.status_code == 200


# --- a twin still in flight: two real transactions ---------------------------------------------


@pytest.fixture
async def twin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A second connection: the first request, still running, in its own transaction."""
    async with engine.connect() as connection:
        yield connection
        if connection.in_transaction():
            await connection.rollback()


def scope_of(caller: Caller, key: str, kind: str = "player") -> KeyScope:
    return KeyScope(caller.tenant_id, f"{kind}:{caller.subject}", key)


async def hold_key(twin: AsyncConnection, caller: Caller, key: str) -> None:
    """Claim the key on the twin's connection as a running request would, without committing."""
    session = AsyncSession(bind=twin)
    fingerprint = request_hash(POST_EVENT, EventIn.model_validate(BODY))
    assert await repository.claim(session, scope_of(caller, key), fingerprint, 1000)


async def test_a_twin_still_in_flight_is_409(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    twin: AsyncConnection,
    conn: AsyncConnection,
) -> None:
    player = callers.player(tenant)
    await hold_key(twin, player, "k")
    response = await client.post("/event", json=BODY, headers=player.with_key("k"))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "https://meridian.dev/problems/idempotency-key-in-flight"
    assert await events_of(conn, tenant) == 0
    await twin.rollback()
    # once the twin gave up, the key is free
    retry = await client.post("/event", json=BODY, headers=player.with_key("k"))
    assert retry.status_code == 200


class TestTwinFinishingWithinTheWait:
    @pytest.fixture
    async def app_settings(self, settings: IngestionSettings) -> IngestionSettings:
        return settings.model_copy(update={"idempotency_wait_ms": 10_000})

    async def test_its_answer_is_replayed(
        self,
        client: httpx.AsyncClient,
        callers: Callers,
        tenant: uuid.UUID,
        twin: AsyncConnection,
        engine: AsyncEngine,
    ) -> None:
        player = callers.player(tenant)
        await hold_key(twin, player, "k")
        request = asyncio.create_task(
            client.post("/event", json=BODY, headers=player.with_key("k"))
        )
        try:
            await waiting_on_a_lock(engine)
            first_answer = '{"ok":true,"eventId":"00000000-0000-4000-8000-000000000001"}'
            await repository.complete(
                AsyncSession(bind=twin), scope_of(player, "k"), 200, first_answer
            )
            await twin.commit()
            response = await asyncio.wait_for(request, timeout=10)
            assert response.status_code == 200
            assert response.text == first_answer
            assert response.headers["idempotent-replayed"] == "true"
        finally:
            async with engine.begin() as cleanup:
                await cleanup.execute(
                    text("DELETE FROM ingestion.idempotency_key WHERE tenant_id = :t"),
                    {"t": tenant},
                )


async def waiting_on_a_lock(engine: AsyncEngine) -> None:
    """Until some transaction waits for another's lock (the twin's claim)."""
    async with engine.connect() as probe:
        for _ in range(500):
            waiting = await probe.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                )
            )
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the request never waited for the twin")
