"""The outbox relay against a real receiving server on loopback that keeps each fact once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.db import Database, admin_url
from common.migrations import provision
from common.outbox import MAX_REFUSALS, Fact, OutboxRelay, outbox_table, record_fact, record_facts
from common.testing.servers import free_port, serve_asgi
from common_testing import ProbeSettings

TOKEN = "service-token-for-the-test"
TENANT = uuid.UUID("00000000-0000-0000-0000-00000000000a")


@dataclass
class Warehouse:
    """What analytics' facts endpoint does: all-or-nothing batches, each (source, id) once."""

    facts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: int = 0
    mode: str = "ok"  # ok | unavailable | accept-then-fail
    refuse_kinds: set[str] = field(default_factory=set)

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            self.calls += 1
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"detail": "no service token"}, status_code=401)
            if self.mode == "unavailable":
                return JSONResponse({"detail": "down"}, status_code=503)
            body = await request.json()
            if any(fact["kind"] in self.refuse_kinds for fact in body["facts"]):
                return JSONResponse({"detail": "unknown kind"}, status_code=422)
            accepted = duplicates = 0
            for fact in body["facts"]:
                key = (body["source"], fact["id"])
                duplicates += key in self.facts
                accepted += key not in self.facts
                self.facts[key] = fact
            if self.mode == "accept-then-fail":  # stored, but the answer is lost
                return JSONResponse({"detail": "oops"}, status_code=500)
            return JSONResponse({"accepted": accepted, "duplicates": duplicates})

        return Starlette(routes=[Route("/internal/facts", receive, methods=["POST"])])


@pytest.fixture
async def outbox(probe_settings: ProbeSettings) -> AsyncIterator[tuple[Table, AsyncEngine]]:
    await provision(probe_settings)
    engine = create_async_engine(admin_url(probe_settings))
    table = outbox_table(MetaData(schema="probe"))
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
        await conn.execute(text("TRUNCATE probe.outbox"))
    yield table, engine
    await engine.dispose()


async def _record(engine: AsyncEngine, table: Table, *kinds: str) -> list[uuid.UUID]:
    database = Database(engine)
    async with database.sessionmaker() as session, session.begin():
        return [
            await record_fact(
                session,
                table,
                kind=kind,
                tenant_id=TENANT,
                occurred_at=datetime.now(UTC),
                data={"n": n},
            )
            for n, kind in enumerate(kinds)
        ]


def _relay(
    table: Table, engine: AsyncEngine, client: httpx.AsyncClient, base: str, batch: int = 500
) -> OutboxRelay:
    async def token() -> str:
        return TOKEN

    return OutboxRelay(
        source="probe",
        table=table,
        sessionmaker=Database(engine).sessionmaker,
        client=client,
        url=f"{base}/internal/facts",
        token=token,
        batch_size=batch,
    )


