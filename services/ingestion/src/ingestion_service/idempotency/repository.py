"""SQL of Idempotency-Keys: claim a key in the request's transaction, store the first answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class KeyScope:
    tenant_id: uuid.UUID
    caller: str
    key: str

    def params(self) -> dict[str, object]:
        return {"t": self.tenant_id, "c": self.caller, "k": self.key}


@dataclass(frozen=True)
class StoredKey:
    request_hash: str
    status: str
    response_status: int | None
    response_body: str | None
    expired: bool


class KeyBusy(Exception):
    """A twin request holds the key and did not finish within the wait."""


async def claim(session: AsyncSession, scope: KeyScope, request_hash: str, wait_ms: int) -> bool:
    """Take the key for this request (True), or find it taken (False).

    A twin that holds the key uncommitted makes the INSERT wait on the unique index; the wait is
    bounded by a transaction-local ``lock_timeout`` and ends in :class:`KeyBusy`.
    """
    await session.execute(
        text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{wait_ms}ms"}
    )
    try:
        claimed = await session.execute(
            text(
                "INSERT INTO ingestion.idempotency_key"
                " (tenant_id, caller, key, request_hash, status)"
                " VALUES (:t, :c, :k, :h, 'in_flight') ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {**scope.params(), "h": request_hash},
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise KeyBusy from exc
        raise
    return claimed.scalar() is not None


async def stored(session: AsyncSession, scope: KeyScope, retention_hours: int) -> StoredKey | None:
    row = await session.execute(
        text(
            "SELECT request_hash, status, response_status, response_body,"
            " created_at < now() - make_interval(hours => :r) AS expired"
            " FROM ingestion.idempotency_key WHERE tenant_id = :t AND caller = :c AND key = :k"
        ),
        {**scope.params(), "r": retention_hours},
    )
    found = row.one_or_none()
    return StoredKey(*found) if found is not None else None


async def forget_expired(session: AsyncSession, scope: KeyScope, retention_hours: int) -> None:
    """Drop an expired key; a twin reclaiming it right now makes this wait, within the same
    bounded ``lock_timeout`` as :func:`claim`, and end in :class:`KeyBusy`."""
    try:
        await session.execute(
            text(
                "DELETE FROM ingestion.idempotency_key"
                " WHERE tenant_id = :t AND caller = :c AND key = :k"
                " AND created_at < now() - make_interval(hours => :r)"
            ),
            {**scope.params(), "r": retention_hours},
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise KeyBusy from exc
        raise


async def complete(session: AsyncSession, scope: KeyScope, status: int, body: str) -> None:
    await session.execute(
        text(
            "UPDATE ingestion.idempotency_key"
            " SET status = 'completed', response_status = :s, response_body = :b"
            " WHERE tenant_id = :t AND caller = :c AND key = :k"
        ),
        {**scope.params(), "s": status, "b": body},
    )


async def delete_older_than(session: AsyncSession, retention_hours: int) -> int:
    """The daily clean-up: keys past their retention."""
    result = await session.execute(
        text(
            "DELETE FROM ingestion.idempotency_key"
            " WHERE created_at < now() - make_interval(hours => :r)"
        ),
        {"r": retention_hours},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
