"""Momentum, value scores and alerts of a tenant's daily series, as the API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from common.fields import IsoDate
from common.paging import OffsetPage

SeriesKind = Literal["campaign_revenue", "campaign_installs", "branch_revenue", "item_views"]
Status = Literal["insufficient_data", "declining", "stable", "growing", "rapid_growth", "viral"]
AlertKind = Literal["spike", "status_change"]
Task = Literal["momentum", "spikes", "scores"]
Sort = Literal["momentum", "value_score", "series"]
# Daily series start with GA4 (2020) and the marketing files: other days are a mistake.
Day = Annotated[IsoDate, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]
SeriesKey = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _utc(value: datetime) -> datetime:
    """A time without an offset is UTC (as the event endpoints take it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in_century(value: datetime) -> datetime:
    if not datetime(2000, 1, 1, tzinfo=UTC) <= value < datetime(2100, 1, 1, tzinfo=UTC):
        raise ValueError("the time must lie between 2000 and 2099")
    return value


Since = Annotated[datetime, AfterValidator(_utc), AfterValidator(_in_century)]


class Paging(BaseModel):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class SignalQuery(Paging):
    series_kind: SeriesKind | None = None
    status: Status | None = Field(None, description="Only series of this momentum status.")
    as_of: Day | None = Field(None, description="That day's rows; default each series' latest.")
    sort: Sort = Field(
        "momentum", description="momentum or value_score (highest first), or series (by name)."
    )


class HistoryQuery(Paging):
    series_kind: SeriesKind
    series_key: SeriesKey
    start_date: Day | None = Field(None, description="Inclusive.")
    end_date: Day | None = Field(None, description="Inclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> HistoryQuery:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date is after end_date")
        return self


class AlertQuery(Paging):
    unacknowledged: bool | None = Field(
        None, description="true: only those not acknowledged; false: only acknowledged ones."
    )
    series_kind: SeriesKind | None = None
    kind: AlertKind | None = None
    since: Since | None = Field(None, description="Detected at or after (RFC 3339; UTC if bare).")


class Momentum(BaseModel):
    index: float | None = Field(description="0-10; null with insufficient_data.")
    status: Status
    velocity: float | None
    acceleration: float | None
    consistency: float | None
    viral: float | None
    week_0: float = Field(description="Sum of the last 7 days of the window.")
    week_1: float = Field(description="Sum of the 7 days before.")
    week_2: float = Field(description="Sum of the 7 days before those.")
    computed_at: datetime


class ValueScore(BaseModel):
    score: float = Field(description="0-100.")
    engagement: float
    growth: float
    reach: float
    conversion: float
    window_total: float = Field(description="Sum of the 28 days.")
    active_days: int = Field(description="Days of the 28 not 0.")
    computed_at: datetime


class SignalOut(BaseModel):
    series_kind: SeriesKind
    series_key: str
    as_of: date = Field(description="The last day of the 28-day window.")
    momentum: Momentum | None
    value_score: ValueScore | None


class SignalPage(OffsetPage[SignalOut]):
    pass


class AlertOut(BaseModel):
    id: uuid.UUID
    series_kind: SeriesKind
    series_key: str
    kind: AlertKind
    series_day: date = Field(description="The spiking point's day, or the momentum's as_of.")
    value: float
    threshold: float
    detail: dict[str, Any]
    detected_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class AlertPage(OffsetPage[AlertOut]):
    pass


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: list[Task] = Field(
        default_factory=lambda: list(get_args(Task)),
        min_length=1,
        max_length=3,
        description="Each once.",
    )
    as_of: Day | None = Field(
        None,
        description="The last day the work includes. Default: yesterday (UTC) for momentum and "
        "scores, today for spikes (which also look at the day before).",
    )

    @model_validator(mode="after")
    def _once(self) -> RunIn:
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError("a task is listed twice")
        return self


class RunOut(BaseModel):
    tenant_id: uuid.UUID
    tasks: list[Task]
    as_of: date | None
    queued_at: datetime
