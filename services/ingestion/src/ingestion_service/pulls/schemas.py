"""Ingest jobs, report definitions and availability as the API shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from common.fields import IsoDate
from ingestion_service.ga4.client import filter_expression

DataTypeName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
GAName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^(\{(session_id|web_user_id|branch_id)\}|[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_]+)?)$",
    ),
]


def _filter(value: dict[str, Any]) -> dict[str, Any]:
    """Checked here: the worker could not send a filter Google's client cannot read."""
    filter_expression(value)
    return value


FilterIn = Annotated[dict[str, Any], AfterValidator(_filter)]


class IngestStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start_date: IsoDate
    end_date: IsoDate
    data_types: list[DataTypeName] = Field(
        default_factory=lambda: ["events"],
        min_length=1,
        max_length=50,
        description="Report definitions by name; `events` stands for every event type.",
    )
    connection_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=100, description="Default: every connection not disabled."
    )


class DayErrorOut(BaseModel):
    connection_id: uuid.UUID
    data_type: str
    day: date
    error: str


class JobOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="queued, running, completed, failed or cancelled")
    trigger: str = Field(description="api or schedule")
    requested_by: str
    start_date: IsoDate
    end_date: IsoDate
    data_types: list[str]
    connection_ids: list[uuid.UUID]
    days_total: int = Field(description="Days of each data type of each connection.")
    days_done: int
    days_failed: int
    rows_done: int
    rows_total: int = Field(description="Rows Google reported for the days begun so far.")
    quota_tokens: int = Field(description="GA4 property quota tokens the job spent.")
    thresholded_days: int
    waiting_until: datetime | None = Field(
        description="Set while the job waits for Google's hourly or daily quota."
    )
    detail: str | None
    needs_reconsent: bool = Field(
        description="The tenant's Google grant needs consent again: nothing can be pulled."
    )
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors: list[DayErrorOut] = Field(description="Per failed day, Google's reason.")


class JobPage(BaseModel):
    jobs: list[JobOut]
    total: int
    limit: int
    offset: int
    has_more: bool


class DefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DataTypeName
    description: str | None = Field(default=None, max_length=500)
    fact_kind: DataTypeName = Field(description="What the analytics warehouse calls the rows.")
    dimensions: list[GAName] = Field(
        min_length=1,
        max_length=9,
        description=(
            "GA4 dimension API names; {session_id}, {web_user_id} and {branch_id} stand for the"
            " connection's key dimensions. Rows are per day, so dateHourMinute is usual."
        ),
    )
    metrics: list[GAName] = Field(min_length=1, max_length=10)
    dimension_filter: FilterIn | None = Field(
        default=None, description="A GA4 FilterExpression, e.g. on eventName."
    )


class DefinitionOut(BaseModel):
    name: str
    description: str | None
    fact_kind: str
    dimensions: list[str]
    metrics: list[str]
    dimension_filter: dict[str, Any] | None
    builtin: bool


class DayOut(BaseModel):
    day: date
    rows: int
    pulled_at: datetime
    thresholded: bool
    other_row: bool
    in_processing_window: bool


class DataTypeAvailability(BaseModel):
    data_type: str
    first_day: date | None
    last_day: date | None
    days_pulled: int
    rows: int
    missing_days: list[date] = Field(description="Days between first and last never pulled.")
    last_successful_pull: datetime | None
    processing_days: list[date] = Field(
        description="Pulled days Google may still correct (re-pulled by the daily schedule)."
    )
    days: list[DayOut]


class ConnectionAvailability(BaseModel):
    connection_id: uuid.UUID
    property_id: str
    display_name: str | None
    status: str
    time_zone: str
    data_types: list[DataTypeAvailability]


class AvailabilityOut(BaseModel):
    connections: list[ConnectionAvailability]
