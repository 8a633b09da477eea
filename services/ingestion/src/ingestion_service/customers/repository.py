"""SQL of customer records: one statement upserts a list and records a fact per change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.models import Branch, CustomerUser


def rfc3339(column: str) -> str:
    """SQL of a timestamptz as RFC 3339 text in UTC, with a fraction only when it has one
    (whatever the session's time zone)."""
    return (
        f"(replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'),"
        " '.000000', '') || 'Z')"
    )


@dataclass(frozen=True)
class RecordTable:
    """A table of customer records: its key, its other fields (name, SQL type), its fact."""

    table: str
    key: str
    fields: tuple[tuple[str, str], ...]
    fact_kind: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.key, *(name for name, _ in self.fields))

    def upsert_sql(self) -> str:
        types = ("text", *(sql_type for _, sql_type in self.fields))
        arrays = ", ".join(f"CAST(:c{i} AS {t}[])" for i, t in enumerate(types))
        names = ", ".join(self.columns)
        fields = [name for name, _ in self.fields]
        assignments = ", ".join(f"{name} = excluded.{name}" for name in fields)
        current = ", ".join(f"r.{name}" for name in fields)
        sent = ", ".join(f"excluded.{name}" for name in fields)
        data = ", ".join(f"'{name}', c.{name}" for name in self.columns)
        return (
            f"WITH input AS (SELECT * FROM unnest({arrays}) AS i({names})),"  # noqa: S608 - names from code
            f" changed AS (INSERT INTO {self.table} AS r (tenant_id, {names}, created_at,"
            " updated_at)"
            # clock_timestamp: two changes of one record in one transaction still come in order
            f" SELECT :t, {names}, clock_timestamp(), clock_timestamp() FROM input"
            # one lock order for every writer: two requests sharing records wait, never deadlock
            f" ORDER BY {self.key}"
            f" ON CONFLICT (tenant_id, {self.key}) DO UPDATE SET {assignments},"
            " updated_at = excluded.updated_at"
            f" WHERE ROW({current}) IS DISTINCT FROM ROW({sent})"
            " RETURNING r.*, r.xmax = 0 AS created),"
            " facts AS (INSERT INTO ingestion.outbox (id, kind, tenant_id, occurred_at, data)"
            " SELECT gen_random_uuid(), :kind, c.tenant_id, c.updated_at,"
            f" jsonb_build_object({data}, 'created_at', {rfc3339('c.created_at')},"
            f" 'updated_at', {rfc3339('c.updated_at')}) FROM changed c)"
            " SELECT count(*) FILTER (WHERE created) AS created,"
            " count(*) FILTER (WHERE NOT created) AS updated FROM changed"
        )


USERS = RecordTable(
    table="ingestion.customer_user",
    key="user_id",
    fields=(
        ("buying_company_name", "text"),
        ("email", "text"),
        ("cell_phone", "text"),
        ("office_phone", "text"),
    ),
    fact_kind="ingestion.user.v1",
)
BRANCHES = RecordTable(
    table="ingestion.branch",
    key="branch_id",
    fields=(("name", "text"), ("city", "text"), ("state", "text"), ("active", "boolean")),
    fact_kind="ingestion.branch.v1",
)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


async def upsert(
    session: AsyncSession,
    table: RecordTable,
    tenant_id: uuid.UUID,
    records: Sequence[Sequence[Any]],
) -> Counts:
    """Create or replace the records (tuples in ``table.columns`` order, each key once); a
    record already as sent is left alone. Each change leaves as a fact of the whole record."""
    if not records:
        return Counts()
    params: dict[str, Any] = {"t": tenant_id, "kind": table.fact_kind}
    for i in range(len(table.columns)):
        params[f"c{i}"] = [record[i] for record in records]
    row = (await session.execute(text(table.upsert_sql()), params)).one()
    return Counts(row.created, row.updated, len(records) - row.created - row.updated)


async def get_user(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: str
) -> CustomerUser | None:
    return await session.get(CustomerUser, (tenant_id, user_id))


async def list_users(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[CustomerUser], int]:
    """A page of the tenant's customers by user_id, and how many there are."""
    where = [CustomerUser.tenant_id == tenant_id]
    page = await session.scalars(
        select(CustomerUser)
        .where(*where)
        .order_by(CustomerUser.user_id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(CustomerUser).where(*where))
    return list(page), int(total or 0)


async def get_branch(session: AsyncSession, tenant_id: uuid.UUID, branch_id: str) -> Branch | None:
    return await session.get(Branch, (tenant_id, branch_id))


async def list_branches(
    session: AsyncSession, tenant_id: uuid.UUID, active: bool | None, limit: int, offset: int
) -> tuple[list[Branch], int]:
    """A page of the tenant's branches by branch_id (only active or inactive ones if asked)."""
    where: list[ColumnElement[bool]] = [Branch.tenant_id == tenant_id]
    if active is not None:
        where.append(Branch.active.is_(active))
    page = await session.scalars(
        select(Branch).where(*where).order_by(Branch.branch_id).limit(limit).offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Branch).where(*where))
    return list(page), int(total or 0)
