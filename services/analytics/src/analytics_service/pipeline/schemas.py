"""Pipeline runs and reports as the API shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from common.fields import IsoDate

ReportName = Literal["purchases_curated", "reconciliation", "roas_d1", "roas_anomaly", "arpdau_d1"]
# Report -> the seed's file name.
REPORT_FILES: dict[str, str] = {
    "purchases_curated": "purchases_curated.csv",
    "reconciliation": "reconciliation.json",
    "roas_d1": "roas_d1.json",
    "roas_anomaly": "roas_anomaly.json",
    "arpdau_d1": "arpdau_d1.json",
}
FileName = Literal[
    "purchases_curated.csv", "reconciliation.json", "roas_d1.json", "roas_anomaly.json",
    "arpdau_d1.json",
]  # fmt: skip
RunStatus = Literal["queued", "running", "completed", "failed"]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: IsoDate | None = Field(
        default=None,
        ge=date(2000, 1, 2),
        le=date(2199, 12, 31),
        description="The reports' D-1 is the day before (UTC). Default: today UTC.",
    )
    match_minutes: StrictInt = Field(
        default=10, ge=0, le=1440, description="Reconciliation: greatest time apart of a pair."
    )
    amount_tolerance: Decimal = Field(
        default=Decimal("0.01"),
        ge=0,
        le=1_000_000,
        max_digits=20,
        decimal_places=6,
        description="Reconciliation: a pair's amounts differing by more are flagged.",
    )


class ReportOut(BaseModel):
    name: str
    file: str
    rows: int = Field(description="Rows of the report (reconciliation: its details).")


class RunOut(BaseModel):
    id: uuid.UUID
    status: RunStatus
    trigger: str = Field(description="api or schedule")
    requested_by: str
    as_of: date
    report_date: date = Field(description="D-1: the day before as_of.")
    match_minutes: int
    amount_tolerance: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = Field(description="From start to finish.")
    timings: dict[str, int] | None = Field(description="Milliseconds each report took.")
    error: str | None
    reports: list[ReportOut]


class RunPage(BaseModel):
    runs: list[RunOut]
    total: int
    limit: int
    offset: int
    has_more: bool
