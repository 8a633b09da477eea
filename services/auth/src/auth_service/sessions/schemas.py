from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    tenant_id: uuid.UUID
    role: str


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class MembershipOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_name: str
    role: str


class MeOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str | None
    tenant_id: uuid.UUID
    role: str
    memberships: list[MembershipOut]
