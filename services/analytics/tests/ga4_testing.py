"""GA4 pulls as ingestion's pull runner sends them to the warehouse: a pull of a day of a data
type of a connection is facts of its rows, in parts, and one of the day saying it is whole."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from analytics_testing import Callers, fact

CONNECTION = uuid.UUID("0c0c0c0c-1111-4222-8333-444444444444")


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


class Pull:
    """One pull, as ingestion's runner records it (page views of 2026-11-18 unless told)."""

    def __init__(
        self,
        tenant: uuid.UUID,
        rows: list[dict[str, Any]],
        *,
        per_part: int = 2,
        replaces: Pull | None = None,
        pulled_at: str = "2026-11-19T05:15:00Z",
        data_type: str = "page_views",
        fact_kind: str = "page_view",
        day: str = "2026-11-18",
        connection: uuid.UUID = CONNECTION,
    ) -> None:
        self.tenant = tenant
        self.id = uuid.uuid4()
        self.pulled_at = pulled_at
        rows = [_json(row) for row in rows]
        self.parts = [rows[i : i + per_part] for i in range(0, len(rows), per_part)]
        self.replaces = replaces
        self.common = {
            "connection_id": str(connection),
            "property_id": "1001",
            "data_type": data_type,
            "fact_kind": fact_kind,
            "day": day,
            "time_zone": "Europe/Paris",
            "pull_id": str(self.id),
        }
        self.part_facts = [
            fact(
                "ingestion.ga4_rows.v1",
                tenant,
                {**self.common, "part": n + 1, "parts": len(self.parts), "rows": part},
                occurred_at=pulled_at,
            )
            for n, part in enumerate(self.parts)
        ]
        self.day_fact = fact(
            "ingestion.ga4_day.v1",
            tenant,
            {
                **self.common,
                "rows": len(rows),
                "parts": len(self.parts),
                "replaces_pull_id": str(replaces.id) if replaces else None,
                "thresholded": False,
                "other_row": False,
            },
            occurred_at=pulled_at,
            fact_id=self.id,
        )

    @property
    def facts(self) -> list[dict[str, Any]]:
        return [*self.part_facts, self.day_fact]


async def send(
    client: httpx.AsyncClient, callers: Callers, facts: list[dict[str, Any]]
) -> httpx.Response:
    """POST the facts to /internal/facts as ingestion does."""
    body = {"source": "ingestion", "facts": facts}
    return await client.post(
        "/internal/facts", json=body, headers=callers.service("ingestion").headers
    )
