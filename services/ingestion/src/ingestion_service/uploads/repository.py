"""SQL of uploads: the upload records, and the rows of a file taken in a chunk at a time (COPY
into a staging table, then one statement inserts the new rows and their facts)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.customers.repository import rfc3339
from ingestion_service.models import Upload

# A row's fact id is uuid.uuid3(ROW_NAMESPACE, "<tenant>/<kind>/<row hash, hex>/<occurrence>"):
# the same row always makes the same fact, so analytics keeps it once however often it comes.
ROW_NAMESPACE = uuid.UUID("5d1b8c57-2f1e-4a63-9d0e-7c4b3a2f1e08")


def _uuid3(md5_hex: str) -> str:
    """SQL of the name-based UUID (RFC 9562 version 3) whose MD5 digest, in hex, is the column
    ``md5_hex``: the version in the 13th digit, the variant in the 17th. uuid5 would need
    SHA-1, which PostgreSQL has only through pgcrypto; MD5 is built in."""
    h = md5_hex
    return (
        f"(substr({h}, 1, 12) || '3' || substr({h}, 14, 3)"
        f" || substr('89ab89ab89ab89ab', ('x' || substr({h}, 17, 1))::bit(4)::integer + 1, 1)"
        f" || substr({h}, 18))::uuid"
    )


@dataclass(frozen=True)
class RowTable:
    """Where the rows of one kind of file go, and the fact each new row makes."""

    kind: str
    table: str
    # Columns as the kind reads them: (name, SQL type), in its order.
    columns: tuple[tuple[str, str], ...]
    fact_kind: str
    # SQL of the fact's time, over the inserted row ``i``.
    occurred_at: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def staging_sql(self) -> str:
        columns = ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return (
            "CREATE TEMP TABLE upload_stage (line_number integer, row_hash bytea,"
            f" {columns}) ON COMMIT DROP"
        )

    def insert_sql(self) -> str:
        names = ", ".join(self.names)
        data = ", ".join(
            f"'{name}', {self._json(name, sql_type)}" for name, sql_type in self.columns
        )
        return (
            # occurrence: identical rows before this one in the file, this chunk and earlier ones
            # (a lookup per row: a join would read all the file's hashes again for every chunk)
            "WITH staged AS (SELECT s.*, coalesce((SELECT seen.n FROM pg_temp.upload_seen seen"  # noqa: S608 - names from code
            " WHERE seen.row_hash = s.row_hash), 0)"
            " + row_number() OVER (PARTITION BY s.row_hash ORDER BY s.line_number) AS occurrence"
            " FROM pg_temp.upload_stage s),"
            " counted AS (INSERT INTO pg_temp.upload_seen AS seen (row_hash, n)"
            " SELECT row_hash, count(*) FROM pg_temp.upload_stage GROUP BY row_hash"
            " ON CONFLICT (row_hash) DO UPDATE SET n = seen.n + excluded.n),"
            f" inserted AS (INSERT INTO {self.table}"
            f" (tenant_id, row_hash, occurrence, upload_id, line_number, {names})"
            f" SELECT $1::uuid, row_hash, occurrence, $2::uuid, line_number, {names} FROM staged"
            # one lock order for every upload: two sharing rows wait, never deadlock
            " ORDER BY row_hash, occurrence"
            f" ON CONFLICT DO NOTHING RETURNING line_number, {names},"
            " md5(uuid_send($3::uuid) || convert_to($1::uuid::text"
            f" || '/{self.kind}/' || encode(row_hash, 'hex') || '/' || occurrence, 'UTF8'))"
            " AS fact_md5),"
            " facts AS (INSERT INTO ingestion.outbox (id, kind, tenant_id, occurred_at, data)"
            f" SELECT {_uuid3('i.fact_md5')}, '{self.fact_kind}', $1::uuid, {self.occurred_at},"
            f" jsonb_build_object('upload_id', $2::uuid::text, 'line', i.line_number, {data})"
            " FROM inserted i ON CONFLICT (id) DO NOTHING)"
            " SELECT count(*) FROM inserted"
        )

    @staticmethod
    def _json(name: str, sql_type: str) -> str:
        if sql_type == "timestamptz":
            return rfc3339(f"i.{name}")
        if sql_type == "numeric":
            return f"trim_scale(i.{name})"  # 12.500000 is written 12.5
        return f"i.{name}"


_PURCHASE = (
    ("appsflyer_id", "text"),
    ("event_name", "text"),
    ("event_time_utc", "timestamptz"),
    ("revenue_usd", "numeric"),
    ("revenue_raw", "text"),
    ("campaign", "text"),
    ("receipt_id", "text"),
)
ROW_TABLES = {
    table.kind: table
    for table in (
        RowTable(
            "purchases_raw",
            "ingestion.purchase_raw",
            (*_PURCHASE, ("status", "text")),
            "ingestion.purchase_raw.v1",
            "i.event_time_utc",
        ),
        RowTable(
            "confirmed_purchases",
            "ingestion.purchase_confirmed",
            _PURCHASE,
            "ingestion.purchase_confirmed.v1",
            "i.event_time_utc",
        ),
        RowTable(
            "costs_daily",
            "ingestion.cost_daily",
            (("cost_date", "date"), ("campaign", "text"), ("ad_cost_usd", "numeric")),
            "ingestion.cost_daily.v1",
            "i.cost_date::timestamp AT TIME ZONE 'UTC'",
        ),
        RowTable(
            "sessions",
            "ingestion.session_event",
            (("event_timestamp_utc", "timestamptz"), ("user_id", "text"), ("event_name", "text")),
            "ingestion.session_event.v1",
            "i.event_timestamp_utc",
        ),
    )
}


async def _driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, for COPY (inside the session's transaction)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


async def open_staging(session: AsyncSession, table: RowTable) -> None:
    """Temporary tables for one upload, dropped with its transaction: the chunk being taken in,
    and how often each row hash came so far."""
    # Through the session, so that its transaction has begun before any COPY.
    await session.execute(text("DROP TABLE IF EXISTS pg_temp.upload_stage, pg_temp.upload_seen"))
    await session.execute(text(table.staging_sql()))
    await session.execute(
        text(
            "CREATE TEMP TABLE upload_seen (row_hash bytea PRIMARY KEY, n integer NOT NULL)"
            " ON COMMIT DROP"
        )
    )


async def insert_rows(
    session: AsyncSession,
    table: RowTable,
    tenant_id: uuid.UUID,
    upload_id: uuid.UUID,
    rows: Sequence[tuple[Any, ...]],
) -> int:
    """Take in a chunk of rows (line number, row hash, then the kind's columns): the ones the
    tenant does not have yet are inserted with a fact each. Returns how many were new."""
    driver = await _driver(session)
    await driver.execute("TRUNCATE pg_temp.upload_stage")
    await driver.copy_records_to_table(
        "upload_stage",
        schema_name="pg_temp",
        columns=("line_number", "row_hash", *table.names),
        records=rows,
    )
    inserted = await driver.fetchval(table.insert_sql(), tenant_id, upload_id, ROW_NAMESPACE)
    return int(inserted)


async def lock_kind(session: AsyncSession, tenant_id: uuid.UUID, kind: str) -> bool:
    """Take the tenant's lock on uploads of a kind for this transaction (False: another holds
    it)."""
    taken = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"ingestion.upload/{tenant_id}/{kind}"},
    )
    return bool(taken)


INTERRUPTED = (
    "interrupted: the service stopped before the whole file was read; nothing of it was kept,"
    " send it again"
)


async def fail_interrupted(session: AsyncSession, older_than_minutes: int) -> int:
    """Uploads still ``processing`` whose tenant-and-kind lock nobody holds were cut off by a
    stopped process (their rows' transaction died with it): mark them failed."""
    result = await session.execute(
        text(
            "UPDATE ingestion.upload SET status = 'failed', failure = :why,"
            " finished_at = clock_timestamp()"
            " WHERE id IN (SELECT id FROM ingestion.upload"
            "  WHERE status = 'processing'"
            "  AND created_at < clock_timestamp() - make_interval(mins => :minutes)"
            "  AND pg_try_advisory_xact_lock(hashtextextended("
            "   'ingestion.upload/' || tenant_id::text || '/' || kind, 0))"
            "  FOR UPDATE SKIP LOCKED)"
        ),
        {"why": INTERRUPTED, "minutes": older_than_minutes},
    )
    return int(getattr(result, "rowcount", 0))


async def create_upload(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    mode: str,
    filename: str | None,
    uploaded_by: str,
) -> uuid.UUID:
    upload = Upload(
        tenant_id=tenant_id,
        kind=kind,
        mode=mode,
        filename=filename,
        status="processing",
        uploaded_by=uploaded_by,
        # the clock, not the transaction's start: uploads made in one transaction keep an order
        created_at=func.clock_timestamp(),
    )
    session.add(upload)
    await session.flush()
    return upload.id


async def finish_upload(session: AsyncSession, upload_id: uuid.UUID, **values: Any) -> Upload:
    """Record what became of the upload (status, counts, errors...) and when it ended."""
    statement = (
        update(Upload)
        .where(Upload.id == upload_id)
        .values(**values, finished_at=func.clock_timestamp())
        .returning(Upload)
    )
    return (await session.scalars(statement)).one()


async def get_upload(
    session: AsyncSession, tenant_id: uuid.UUID, upload_id: uuid.UUID
) -> Upload | None:
    return await session.scalar(
        select(Upload).where(Upload.tenant_id == tenant_id, Upload.id == upload_id)
    )


async def list_uploads(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    kind: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Upload], int]:
    """A page of the tenant's uploads, newest first, and how many match."""
    where: list[ColumnElement[bool]] = [Upload.tenant_id == tenant_id]
    if kind is not None:
        where.append(Upload.kind == kind)
    if status is not None:
        where.append(Upload.status == status)
    page = await session.scalars(
        select(Upload)
        .where(*where)
        .order_by(Upload.created_at.desc(), Upload.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Upload).where(*where))
    return list(page), int(total or 0)
