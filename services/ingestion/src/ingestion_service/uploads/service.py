"""CSV uploads: a file streamed in, its header checked before anything is written, its rows read
one by one (bad ones listed with their line and reason, the good ones stored in chunks with a
fact each), and a record of the upload kept.

Transactions: the upload record is committed first (``processing``, visible at once); the rows,
their facts and the final counts then commit together, so an upload is taken in whole or not at
all; a failure is recorded in a third.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from common.errors import NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from common.security import Principal
from ingestion_service.config import IngestionSettings
from ingestion_service.customers import repository as customers
from ingestion_service.customers.schemas import MAX_RECORDS
from ingestion_service.uploads import repository
from ingestion_service.uploads.kinds import KINDS, HeaderError, Kind, Row, RowError
from ingestion_service.uploads.reader import CsvStream, NotText, Record, TooLarge
from ingestion_service.uploads.schemas import (
    UploadMode,
    UploadOut,
    UploadPage,
    UploadQuery,
    UploadSummary,
)

MEDIA_TYPES = ("text/csv", "application/csv", "text/plain")
# Row errors and warnings kept per upload (all are counted).
MAX_ROW_ISSUES = 1000
# Rows per COPY and INSERT: a few MB in memory at most.
CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class IncomingFile:
    body: AsyncIterator[bytes]
    content_type: str | None
    filename: str | None
    content_disposition: str | None = None


@dataclass
class Tally:
    """What became of an upload's rows so far."""

    total: int = 0
    inserted: int = 0
    updated: int = 0
    duplicate: int = 0
    error: int = 0
    warning: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, line: int, reason: str) -> None:
        self.error += 1
        if len(self.errors) < MAX_ROW_ISSUES:
            self.errors.append({"line": line, "reason": reason})

    def warn(self, line: int, reason: str) -> None:
        self.warning += 1
        if len(self.warnings) < MAX_ROW_ISSUES:
            self.warnings.append({"line": line, "reason": reason})

    def columns(self, *, written: bool = True) -> dict[str, Any]:
        return {
            "rows_total": self.total,
            "rows_inserted": self.inserted if written else 0,
            "rows_updated": self.updated if written else 0,
            "rows_duplicate": self.duplicate if written else 0,
            "rows_error": self.error,
            "rows_warning": self.warning,
            "errors": self.errors,
            "warnings": self.warnings,
        }


