"""A tenant's customer records: the GA seed's users (company, email, phones) and locations
(branches: id, name, city, state, active)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ingestion_service.batches.schemas import Text
from ingestion_service.events.schemas import PageQuery

MAX_RECORDS = 1000


class UserIn(BaseModel):
    """A customer; a field left out or null is stored as null (the record is replaced whole)."""

    model_config = ConfigDict(extra="forbid")

    user_id: Text = Field(min_length=1, max_length=128)
    buying_company_name: Text | None = Field(default=None, max_length=255)
    email: Text | None = Field(default=None, max_length=320)
    cell_phone: Text | None = Field(default=None, max_length=64)
    office_phone: Text | None = Field(default=None, max_length=64)


class BranchIn(BaseModel):
    """A branch (a location of the GA seed); active unless said otherwise."""

    model_config = ConfigDict(extra="forbid")

    branch_id: Text = Field(min_length=1, max_length=128)
    name: Text | None = Field(default=None, max_length=255)
    city: Text | None = Field(default=None, max_length=128)
    state: Text | None = Field(default=None, max_length=128)
    active: StrictBool = True


class UsersIn(BaseModel):
    users: list[UserIn] = Field(
        max_length=MAX_RECORDS,
        description=f"Up to {MAX_RECORDS} customers, each user_id once; written all or none.",
    )


class BranchesIn(BaseModel):
    branches: list[BranchIn] = Field(
        max_length=MAX_RECORDS,
        description=f"Up to {MAX_RECORDS} branches, each branch_id once; written all or none.",
    )


class UpsertResult(BaseModel):
    """What a bulk upsert did: records new to the tenant, changed, and already as sent."""

    created: int
    updated: int
    unchanged: int


class UserOut(UserIn):
    created_at: datetime
    updated_at: datetime


class BranchOut(BranchIn):
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    users: list[UserOut]
    total: int
    limit: int
    offset: int
    has_more: bool


class BranchQuery(PageQuery):
    active: bool | None = Field(None, description="Only active (true) or inactive (false) ones.")


class BranchPage(BaseModel):
    branches: list[BranchOut]
    total: int
    limit: int
    offset: int
    has_more: bool
