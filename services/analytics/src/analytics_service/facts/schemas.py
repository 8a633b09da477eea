"""The facts contract (ARCHITECTURE.md, "How data flows") and the data of each kind."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# One request: at most this many facts, and this many bytes (a GA4 rows fact of 1,000 rows is
# some 300 KB; a producer's larger batch is refused with 413 and it falls back to single facts).
MAX_FACTS = 1000
MAX_BYTES = 8 * 1024 * 1024
LIMITS = {"max_facts": MAX_FACTS, "max_bytes": MAX_BYTES}


class FactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    kind: str = Field(min_length=1, max_length=100, examples=["ingestion.game_event.v1"])
    tenant_id: uuid.UUID
    occurred_at: AwareDatetime
    data: dict[str, Any]


class FactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=64, description="The sending service (its token's subject)."
    )
    facts: list[FactIn] = Field(max_length=MAX_FACTS)


class FactsOut(BaseModel):
    accepted: int = Field(description="Facts stored now.")
    duplicates: int = Field(description="Facts already held (the same source and id).")


# --- data of each kind (what the producer writes; a field too many or missing is refused) ----


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(max_length: int) -> Any:
    return Field(max_length=max_length)


class GameEventV1(Data):
    """ingestion.game_event.v1: an event of a game or game server (occurred_at is its time)."""

    event_type: str = _text(100)
    meta: str | None
    player_id: uuid.UUID | None
    user_id: str | None = _text(128)


class UploadedRow(Data):
    upload_id: uuid.UUID
    line: int = Field(ge=1)


class PurchaseConfirmedV1(UploadedRow):
    """ingestion.purchase_confirmed.v1: a row of confirmed_purchases.csv."""

    appsflyer_id: str = _text(200)
    event_name: str = _text(100)
    event_time_utc: AwareDatetime
    revenue_usd: Decimal | None = Field(max_digits=20, decimal_places=6)
    revenue_raw: str | None = _text(200)
    campaign: str | None = _text(500)
    receipt_id: str | None = _text(200)


class PurchaseRawV1(PurchaseConfirmedV1):
    """ingestion.purchase_raw.v1: a row of purchases_raw.csv."""

    status: str = _text(16)


class CostDailyV1(UploadedRow):
    """ingestion.cost_daily.v1: a row of costs_daily.csv."""

    cost_date: date
    campaign: str = _text(500)
    ad_cost_usd: Decimal = Field(max_digits=20, decimal_places=6)


class SessionEventV1(UploadedRow):
    """ingestion.session_event.v1: a row of sessions.csv."""

    event_timestamp_utc: AwareDatetime
    user_id: str = _text(200)
    event_name: str = _text(100)


class Record(Data):
    created_at: AwareDatetime
    updated_at: AwareDatetime


class UserV1(Record):
    """ingestion.user.v1: a customer record as it now is."""

    user_id: str = Field(min_length=1, max_length=128)
    buying_company_name: str | None = _text(255)
    email: str | None = _text(320)
    cell_phone: str | None = _text(64)
    office_phone: str | None = _text(64)


class BranchV1(Record):
    """ingestion.branch.v1: a branch as it now is."""

    branch_id: str = Field(min_length=1, max_length=128)
    name: str | None = _text(255)
    city: str | None = _text(128)
    state: str | None = _text(128)
    active: bool


class GA4Pull(Data):
    """What every fact of a GA4 pull says of it."""

    connection_id: uuid.UUID
    property_id: str = _text(20)
    data_type: str = _text(64)
    fact_kind: str = _text(64)
    day: date
    time_zone: str = _text(64)
    pull_id: uuid.UUID


class GA4RowsV1(GA4Pull):
    """ingestion.ga4_rows.v1: part ``part`` of ``parts`` of a pull's rows."""

    part: int = Field(ge=1)
    parts: int = Field(ge=1)
    rows: list[dict[str, Any]] = Field(max_length=10_000)

    @model_validator(mode="after")
    def _part_of_parts(self) -> GA4RowsV1:
        if self.part > self.parts:
            raise ValueError(f"part {self.part} of {self.parts} parts")
        return self


class GA4DayV1(GA4Pull):
    """ingestion.ga4_day.v1: the pull is complete (its rows are in ``parts`` facts)."""

    rows: int = Field(ge=0)
    parts: int = Field(ge=0)
    replaces_pull_id: uuid.UUID | None
    thresholded: bool
    other_row: bool