class _Rows:
    """Rows of purchases, costs and sessions, inserted a chunk at a time (re-sent rows skipped).
    A chunk is written while the next one is read: PostgreSQL and Python work side by side."""

    def __init__(self, session: AsyncSession, kind: Kind, tally: Tally, upload: _Upload) -> None:
        self._session, self._tally, self._upload = session, tally, upload
        self._table = repository.ROW_TABLES[kind.name]
        self._pending: list[tuple[Any, ...]] = []
        self._writing: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await repository.open_staging(self._session, self._table)

    def full_before(self, row: Row) -> bool:
        return len(self._pending) >= CHUNK_ROWS

    def add(self, line: int, row: Row) -> None:
        self._pending.append((line, row.row_hash, *row.values))

    async def flush(self) -> None:
        """Start writing the held rows, once the chunk before them is written (one connection)."""
        await self.settle()
        if self._pending:
            chunk, self._pending = self._pending, []
            self._writing = asyncio.create_task(self._write(chunk))

    async def settle(self) -> None:
        """Wait for the chunk being written; its error, if any, is raised here."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    async def abandon(self) -> None:
        """On the way out after an error: let a chunk being written finish, whatever it says,
        before the transaction is rolled back."""
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
            self._writing = None

    async def _write(self, chunk: list[tuple[Any, ...]]) -> None:
        inserted = await repository.insert_rows(
            self._session, self._table, self._upload.tenant_id, self._upload.id, chunk
        )
        self._tally.inserted += inserted
        self._tally.duplicate += len(chunk) - inserted


class _Records:
    """Users and locations, upserted as PUT /data/users and /data/branches do; a record the file
    repeats is applied in file order (its later line wins)."""

    def __init__(self, session: AsyncSession, kind: Kind, tally: Tally, upload: _Upload) -> None:
        assert kind.records is not None
        self._session, self._tally, self._upload = session, tally, upload
        self._table = kind.records
        self._pending: dict[str, tuple[Any, ...]] = {}

    async def open(self) -> None:
        return None

    def full_before(self, row: Row) -> bool:
        # A chunk holds each key once: a repeat waits for the chunk before it to be written.
        return len(self._pending) >= MAX_RECORDS or row.values[0] in self._pending

    def add(self, line: int, row: Row) -> None:
        self._pending[row.values[0]] = row.values

    async def flush(self) -> None:
        if not self._pending:
            return
        counts = await customers.upsert(
            self._session, self._table, self._upload.tenant_id, list(self._pending.values())
        )
        self._tally.inserted += counts.created
        self._tally.updated += counts.updated
        self._tally.duplicate += counts.unchanged
        self._pending = {}

    async def settle(self) -> None:
        return None

    async def abandon(self) -> None:
        return None


@dataclass(frozen=True)
class _Upload:
    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: Kind
    mode: UploadMode


class _Rejected(Exception):
    """An all_or_nothing upload with a row error."""


def _check_media_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Send the file as the body with Content-Type text/csv (not {media_type or 'none'})."
        )


def file_name(query: str | None, disposition: str | None) -> str | None:
    """The file's name: ?filename=, else Content-Disposition's; without any folder, printable."""
    name = query
    if name is None and disposition:
        header = Message()
        header["content-disposition"] = disposition
        found = header.get_filename()
        name = found if isinstance(found, str) else None
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).encode("utf-8", "replace").decode()
    return name[:255] or None


def _header_problem(kind: Kind, problems: list[tuple[str, str, str]]) -> Unprocessable:
    return Unprocessable(
        f"A {kind.name} file starts with a header naming exactly these columns, in any order:"
        f" {', '.join(kind.columns)}"
        + (f" (optional: {', '.join(kind.optional)})" if kind.optional else "")
        + ". Nothing was taken in.",
        type_slug="bad-header",
        errors=[
            {"loc": ["body", "header", column], "msg": f"{column} {problem}", "type": kind_}
            for column, problem, kind_ in problems
        ],
    )


async def _header(
    kind: Kind, batches: AsyncIterator[list[Record]]
) -> tuple[list[int | None], int, list[Record]]:
    """The header's column positions and width, and the records read with it."""
    async for batch in batches:
        header, rest = batch[0], batch[1:]
        if header.fields is None:
            raise _header_problem(
                kind, [("header", f"cannot be read: {header.error}", "bad_header")]
            )
        try:
            return kind.positions(header.fields), len(header.fields), rest
        except HeaderError as exc:
            raise _header_problem(kind, exc.problems) from None
    raise _header_problem(kind, [("header", "is missing: the file is empty", "missing_header")])


async def _read_rows(
    records: Sequence[Record],
    upload: _Upload,
    layout: tuple[list[int | None], int],
    sink: _Rows | _Records,
    tally: Tally,
) -> None:
    """Read each record as a row of its kind: a good one goes to the sink, a bad one is listed.
    Once an all_or_nothing upload has an error, rows are only counted (nothing will be kept)."""
    positions, width = layout
    keep = upload.mode != "all_or_nothing" or not tally.error
    for record in records:
        tally.total += 1
        fields = record.fields
        if fields is None:
            tally.refuse(record.line, record.error or "the record cannot be read")
            keep = keep and upload.mode != "all_or_nothing"
            continue
        if len(fields) != width:
            tally.refuse(record.line, f"expected {width} fields, found {len(fields)}")
            keep = keep and upload.mode != "all_or_nothing"
            continue
        try:
            row = upload.kind.read([fields[i] if i is not None else "" for i in positions])
        except RowError as exc:
            tally.refuse(record.line, str(exc))
            keep = keep and upload.mode != "all_or_nothing"
            continue
        if row.warning:
            tally.warn(record.line, row.warning)
        if keep:
            if sink.full_before(row):
                await sink.flush()
            sink.add(record.line, row)


async def _load(
    session: AsyncSession,
    upload: _Upload,
    stream: CsvStream,
    layout: tuple[list[int | None], int],
    first: list[Record],
    batches: AsyncIterator[list[Record]],
) -> Tally:
    tally = Tally()
    sink = (_Records if upload.kind.records else _Rows)(session, upload.kind, tally, upload)
    await sink.open()
    try:
        await _read_rows(first, upload, layout, sink, tally)
        async for batch in batches:
            await _read_rows(batch, upload, layout, sink, tally)
        if upload.mode == "all_or_nothing" and tally.error:
            raise _Rejected(tally)
        await sink.flush()
        await sink.settle()
    finally:
        await sink.abandon()
    return tally