async def _make_due(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE probe.outbox SET next_attempt_at = now()"))


async def test_facts_are_delivered_once_in_batches(outbox: tuple[Table, AsyncEngine]) -> None:
    table, engine = outbox
    ids = await _record(engine, table, "probe.a.v1", "probe.a.v1", "probe.b.v1")
    warehouse = Warehouse()
    async with serve_asgi(warehouse.app()) as base, httpx.AsyncClient() as client:
        relay = _relay(table, engine, client, base, batch=2)
        first = await relay.drain()
        again = await relay.drain()
    assert (first.delivered, again.delivered, warehouse.calls) == (3, 0, 2)
    assert sorted(warehouse.facts) == sorted(("probe", str(i)) for i in ids)
    assert warehouse.facts[("probe", str(ids[2]))]["kind"] == "probe.b.v1"


async def test_nothing_is_lost_while_the_receiver_is_down(
    outbox: tuple[Table, AsyncEngine],
) -> None:
    table, engine = outbox
    ids = await _record(engine, table, "probe.a.v1", "probe.a.v1")
    port = free_port()
    async with httpx.AsyncClient() as client:
        relay = _relay(table, engine, client, f"http://127.0.0.1:{port}")
        down = await relay.drain()  # nobody listens on the port
        async with engine.connect() as conn:
            pending = (
                await conn.execute(
                    text("SELECT attempts, next_attempt_at > now(), last_error FROM probe.outbox")
                )
            ).all()
        assert (down.delivered, down.retried) == (0, 2)
        assert [(a, later) for a, later, _ in pending] == [(1, True), (1, True)]
        assert all(error.startswith("ConnectError") for _, _, error in pending)
        assert (await relay.drain()).retried == 0  # backing off: not due yet
        warehouse = Warehouse()
        async with serve_asgi(warehouse.app(), port=port):
            await _make_due(engine)
            up = await relay.drain()
    assert up.delivered == 2
    assert sorted(warehouse.facts) == sorted(("probe", str(i)) for i in ids)


async def test_an_unavailable_receiver_is_retried_with_growing_backoff(
    outbox: tuple[Table, AsyncEngine],
) -> None:
    table, engine = outbox
    await _record(engine, table, "probe.a.v1")
    warehouse = Warehouse(mode="unavailable")
    waits = []
    async with serve_asgi(warehouse.app()) as base, httpx.AsyncClient() as client:
        relay = _relay(table, engine, client, base)
        for _ in range(3):
            await relay.drain()
            async with engine.connect() as conn:
                waits.append(
                    await conn.scalar(
                        text("SELECT extract(epoch FROM next_attempt_at - now()) FROM probe.outbox")
                    )
                )
            await _make_due(engine)
        warehouse.mode = "ok"
        assert (await relay.drain()).delivered == 1
    # 1 s, 2 s, 4 s, each with up to 20 % jitter (and a few ms of test time)
    assert [
        (low < wait < high)
        for wait, (low, high) in zip(waits, [(0.7, 1.3), (1.5, 2.5), (3.1, 4.9)], strict=True)
    ] == [True] * 3


async def test_a_lost_answer_means_redelivery_and_the_receiver_keeps_one(
    outbox: tuple[Table, AsyncEngine],
) -> None:
    table, engine = outbox
    ids = await _record(engine, table, "probe.a.v1")
    warehouse = Warehouse(mode="accept-then-fail")
    async with serve_asgi(warehouse.app()) as base, httpx.AsyncClient() as client:
        relay = _relay(table, engine, client, base)
        assert (await relay.drain()).retried == 1
        warehouse.mode = "ok"
        await _make_due(engine)
        assert (await relay.drain()).delivered == 1
    assert (warehouse.calls, list(warehouse.facts)) == (2, [("probe", str(ids[0]))])


async def test_a_refused_fact_does_not_hold_back_the_others(
    outbox: tuple[Table, AsyncEngine],
) -> None:
    table, engine = outbox
    good, bad, other = await _record(engine, table, "probe.a.v1", "probe.unknown.v9", "probe.b.v1")
    warehouse = Warehouse(refuse_kinds={"probe.unknown.v9"})
    async with serve_asgi(warehouse.app()) as base, httpx.AsyncClient() as client:
        relay = _relay(table, engine, client, base)
        first = await relay.drain()
        for _ in range(MAX_REFUSALS - 1):
            await _make_due(engine)
            await relay.drain()
    assert first.delivered == 2
    assert sorted(warehouse.facts) == sorted([("probe", str(good)), ("probe", str(other))])
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT attempts, parked_at IS NOT NULL, last_error FROM probe.outbox"
                    " WHERE id = :i"
                ),
                {"i": bad},
            )
        ).one()
    assert (row[0], row[1], row[2].startswith("HTTP 422")) == (MAX_REFUSALS, True, True)


async def test_a_fact_recorded_in_a_rolled_back_transaction_never_leaves(
    outbox: tuple[Table, AsyncEngine],
) -> None:
    table, engine = outbox
    database = Database(engine)
    async with database.sessionmaker() as session:
        await record_fact(
            session,
            table,
            kind="probe.a.v1",
            tenant_id=TENANT,
            occurred_at=datetime.now(UTC),
            data={},
        )
        await session.rollback()
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM probe.outbox")) == 0


async def test_many_facts_are_recorded_in_one_statement_each_id_once(
    outbox: tuple[Table, AsyncEngine],
) -> None:
    table, engine = outbox
    at = datetime(2025, 10, 25, 10, 30, tzinfo=UTC)
    ids = [uuid.UUID(int=n) for n in (1, 2, 3)]
    facts = [Fact(i, "probe.bulk.v1", TENANT, at, {"n": n}) for n, i in enumerate(ids)]
    database = Database(engine)
    async with database.sessionmaker() as session, session.begin():
        await record_facts(session, table, facts[:2])
        await record_facts(session, table, facts)  # the first two again: kept once
        await record_facts(session, table, [])
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, kind, occurred_at, data FROM probe.outbox ORDER BY id")
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (ids[0], "probe.bulk.v1", at, {"n": 0}),
        (ids[1], "probe.bulk.v1", at, {"n": 1}),
        (ids[2], "probe.bulk.v1", at, {"n": 2}),
    ]
