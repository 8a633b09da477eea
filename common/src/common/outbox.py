"""Facts for the analytics warehouse: an outbox written in the producer's own transaction and a
relay that delivers it in batches, at least once, with backoff (ARCHITECTURE.md, "How data flows").

Contract: ``POST {ANALYTICS_URL}/internal/facts`` with a service token and
``{"source": "<service>", "facts": [{"id", "kind", "tenant_id", "occurred_at", "data"}]}``,
answered ``{"accepted": n, "duplicates": m}``; a batch is all or nothing, and analytics keeps
each ``(source, id)`` once, so redelivery is harmless.

A producer adds ``outbox_table(Base.metadata)`` to its models (its migrations then create
``<schema>.outbox``), calls :func:`record_fact` (:func:`record_facts` for many) beside its own
change, and runs :class:`OutboxRelay` in its worker (``JobSet.loop``).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from loguru import logger
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

MAX_BACKOFF = timedelta(minutes=10)
# A fact the receiver refuses on its own (4xx) this many times is parked, not retried forever.
MAX_REFUSALS = 10


def outbox_table(metadata: MetaData) -> Table:
    """The outbox of the service whose metadata this is (in its schema)."""
    return Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("kind", String(100), nullable=False),
        Column("tenant_id", UUID(as_uuid=True), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("data", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
        Column("attempts", Integer, server_default=text("0"), nullable=False),
        Column(
            "next_attempt_at", DateTime(timezone=True), server_default=func.now(), nullable=False
        ),
        Column("delivered_at", DateTime(timezone=True)),
        Column("parked_at", DateTime(timezone=True)),
        Column("last_error", Text),
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL AND parked_at IS NULL"),
        ),
    )


async def record_fact(
    session: AsyncSession,
    table: Table,
    *,
    kind: str,
    tenant_id: uuid.UUID,
    occurred_at: datetime,
    data: dict[str, Any],
    fact_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue a fact in the caller's transaction: it leaves only if that transaction commits.
    Pass a ``fact_id`` derived from the source record to make re-recording it idempotent."""
    fact_id = fact_id or uuid.uuid4()
    await session.execute(
        insert(table)
        .values(id=fact_id, kind=kind, tenant_id=tenant_id, occurred_at=occurred_at, data=data)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return fact_id


@dataclass(frozen=True)
class Fact:
    """One fact to queue: its id derived from the source record, so re-recording is harmless."""

    id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID
    occurred_at: datetime
    data: dict[str, Any]


async def record_facts(session: AsyncSession, table: Table, facts: Sequence[Fact]) -> None:
    """Queue many facts in the caller's transaction with one statement (a fact whose id is
    already queued is skipped)."""
    if not facts:
        return
    await session.execute(
        insert(table)
        .values(
            [
                {
                    "id": f.id,
                    "kind": f.kind,
                    "tenant_id": f.tenant_id,
                    "occurred_at": f.occurred_at,
                    "data": f.data,
                }
                for f in facts
            ]
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


@dataclass
class RelayResult:
    delivered: int = 0
    retried: int = 0
    parked: int = 0


TokenProvider = Callable[[], Awaitable[str]]


class OutboxRelay:
    """Delivers a producer's outbox to analytics: oldest first, in batches, claimed with
    ``SKIP LOCKED`` (several workers share the work), retried with exponential backoff."""

    def __init__(
        self,
        *,
        source: str,
        table: Table,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        url: str,
        token: TokenProvider,
        batch_size: int = 500,
    ) -> None:
        self.source = source
        self.table = table
        self._sessionmaker = sessionmaker
        self._client = client
        self._url = url
        self._token = token
        self.batch_size = batch_size

    async def drain(self) -> RelayResult:
        """Deliver batches until nothing more is due now (what the worker's loop calls)."""
        total = RelayResult()
        while True:
            batch = await self.relay_once()
            total.delivered += batch.delivered
            total.retried += batch.retried
            total.parked += batch.parked
            if batch.delivered < self.batch_size or batch.retried or batch.parked:
                return total

    async def relay_once(self) -> RelayResult:
        """Deliver one batch of due facts (an empty result when none is due)."""
        result = RelayResult()
        async with self._sessionmaker() as session, session.begin():
            rows = await self._claim(session)
            if not rows:
                return result
            status, error = await self._post(rows)
            if status == 200:
                await self._delivered(session, [row.id for row in rows])
                result.delivered = len(rows)
            elif status is not None and 400 <= status < 500 and len(rows) > 1:
                # The batch is all or nothing: find the fact the receiver refuses, one by one.
                for row in rows:
                    single, single_error = await self._post([row])
                    if single == 200:
                        await self._delivered(session, [row.id])
                        result.delivered += 1
                    else:
                        parked = await self._failed(session, [row], single_error, refused=True)
                        result.parked += parked
                        result.retried += 1 - parked
            else:
                refused = status is not None and 400 <= status < 500
                parked = await self._failed(session, rows, error, refused=refused)
                result.parked += parked
                result.retried += len(rows) - parked
        if result.retried or result.parked:
            logger.warning("outbox {}: {}", self.source, result)
        return result

    async def _claim(self, session: AsyncSession) -> list[Any]:
        t = self.table
        query = (
            select(t.c.id, t.c.kind, t.c.tenant_id, t.c.occurred_at, t.c.data, t.c.attempts)
            .where(
                t.c.delivered_at.is_(None),
                t.c.parked_at.is_(None),
                t.c.next_attempt_at <= func.clock_timestamp(),
            )
            .order_by(t.c.created_at, t.c.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        return list((await session.execute(query)).all())

    async def _post(self, rows: list[Any]) -> tuple[int | None, str]:
        body = {
            "source": self.source,
            "facts": [
                {
                    "id": str(row.id),
                    "kind": row.kind,
                    "tenant_id": str(row.tenant_id),
                    "occurred_at": row.occurred_at.astimezone(UTC).isoformat(),
                    "data": row.data,
                }
                for row in rows
            ],
        }
        try:
            headers = {"Authorization": f"Bearer {await self._token()}"}
            response = await self._client.post(self._url, json=body, headers=headers)
        except Exception as exc:  # unreachable, timed out, or no service token: try again later
            return None, f"{type(exc).__name__}: {exc}"[:500]
        return response.status_code, f"HTTP {response.status_code}: {response.text[:400]}"

    async def _delivered(self, session: AsyncSession, ids: list[uuid.UUID]) -> None:
        await session.execute(
            update(self.table)
            .where(self.table.c.id.in_(ids))
            .values(delivered_at=func.now(), last_error=None)
        )

    async def _failed(
        self, session: AsyncSession, rows: list[Any], error: str, *, refused: bool
    ) -> int:
        """Schedule the next attempt; a fact refused MAX_REFUSALS times is parked. Returns how
        many were parked."""
        parked = 0
        for row in rows:
            attempts = row.attempts + 1
            park = refused and attempts >= MAX_REFUSALS
            parked += park
            await session.execute(
                update(self.table)
                .where(self.table.c.id == row.id)
                .values(
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=datetime.now(UTC) + backoff(attempts),
                    parked_at=func.now() if park else None,
                )
            )
        return parked


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … up to MAX_BACKOFF, with ±20 % jitter so producers do not retry in step."""
    base = min(MAX_BACKOFF.total_seconds(), 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not secrecy
