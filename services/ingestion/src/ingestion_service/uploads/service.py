"""CSV uploads: a file streamed in, its header checked before anything is written, its rows read
one by one (bad ones listed with their line and reason, the good ones stored in chunks with a
fact each), and a record of the upload kept.

Transactions: the upload record is committed first (``processing``, visible at once); the rows,
their facts and the final counts then commit together, so an upload is taken in whole or not at
all; a failure is recorded in a third. One file of a kind is taken in at a time per tenant (two
at once could lock each other's rows in opposite orders).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from email.message import Message

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from common.db import Database
from common.errors import (
    BadRequest,
    Conflict,
    MeridianError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from common.security import Principal
from ingestion_service.config import IngestionSettings
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
from ingestion_service.uploads.writers import RecordWriter, RowWriter, Tally, UploadTarget

MEDIA_TYPES = ("text/csv", "application/csv", "text/plain")


@dataclass(frozen=True)
class IncomingFile:
    body: AsyncIterator[bytes]
    content_type: str | None
    filename: str | None
    content_disposition: str | None = None


class _Busy(Exception):
    """Another file of the same kind is being taken in for the tenant."""


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


def _row(record: Record, upload: UploadTarget, layout: tuple[list[int | None], int]) -> Row:
    """The record read as a row of its kind; RowError says why it cannot be."""
    positions, width = layout
    if record.fields is None:
        raise RowError(record.error or "the record cannot be read")
    if len(record.fields) != width:
        raise RowError(f"expected {width} fields, found {len(record.fields)}")
    fields = record.fields
    return upload.kind.read([fields[i] if i is not None else "" for i in positions])


async def _read_rows(
    records: Sequence[Record],
    upload: UploadTarget,
    layout: tuple[list[int | None], int],
    writer: RowWriter | RecordWriter,
    tally: Tally,
) -> None:
    """Read each record as a row of its kind: a good one goes to the writer, a bad one is
    listed. Once an all_or_nothing upload has an error, rows are only counted (none is kept)."""
    all_or_nothing = upload.mode == "all_or_nothing"
    for record in records:
        tally.total += 1
        try:
            row = _row(record, upload, layout)
        except RowError as exc:
            tally.refuse(record.line, str(exc))
            continue
        if row.warning:
            tally.warn(record.line, row.warning)
        if all_or_nothing and tally.error:
            continue
        if writer.full_before(row):
            await writer.flush()
        writer.add(record.line, row)


async def _load(
    session: AsyncSession,
    upload: UploadTarget,
    layout: tuple[list[int | None], int],
    first: list[Record],
    batches: AsyncIterator[list[Record]],
) -> Tally:
    if not await repository.lock_kind(session, upload.tenant_id, upload.kind.name):
        raise _Busy
    tally = Tally()
    writer = (RecordWriter if upload.kind.records else RowWriter)(
        session, upload.kind, tally, upload
    )
    await writer.open()
    try:
        await _read_rows(first, upload, layout, writer, tally)
        async for batch in batches:
            await _read_rows(batch, upload, layout, writer, tally)
        if upload.mode == "all_or_nothing" and tally.error:
            raise _Rejected(tally)
        await writer.flush()
        await writer.settle()
    finally:
        await writer.abandon()
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
    except (TooLarge, NotText, ClientDisconnect) as exc:
        raise _failure(exc, settings)[1] from None
    async with database.sessionmaker() as session, session.begin():
        upload_id = await repository.create_upload(
            session,
            tenant_id=tenant_id,
            kind=kind.name,
            mode=mode,
            filename=file_name(incoming.filename, incoming.content_disposition),
            uploaded_by=caller.label,
        )
    upload = UploadTarget(upload_id, tenant_id, kind, mode)
    try:
        async with database.sessionmaker() as session, session.begin():
            tally = await _load(session, upload, (positions, width), first, batches)
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
        raise await _refused(database, upload_id, stream, exc.args[0]) from None
    except (TooLarge, NotText, ClientDisconnect, _Busy) as exc:
        failure, problem = _failure(exc, settings)
        await _fail(database, upload_id, failure, stream, None)
        raise problem from None
    except Exception as exc:
        await _fail(database, upload_id, f"the upload stopped: {type(exc).__name__}", stream, None)
        raise


def _failure(exc: Exception, settings: IngestionSettings) -> tuple[str, MeridianError]:
    """Why an upload failed, as its record says it and as the problem answered."""
    if isinstance(exc, TooLarge):
        return f"the file is larger than {settings.max_upload_bytes} bytes", _too_large(settings)
    if isinstance(exc, NotText):
        return str(exc), Unprocessable(f"{exc}; nothing was taken in.", type_slug="not-utf8")
    if isinstance(exc, _Busy):
        failure = "another file of this kind was being taken in for the tenant"
        return failure, Conflict(
            "Another file of this kind is being taken in for this tenant; send this one when it"
            " is done.",
            type_slug="upload-in-progress",
            headers={"Retry-After": "10"},
        )
    # The client went away: nobody reads the answer, the record says what happened.
    return "the connection closed before the end of the file", BadRequest(
        "The connection closed before the end of the file; nothing was taken in."
    )


async def _refused(
    database: Database, upload_id: uuid.UUID, stream: CsvStream, tally: Tally
) -> Unprocessable:
    """An all_or_nothing file with bad rows: recorded failed, answered 422 with its errors."""
    rows = "1 row" if tally.error == 1 else f"{tally.error} rows"
    failure = f"errors in {rows}; all_or_nothing: nothing was taken in"
    failed = await _fail(database, upload_id, failure, stream, tally, sha256=stream.sha256)
    return Unprocessable(
        f"The file was refused whole: {failure}.",
        type_slug="rows-refused",
        errors=[
            {"loc": ["body", "line", str(e["line"])], "msg": e["reason"], "type": "row_error", **e}
            for e in tally.errors
        ],
        upload=failed.model_dump(mode="json"),
    )


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
