"""POST /internal/facts: the producers' facts (their outbox relays deliver them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from analytics_service.facts import service
from analytics_service.facts.schemas import MAX_BYTES, MAX_FACTS, FactsIn, FactsOut
from common.db import DbSession
from common.errors import PROBLEM_JSON
from common.security import Principal, ServiceScope

router = APIRouter(tags=["facts"])

FACTS_WRITE = "facts:write"
FactWriter = Annotated[Principal, ServiceScope(FACTS_WRITE)]
_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.post(
    "/internal/facts",
    response_model=FactsOut,
    responses={
        403: {"description": "Not a service holding facts:write, or not its own source."},
        413: {"description": f"Over {MAX_BYTES} bytes.", **_PROBLEM},
        422: {"description": f"A fact refused (all are), or over {MAX_FACTS} facts."},
    },
)
async def receive_facts(body: FactsIn, session: DbSession, caller: FactWriter) -> FactsOut:
    """Store a batch of facts, all or none; a fact already held (same source and id) counts
    as a duplicate."""
    return await service.take_in(session, caller, body)
