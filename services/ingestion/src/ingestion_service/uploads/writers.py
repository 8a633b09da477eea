"""Where the rows of an upload go, and the count of what became of them: rows of purchases,
costs and sessions a chunk at a time; users and locations upserted as the API does."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.customers import repository as customers
from ingestion_service.customers.schemas import MAX_RECORDS
from ingestion_service.uploads import repository
from ingestion_service.uploads.kinds import Kind, Row
from ingestion_service.uploads.schemas import UploadMode

# Row errors and warnings kept per upload (all are counted).
MAX_ROW_ISSUES = 1000
# Rows per COPY and INSERT: a few MB in memory at most.
CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class UploadTarget:
    """The upload its rows are written for."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: Kind
    mode: UploadMode


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


class RowWriter:
    """Rows of purchases, costs and sessions, inserted a chunk at a time (re-sent rows skipped).
    A chunk is written while the next one is read: PostgreSQL and Python work side by side."""

    def __init__(
        self, session: AsyncSession, kind: Kind, tally: Tally, upload: UploadTarget
    ) -> None:
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


class RecordWriter:
    """Users and locations, upserted as PUT /data/users and /data/branches do; a record the file
    repeats is applied in file order (its later line wins)."""

    def __init__(
        self, session: AsyncSession, kind: Kind, tally: Tally, upload: UploadTarget
    ) -> None:
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
