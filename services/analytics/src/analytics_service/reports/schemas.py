"""Mappings, SMTP settings, send jobs, their history and schedules as the API takes and shows
them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from analytics_service.reports.cron import check_cron, check_time_zone
from common.fields import IsoDate
from common.paging import OffsetPage

BranchCode = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
TlsMode = Literal["none", "starttls", "tls"]
JobStatus = Literal["queued", "processing", "completed", "failed"]
DeliveryStatus = Literal["pending", "sent", "failed", "unsubscribed", "skipped"]
ReportKind = Literal["daily_branch_report", "weekly_summary"]
# GA4 began in 2020: a report date outside this century is a mistake, not a question.
ReportDate = Annotated[IsoDate, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]
MAX_RECIPIENTS = 50


def _distinct(value: list[str]) -> list[str]:
    """Addresses lower-cased (unsubscribes match them so), each once."""
    lowered = [address.lower() for address in value]
    if len(set(lowered)) != len(lowered):
        raise ValueError("a recipient is listed twice")
    return lowered


Recipients = Annotated[
    list[EmailStr], Field(min_length=1, max_length=MAX_RECIPIENTS), AfterValidator(_distinct)
]


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch_code: BranchCode = Field(description="The branch id GA4 events carry.")
    recipients: Recipients
    enabled: StrictBool = True


class MappingPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipients: Recipients | None = None
    enabled: StrictBool | None = None


class MappingOut(BaseModel):
    id: uuid.UUID
    branch_code: str
    recipients: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class MappingList(BaseModel):
    data: list[MappingOut]


class SmtpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
        description="A host name or IPv4 address: dot-separated labels of 1 to 63 letters, digits "
        "and inner hyphens.",
    )
    port: StrictInt = Field(ge=1, le=65535)
    username: str | None = Field(None, min_length=1, max_length=320)
    password: str | None = Field(
        None, min_length=1, max_length=1000, description="Stored encrypted; never returned."
    )
    from_address: EmailStr
    tls_mode: TlsMode = Field(description="none, starttls (upgrade) or tls (implicit, 465).")


class SmtpOut(BaseModel):
    host: str
    port: int
    username: str | None
    has_password: bool
    from_address: str
    tls_mode: TlsMode
    updated_at: datetime


class SmtpTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: EmailStr


class SmtpTestOut(BaseModel):
    sent_to: str


class ReportOf(BaseModel):
    """A kind of report and its day: a weekly summary's is the Monday its week begins."""

    model_config = ConfigDict(extra="forbid")
    kind: ReportKind = Field(
        "daily_branch_report", description="daily_branch_report or weekly_summary."
    )
    report_date: ReportDate = Field(description="The day; a weekly summary's Monday.")

    @model_validator(mode="after")
    def _weeks_begin_on_monday(self) -> ReportOf:
        if self.kind == "weekly_summary" and self.report_date.weekday() != 0:
            raise ValueError("a weekly summary's report_date is the Monday its week begins")
        return self


class SendIn(ReportOf):
    branch_codes: list[BranchCode] | None = Field(
        None, min_length=1, max_length=500, description="Default: every enabled mapping's."
    )
    skip_when_empty: StrictBool = Field(
        True, description="A branch without activity gets no email (its deliveries: skipped)."
    )


class JobOut(BaseModel):
    id: uuid.UUID
    status: JobStatus
    kind: ReportKind
    report_date: date
    branch_codes: list[str] | None
    skip_when_empty: bool
    requested_by: str
    schedule_id: uuid.UUID | None
    scheduled_for: datetime | None
    attempts: int
    sent: int
    failed: int
    skipped: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(OffsetPage[JobOut]):
    pass


class DeliveryOut(BaseModel):
    job_id: uuid.UUID
    branch_code: str
    recipient: str
    status: DeliveryStatus
    subject: str
    attempts: int
    error: str | None
    sent_at: datetime | None
    updated_at: datetime


class DeliveryPage(OffsetPage[DeliveryOut]):
    pass


class PreviewQuery(ReportOf):
    branch_code: BranchCode


class UnsubscribeQuery(BaseModel):
    tenant_id: uuid.UUID
    email: str = Field(
        min_length=3, max_length=320, pattern=r"^[^\x00-\x1f\x7f\s]+@[^\x00-\x1f\x7f\s]+$"
    )
    signature: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


# --- schedules ---------------------------------------------------------------------------------

Cron = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
    AfterValidator(check_cron),
    Field(description="Five fields, read in time_zone: minute (one number), hour, day of the "
                      "month, month, day of the week. Monday 08:00: '0 8 * * 1'."),
]  # fmt: skip
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(check_time_zone),
    Field(description="IANA time zone the cron expression is read in (Europe/Paris, UTC)."),
]
ScheduleBranches = Annotated[
    list[BranchCode] | None,
    Field(min_length=1, max_length=500, description="Default: every enabled mapping's."),
]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ReportKind
    cron: Cron
    time_zone: TimeZone
    enabled: StrictBool = True
    branch_codes: ScheduleBranches = None
    skip_when_empty: StrictBool = Field(
        True, description="A branch without activity gets no email (its deliveries: skipped)."
    )


class SchedulePatch(BaseModel):
    """Only what is given changes; ``branch_codes: null`` means every enabled mapping."""

    model_config = ConfigDict(extra="forbid")
    kind: ReportKind | None = None
    cron: Cron | None = None
    time_zone: TimeZone | None = None
    enabled: StrictBool | None = None
    branch_codes: ScheduleBranches = None
    skip_when_empty: StrictBool | None = None

    @model_validator(mode="after")
    def _no_null_but_branches(self) -> SchedulePatch:
        nulls = sorted(
            k for k in self.model_fields_set - {"branch_codes"} if getattr(self, k) is None
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} may not be null")
        return self


class ScheduleOut(BaseModel):
    id: uuid.UUID
    kind: ReportKind
    cron: str
    time_zone: str
    enabled: bool
    branch_codes: list[str] | None
    skip_when_empty: bool
    next_run_at: datetime | None = Field(description="The next due time (none while disabled).")
    last_run_at: datetime | None = Field(description="The due time of the last job queued.")
    last_job_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ScheduleList(BaseModel):
    data: list[ScheduleOut]