async def _fail(
    database: Database,
    upload_id: uuid.UUID,
    failure: str,
    stream: CsvStream,
    tally: Tally | None,
    sha256: str | None = None,
) -> UploadOut:
    """Record the upload as failed (its rows were rolled back), in a transaction of its own."""
    async with database.sessionmaker() as session, session.begin():
        stored = await repository.finish_upload(
            session,
            upload_id,
            status="failed",
            failure=failure,
            sha256=sha256,
            bytes=stream.size,
            **(tally.columns(written=False) if tally else {}),
        )
        return UploadOut.model_validate(stored)


async def take_in(
    database: Database,
    settings: IngestionSettings,
    caller: Principal,
    kind_name: str,
    mode: UploadMode,
    incoming: IncomingFile,
) -> UploadOut:
    """Take in one CSV file of a kind; answer the upload's record."""
    _check_media_type(incoming.content_type)
    kind = KINDS[kind_name]
    tenant_id = caller.require_tenant()
    stream = CsvStream(incoming.body, settings.max_upload_bytes)
    batches = stream.batches()
    try:
        positions, width, first = await _header(kind, batches)
    except TooLarge:
        raise _too_large(settings) from None
    except NotText as exc:
        raise Unprocessable(f"{exc}; nothing was taken in.", type_slug="not-utf8") from None
    async with database.sessionmaker() as session, session.begin():
        upload_id = await repository.create_upload(
            session,
            tenant_id=tenant_id,
            kind=kind.name,
            mode=mode,
            filename=file_name(incoming.filename, incoming.content_disposition),
            uploaded_by=f"{caller.kind}:{caller.subject}",
        )
    upload = _Upload(upload_id, tenant_id, kind, mode)
    try:
        async with database.sessionmaker() as session, session.begin():
            tally = await _load(session, upload, stream, (positions, width), first, batches)
            stored = await repository.finish_upload(
                session,
                upload_id,
                status="completed",
                sha256=stream.sha256,
                bytes=stream.size,
                **tally.columns(),
            )
            return UploadOut.model_validate(stored)
    except _Rejected as exc:
        (tally,) = exc.args
        rows = "1 row" if tally.error == 1 else f"{tally.error} rows"
        failure = f"errors in {rows}; all_or_nothing: nothing was taken in"
        failed = await _fail(database, upload_id, failure, stream, tally, sha256=stream.sha256)
        raise Unprocessable(
            f"The file was refused whole: {failure}.",
            type_slug="rows-refused",
            errors=[
                {
                    "loc": ["body", "line", str(e["line"])],
                    "msg": e["reason"],
                    "type": "row_error",
                    **e,
                }
                for e in tally.errors
            ],
            upload=failed.model_dump(mode="json"),
        ) from None
    except TooLarge:
        await _fail(
            database,
            upload_id,
            f"the file is larger than {settings.max_upload_bytes} bytes",
            stream,
            None,
        )
        raise _too_large(settings) from None
    except NotText as exc:
        await _fail(database, upload_id, str(exc), stream, None)
        raise Unprocessable(f"{exc}; nothing was taken in.", type_slug="not-utf8") from None
    except Exception as exc:
        await _fail(database, upload_id, f"the upload stopped: {type(exc).__name__}", stream, None)
        raise


def _too_large(settings: IngestionSettings) -> PayloadTooLarge:
    limit = settings.max_upload_bytes
    return PayloadTooLarge(
        f"A file is at most {limit} bytes; nothing of this one was taken in.", max_bytes=limit
    )


async def get_upload(session: AsyncSession, caller: Principal, upload_id: uuid.UUID) -> UploadOut:
    found = await repository.get_upload(session, caller.require_tenant(), upload_id)
    if found is None:
        raise NotFound("This tenant has no upload with that id.")
    return UploadOut.model_validate(found)


async def list_uploads(session: AsyncSession, caller: Principal, query: UploadQuery) -> UploadPage:
    rows, total = await repository.list_uploads(
        session,
        caller.require_tenant(),
        kind=query.kind,
        status=query.status,
        limit=query.limit,
        offset=query.offset,
    )
    return UploadPage(
        uploads=[UploadSummary.model_validate(row) for row in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
        has_more=query.offset + len(rows) < total,
    )
