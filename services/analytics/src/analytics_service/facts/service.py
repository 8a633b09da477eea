"""Taking in a batch of facts: all of it or none, each (source, id) once."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.facts import repository
from analytics_service.facts.ga4 import GA4_KINDS
from analytics_service.facts.kinds import INGESTION_KINDS, FactKind, Received, registry
from analytics_service.facts.schemas import FactIn, FactsIn, FactsOut
from common.errors import Forbidden, Unprocessable
from common.security import Principal

KINDS = registry(*INGESTION_KINDS, *GA4_KINDS)
# A refused batch names at most this many of its errors.
MAX_ERRORS = 50


def _errors_of(index: int, fact: FactIn) -> tuple[Received | None, list[dict[str, Any]]]:
    at = ["body", "facts", str(index)]
    kind: FactKind | None = KINDS.get(fact.kind)
    if kind is None:
        return None, [
            {
                "loc": [*at, "kind"],
                "msg": f"Unknown fact kind {fact.kind!r}.",
                "type": "unknown_kind",
            }
        ]
    try:
        data = kind.parse(fact.data)
    except ValidationError as exc:
        return None, [
            {
                "loc": [*at, "data", *(str(part) for part in error["loc"])],
                "msg": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors()
        ]
    return Received(fact.id, fact.kind, fact.tenant_id, fact.occurred_at, data), []


def check(caller: Principal, body: FactsIn) -> list[Received]:
    """Each fact's kind known and its data matching it, or a 422 naming every one that does
    not (their index and why)."""
    if body.source != caller.service_name:
        raise Forbidden(
            f"A service sends its own facts: source must be {caller.service_name!r}.",
            type_slug="wrong-source",
        )
    received: list[Received] = []
    errors: list[dict[str, Any]] = []
    for index, fact in enumerate(body.facts):
        ok, problems = _errors_of(index, fact)
        errors += problems
        if ok is not None:
            received.append(ok)
    if errors:
        first = errors[0]
        raise Unprocessable(
            f"{len(errors)} problem(s) in the facts, nothing was stored; the first: fact"
            f" {first['loc'][2]}: {first['msg']}",
            type_slug="invalid-facts",
            errors=errors[:MAX_ERRORS],
        )
    return received


async def take_in(session: AsyncSession, caller: Principal, body: FactsIn) -> FactsOut:
    """Store the facts not held yet, each in its kind's table; the others are duplicates."""
    received = check(caller, body)
    new = await repository.add_receipts(
        session, body.source, [(fact.id, fact.kind, fact.tenant_id) for fact in received]
    )
    by_kind: dict[str, list[Received]] = {}
    for fact in received:
        if fact.id in new:
            new.discard(fact.id)  # a fact sent twice in one batch is stored once
            by_kind.setdefault(fact.kind, []).append(fact)
    for kind, facts in by_kind.items():
        await KINDS[kind].store(session, facts)
    accepted = sum(len(facts) for facts in by_kind.values())
    return FactsOut(accepted=accepted, duplicates=len(received) - accepted)
