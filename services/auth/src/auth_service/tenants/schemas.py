from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

Role = Literal["owner", "admin", "analyst", "viewer"]


class TenantIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    created_at: datetime


class MyTenantOut(BaseModel):
    id: uuid.UUID
    name: str
    role: Role


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str | None
    role: Role
    joined_at: datetime


class InvitationIn(BaseModel):
    email: EmailStr
    role: Role = "viewer"


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class RoleChangeIn(BaseModel):
    role: Role
