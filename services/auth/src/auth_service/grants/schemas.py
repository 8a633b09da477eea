from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ConnectIn(BaseModel):
    redirect_uri: str | None = Field(default=None, max_length=2048)


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    provider: str
    status: str
    scopes: list[str]
    account_email: str | None
    connected_at: datetime
    access_expires_at: datetime | None
    last_refreshed_at: datetime | None
    last_error: str | None


class AccessTokenOut(BaseModel):
    access_token: str
    expires_at: datetime
    scopes: list[str]
