"""GA4 connections as the API shows them."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# A custom dimension's API name as GA4 spells it: customEvent:<parameter>, customUser:<property>.
Dimension = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^(customEvent|customUser|customItem):[A-Za-z0-9_]{1,80}$",
        examples=["customEvent:branch_id"],
    ),
]


def _zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    # OSError: a key naming a folder of the zone database (America) is read as a file.
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError("expected an IANA time zone such as Europe/Berlin") from exc
    return value


def _property(value: str) -> str:
    return value.removeprefix("properties/")


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_zone)]
PropertyId = Annotated[
    str,
    Field(
        min_length=1, max_length=31, pattern=r"^(properties/)?[0-9]{1,20}$", examples=["123456789"]
    ),
    AfterValidator(_property),
]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property_id: PropertyId
    display_name: str | None = Field(default=None, max_length=200)
    time_zone: TimeZone = Field(description="The property's reporting time zone (IANA).")
    session_id_dimension: Dimension = "customEvent:ga_session_id"
    web_user_id_dimension: Dimension = "customUser:web_user_id"
    branch_id_dimension: Dimension = "customEvent:branch_id"


class ConnectionPatch(BaseModel):
    """Only the fields sent change; ``display_name: null`` clears the name."""

    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(default=None, max_length=200)
    time_zone: TimeZone = Field(default="UTC")
    session_id_dimension: Dimension = "customEvent:ga_session_id"
    web_user_id_dimension: Dimension = "customUser:web_user_id"
    branch_id_dimension: Dimension = "customEvent:branch_id"
    status: Literal["active", "disabled"] = Field(
        default="active", description="disabled: left out of schedules and new jobs."
    )


class ConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    property_id: str
    display_name: str | None
    time_zone: str
    session_id_dimension: str
    web_user_id_dimension: str
    branch_id_dimension: str
    status: str = Field(description="active, needs_reconsent, failing or disabled")
    last_error: str | None
    last_tested_at: datetime | None
    last_success_at: datetime | None
    quota: dict[str, Any] | None = Field(description="The property quota Google last reported.")
    created_at: datetime
    updated_at: datetime


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ConnectionTestOut(BaseModel):
    ok: bool
    checks: list[CheckOut]
    connection: ConnectionOut
