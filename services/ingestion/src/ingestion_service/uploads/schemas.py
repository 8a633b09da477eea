"""The upload contract: POST /data/uploads/{kind} (a CSV body), GET /data/uploads[/{id}]."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestion_service.events.schemas import PageQuery

UploadKind = Literal[
    "purchases_raw", "confirmed_purchases", "costs_daily", "sessions", "users", "locations"
]
UploadMode = Literal["accept_valid", "all_or_nothing"]
UploadStatus = Literal["processing", "completed", "failed"]


class RowIssue(BaseModel):
    """A row refused (an error) or kept with a remark (a warning); the header is line 1."""

    line: int
    reason: str


class UploadSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: UploadKind
    mode: UploadMode
    filename: str | None
    sha256: str | None = Field(description="Of the bytes received, once the whole file is in.")
    bytes: int
    status: UploadStatus
    rows_total: int = Field(description="Data rows (blank lines are not rows).")
    rows_inserted: int = Field(description="Rows new to the tenant (users, locations: created).")
    rows_updated: int = Field(description="Users and locations changed by the file.")
    rows_duplicate: int = Field(
        description="Rows that added nothing: already taken in (a re-upload, an overlapping"
        " export), or users and locations already as the file has them."
    )
    rows_error: int = Field(description="Rows refused, each listed in errors (the first 1000).")
    rows_warning: int = Field(description="Rows kept with a remark, listed in warnings.")
    failure: str | None = Field(description="Why the upload failed, when it did.")
    uploaded_by: str
    created_at: datetime
    finished_at: datetime | None


class UploadOut(UploadSummary):
    errors: list[RowIssue]
    warnings: list[RowIssue]


class UploadQuery(PageQuery):
    kind: UploadKind | None = None
    status: UploadStatus | None = None


class UploadPage(BaseModel):
    uploads: list[UploadSummary]
    total: int
    limit: int
    offset: int
    has_more: bool
