"""Idempotency-Key: the first answer to a key is the only one (per tenant and caller, 24 h).

The key is claimed in the request's own transaction, beside the work and the stored answer, so
either all three commit or none does: a failed request leaves the key free to retry. A twin
arriving while the first still runs waits for it (``idempotency_wait_ms``) and is replayed, or,
if it is still running then, answered 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from common.errors import Conflict, Unprocessable
from common.security import Principal
from ingestion_service.config import IngestionSettings
from ingestion_service.idempotency import repository
from ingestion_service.idempotency.repository import KeyBusy, KeyScope, StoredKey
from ingestion_service.idempotency.schemas import Replayable


def request_hash(operation: str, body: BaseModel) -> str:
    """The fingerprint of a request: its operation and its body as validated (so the order of
    the JSON members or an equivalent timestamp spelling make no difference)."""
    return hashlib.sha256(f"{operation}\n{body.model_dump_json()}".encode()).hexdigest()


def _busy() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        type_slug="idempotency-key-in-flight",
        headers={"Retry-After": "1"},
    )


async def once(
    session: AsyncSession,
    settings: IngestionSettings,
    caller: Principal,
    key: str,
    fingerprint: str,
    work: Callable[[], Awaitable[Replayable]],
) -> Replayable:
    """Run ``work`` the first time this caller sends ``key``; replay its answer afterwards."""
    scope = KeyScope(caller.require_tenant(), caller.label, key)
    # Two rounds at most: an expired key is forgotten once and claimed afresh.
    for _ in range(2):
        try:
            claimed = await repository.claim(
                session, scope, fingerprint, settings.idempotency_wait_ms
            )
        except KeyBusy:
            raise _busy() from None
        if claimed:
            answer = await work()
            await repository.complete(session, scope, answer.status, answer.body)
            return answer
        found = await repository.stored(session, scope, settings.idempotency_hours)
        if found is not None and not found.expired:
            return _replay(found, fingerprint)
        await repository.forget_expired(session, scope, settings.idempotency_hours)
    raise _busy()


_REUSED = "This Idempotency-Key was already used with a different request."


def _replay(found: StoredKey, fingerprint: str) -> Replayable:
    if found.request_hash != fingerprint:
        # A 422 is documented as a ValidationProblem: its errors name the header at fault.
        raise Unprocessable(
            _REUSED,
            type_slug="idempotency-key-reused",
            errors=[
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": _REUSED,
                    "type": "idempotency_key_reused",
                }
            ],
        )
    if found.status != "completed" or found.response_status is None:
        raise _busy()
    return Replayable(found.response_status, found.response_body or "", replayed=True)
