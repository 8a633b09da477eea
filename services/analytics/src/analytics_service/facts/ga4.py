"""GA4 pulls in the warehouse: rows staged by pull, swapped in when the pull is whole.

A pull (``pull_id``) of a day of a data type of a connection comes as ``ingestion.ga4_rows.v1``
facts (``part`` of ``parts``) and one ``ingestion.ga4_day.v1`` saying it is complete. Rows land
at once in the table of their ``fact_kind`` (a typed one for the built-in data types, the jsonb
``ga4_row`` for the tenants' own), tagged with their pull. When the day fact and every part are
in, in whichever order they come, ``analytics.ga4_complete_pull`` makes the pull the day's
current one and deletes the rows of the pull it replaces, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, create_model
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service import models
from analytics_service.facts import repository
from analytics_service.facts.kinds import Received
from analytics_service.facts.schemas import GA4DayV1, GA4Pull, GA4RowsV1

ROWS_KIND = "ingestion.ga4_rows.v1"
DAY_KIND = "ingestion.ga4_day.v1"


def _moment(value: Any) -> Any:
    """GA4's minute as the producer wrote it (RFC 3339); any other text, such as the
    ``(other)`` row's, is no moment: None."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


_FIELD_TYPES: dict[str, Any] = {
    models.GA4_TEXT: str | None,
    models.GA4_NUMBER: Decimal,
    models.GA4_TIME: Annotated[AwareDatetime | None, BeforeValidator(_moment)],
}
_STRICT = ConfigDict(extra="forbid")


def _typed_rows(kind: str, fields: tuple[tuple[str, str], ...]) -> type[GA4RowsV1]:
    """The rows fact of a built-in fact kind: its rows' fields exactly."""
    definitions: dict[str, Any] = {n: (_FIELD_TYPES[t], ...) for n, t in fields}
    row: Any = create_model(f"GA4Row_{kind}", __config__=_STRICT, **definitions)
    rows: Any = list[row]
    return create_model(f"GA4Rows_{kind}", __base__=GA4RowsV1, rows=(rows, ...))


_TYPED_ROWS = {kind: _typed_rows(kind, fields) for kind, (_, fields) in models.GA4_KINDS.items()}


def row_table(pull: GA4Pull) -> Table:
    """The typed table of a built-in data type's rows; the generic one for any other."""
    builtin = models.GA4_KINDS.get(pull.fact_kind)
    if builtin is not None and builtin[0] == pull.data_type:
        return models.GA4_ROW_TABLES[pull.fact_kind]
    return models.ga4_row


def _pull_row(fact: Received, pull: GA4Pull) -> dict[str, Any]:
    fields = ("connection_id", "property_id", "data_type", "fact_kind", "day", "time_zone")
    return {
        "tenant_id": fact.tenant_id,
        "pull_id": pull.pull_id,
        **{name: getattr(pull, name) for name in fields},
        "row_table": row_table(pull).name,
    }


async def _complete(session: AsyncSession, facts: Sequence[Received]) -> None:
    """Complete the facts' pulls by tenant and data type, in each oldest first (the time a fact
    of a pull occurred is when it was pulled), so pulls of one day in one batch replace each
    other in their order. A swap holds its (tenant, data type) rollup lock until commit: taking
    them in one order in every batch keeps two batches from deadlocking."""
    pulls = {(f.tenant_id, f.data.data_type, f.occurred_at, f.data.pull_id) for f in facts}
    for tenant_id, _, _, pull_id in sorted(pulls):
        await repository.complete_pull(session, tenant_id, pull_id)


@dataclass(frozen=True)
class GA4Rows:
    name: str = ROWS_KIND

    def parse(self, data: dict[str, Any]) -> BaseModel:
        rows = GA4RowsV1.model_validate(data)
        typed = _TYPED_ROWS.get(rows.fact_kind)
        if typed is None or row_table(rows) is models.ga4_row:
            return rows
        return typed.model_validate(data)

    async def store(self, session: AsyncSession, facts: Sequence[Received]) -> None:
        pulls: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
        parts: list[dict[str, Any]] = []
        rows: dict[Table, list[dict[str, Any]]] = {}
        for fact in facts:
            data: GA4RowsV1 = fact.data
            key = (fact.tenant_id, data.pull_id)
            pulls.setdefault(key, {**_pull_row(fact, data), "parts": data.parts})
            parts.append({"tenant_id": key[0], "pull_id": key[1], "part": data.part,
                          "rows": len(data.rows)})  # fmt: skip
            table = row_table(data)
            at = {"tenant_id": key[0], "day": data.day, "pull_id": key[1], "part": data.part}
            for n, row in enumerate(data.rows, start=1):
                if isinstance(row, BaseModel):
                    values = row.model_dump()
                else:
                    values = {"fact_kind": data.fact_kind, "data": row}
                rows.setdefault(table, []).append({**at, "row_number": n, **values})
        await repository.insert_rows(session, models.ga4_pull, list(pulls.values()))
        await repository.insert_rows(session, models.ga4_pull_part, parts)
        for table, table_rows in rows.items():
            await repository.insert_rows(session, table, table_rows)
        await _complete(session, facts)


_DAY_FIELDS = ("parts", "rows", "replaces_pull_id", "thresholded", "other_row", "pulled_at")


@dataclass(frozen=True)
class GA4Day:
    name: str = DAY_KIND

    def parse(self, data: dict[str, Any]) -> BaseModel:
        return GA4DayV1.model_validate(data)

    async def store(self, session: AsyncSession, facts: Sequence[Received]) -> None:
        pulls: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
        for fact in facts:
            data: GA4DayV1 = fact.data
            pulls[(fact.tenant_id, data.pull_id)] = {
                **_pull_row(fact, data),
                **{name: getattr(data, name) for name in _DAY_FIELDS if name != "pulled_at"},
                # when it was pulled: which of two pulls of a day is the newer
                "pulled_at": fact.occurred_at,
            }
        updates = ", ".join(f"{name} = excluded.{name}" for name in _DAY_FIELDS)
        await repository.insert_rows(
            session,
            models.ga4_pull,
            list(pulls.values()),
            on_conflict=f"(tenant_id, pull_id) DO UPDATE SET {updates}",
        )
        await _complete(session, facts)


GA4_KINDS = (GA4Rows(), GA4Day())
