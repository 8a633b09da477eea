"""Helpers of the upload tests: sending a file, reading back what it stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestion_testing import Caller

PURCHASES_HEADER = "appsflyer_id,event_name,event_time_utc,revenue_usd,campaign,receipt_id,status"
CONFIRMED_HEADER = "appsflyer_id,event_name,event_time_utc,revenue_usd,campaign,receipt_id"
USERS_HEADER = "user_id,buying_company_name,email,cell_phone,office_phone"
CSV = {"content-type": "text/csv"}


def csv_file(*lines: str) -> str:
    return "\n".join(lines) + "\n"


async def upload(
    client: httpx.AsyncClient,
    caller: Caller,
    kind: str,
    body: str | bytes,
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    return await client.post(
        f"/data/uploads/{kind}",
        content=body,
        params=params,
        headers={**caller.headers, **CSV, **(headers or {})},
    )


def counts(answer: dict[str, Any]) -> tuple[int, ...]:
    """(total, inserted, updated, duplicate, error, warning) of an upload."""
    return tuple(
        answer[f"rows_{name}"]
        for name in ("total", "inserted", "updated", "duplicate", "error", "warning")
    )


async def rows(
    conn: AsyncConnection, table: str, tenant: uuid.UUID, columns: str
) -> list[tuple[Any, ...]]:
    found = await conn.execute(
        text(f"SELECT {columns} FROM ingestion.{table} WHERE tenant_id = :t ORDER BY line_number"),  # noqa: S608 - names from the test
        {"t": tenant},
    )
    return [tuple(row) for row in found]


async def facts(conn: AsyncConnection, tenant: uuid.UUID) -> list[dict[str, Any]]:
    found = await conn.execute(
        text(
            "SELECT id, kind, occurred_at, data FROM ingestion.outbox WHERE tenant_id = :t"
            " ORDER BY (data->>'line')::int, created_at"
        ),
        {"t": tenant},
    )
    return [dict(row) for row in found.mappings()]
