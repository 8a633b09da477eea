"""The kinds of fact the warehouse takes, each mapped to where it is stored.

Adding a kind is a table in models.py and an entry here: its data model, its table, and how a
fact becomes a row (the envelope's tenant, id and time, then the data's fields by name).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service import models
from analytics_service.facts import repository
from analytics_service.facts.schemas import (
    BranchV1,
    CostDailyV1,
    GameEventV1,
    PurchaseConfirmedV1,
    PurchaseRawV1,
    SessionEventV1,
    UserV1,
)


@dataclass(frozen=True)
class Received:
    """A fact taken in for the first time, its data validated."""

    id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID
    occurred_at: datetime
    data: Any  # the kind's data model

    def row(self) -> dict[str, Any]:
        """The envelope's fields and the data's, as a table row (columns by name)."""
        return {
            "tenant_id": self.tenant_id,
            "fact_id": self.id,
            "occurred_at": self.occurred_at,
            **self.data.model_dump(),
        }


class FactKind(Protocol):
    @property
    def name(self) -> str:
        """The kind's versioned name (``<source>.<what>.v<n>``)."""

    def parse(self, data: dict[str, Any]) -> BaseModel:
        """The data validated (pydantic's ValidationError when it does not match the kind)."""

    async def store(self, session: AsyncSession, facts: Sequence[Received]) -> None:
        """Store facts of this kind, each new to the warehouse."""


@dataclass(frozen=True)
class FactTable:
    """A kind whose facts are rows of one table (the row keeps the table's columns only)."""

    name: str
    model: type[BaseModel]
    table: Table

    def parse(self, data: dict[str, Any]) -> BaseModel:
        return self.model.model_validate(data)

    async def store(self, session: AsyncSession, facts: Sequence[Received]) -> None:
        columns = set(self.table.c.keys())
        rows = [{k: v for k, v in fact.row().items() if k in columns} for fact in facts]
        await repository.insert_rows(session, self.table, rows)


@dataclass(frozen=True)
class Dimension:
    """A kind whose facts are the latest state of a record: upserted by key, a fact that
    occurred later wins (an older one arriving late changes nothing)."""

    name: str
    model: type[BaseModel]
    table: Table
    key: str

    def parse(self, data: dict[str, Any]) -> BaseModel:
        return self.model.model_validate(data)

    async def store(self, session: AsyncSession, facts: Sequence[Received]) -> None:
        newest: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
        for fact in facts:
            row = fact.row()
            slot = (fact.tenant_id, row[self.key])
            if slot not in newest or row["occurred_at"] >= newest[slot]["occurred_at"]:
                newest[slot] = row
        await repository.upsert_newer(
            session, self.table, ("tenant_id", self.key), list(newest.values())
        )


def registry(*kinds: FactKind) -> dict[str, FactKind]:
    return {kind.name: kind for kind in kinds}


INGESTION_KINDS: tuple[FactKind, ...] = (
    FactTable("ingestion.game_event.v1", GameEventV1, models.game_event),
    FactTable("ingestion.purchase_raw.v1", PurchaseRawV1, models.purchase_raw),
    FactTable("ingestion.purchase_confirmed.v1", PurchaseConfirmedV1, models.purchase_confirmed),
    FactTable("ingestion.cost_daily.v1", CostDailyV1, models.cost_daily),
    FactTable("ingestion.session_event.v1", SessionEventV1, models.session_event),
    Dimension("ingestion.user.v1", UserV1, models.customer_user, "user_id"),
    Dimension("ingestion.branch.v1", BranchV1, models.branch, "branch_id"),
)
