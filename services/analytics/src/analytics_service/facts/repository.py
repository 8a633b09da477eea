"""SQL of the warehouse: receipts, fact rows (one statement per table and batch), GA4 pulls,
partitions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = postgresql.dialect()


async def add_receipts(
    session: AsyncSession, source: str, receipts: Sequence[tuple[uuid.UUID, str, uuid.UUID]]
) -> set[uuid.UUID]:
    """Record (fact id, kind, tenant) of ``source`` once each; returns the ids new here (the
    others were received before, or twice in this list)."""
    if not receipts:
        return set()
    ids, kinds, tenants = (list(column) for column in zip(*receipts, strict=True))
    rows = await session.execute(
        text(
            "INSERT INTO analytics.fact_receipt (source, fact_id, kind, tenant_id)"
            " SELECT :source, r.fact_id, r.kind, r.tenant_id"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS text[]), CAST(:tenants AS uuid[]))"
            " AS r(fact_id, kind, tenant_id)"
            # one lock order for every batch: two deliveries sharing facts wait, never deadlock
            " ORDER BY r.fact_id"
            " ON CONFLICT (source, fact_id) DO NOTHING RETURNING fact_id"
        ),
        {"source": source, "ids": ids, "kinds": kinds, "tenants": tenants},
    )
    return {row.fact_id for row in rows}


def _array_type(table: Table, name: str) -> str:
    column_type = table.c[name].type
    if isinstance(column_type, JSONB):
        return "text"  # sent as JSON text, cast per element
    return str(column_type.compile(dialect=_DIALECT))


def _unnest_sql(table: Table, names: Sequence[str]) -> str:
    arrays = ", ".join(f"CAST(:c{i} AS {_array_type(table, n)}[])" for i, n in enumerate(names))
    values = ", ".join(
        f"u.{n}::jsonb" if isinstance(table.c[n].type, JSONB) else f"u.{n}" for n in names
    )
    columns = ", ".join(names)
    return (
        f"INSERT INTO {table.schema}.{table.name} AS t ({columns})"  # noqa: S608 - names from code
        f" SELECT {values} FROM unnest({arrays}) AS u({columns})"
    )


def _params(table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, name in enumerate(names):
        values = [row.get(name) for row in rows]
        if isinstance(table.c[name].type, JSONB):
            values = [json.dumps(value) for value in values]
        params[f"c{i}"] = values
    return params


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    on_conflict: str = "DO NOTHING",
) -> None:
    """Insert rows (dicts of the table's columns) with one statement; by default a row whose
    key is already there is left as it is."""
    if not rows:
        return
    names = [column.name for column in table.columns if column.name in rows[0]]
    sql = _unnest_sql(table, names) + f" ON CONFLICT {on_conflict}"
    await session.execute(text(sql), _params(table, names, rows))


async def upsert_newer(
    session: AsyncSession, table: Table, key: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows, or replace the row of the same key when the new one ``occurred_at`` later
    (each key at most once in ``rows``)."""
    if not rows:
        return
    names = [column.name for column in table.columns if column.name in rows[0]]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in key)
    sql = (
        _unnest_sql(table, names)
        + f" ORDER BY {', '.join(key)}"  # one lock order for every writer
        + f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}, received_at = now()"
        + " WHERE excluded.occurred_at > t.occurred_at"
    )
    await session.execute(text(sql), _params(table, names, rows))


async def complete_pull(session: AsyncSession, tenant_id: uuid.UUID, pull_id: uuid.UUID) -> str:
    """Make the pull its day's current one if it is whole (see ga4_complete_pull.sql); returns
    its status."""
    status = await session.scalar(
        text("SELECT analytics.ga4_complete_pull(:t, :p)"), {"t": tenant_id, "p": pull_id}
    )
    return str(status)


async def add_month_partitions(session: AsyncSession, months_ahead: int) -> int:
    """Partitions of every fact table from this month to ``months_ahead`` later; returns how
    many were made."""
    made = await session.scalar(
        text(
            "SELECT analytics.add_month_partitions(date_trunc('month', now() AT TIME ZONE 'UTC')"
            "::date, (date_trunc('month', now() AT TIME ZONE 'UTC')"
            " + make_interval(months => :ahead))::date)"
        ),
        {"ahead": months_ahead},
    )
    return int(made or 0)
