from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from auth_service.sessions.schemas import TokenPair


class AuthorizationOut(BaseModel):
    authorization_url: str
    state: str
    expires_at: datetime
    provider: str
    flow_secret: str | None = Field(
        default=None,
        description="Sign-in only: keep it in the browser that started (sessionStorage) and "
        "send it with the callback.",
    )


class CallbackIn(BaseModel):
    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=16, max_length=256)


class LoginCallbackIn(CallbackIn):
    flow_secret: str = Field(min_length=16, max_length=256)


class LoginOut(TokenPair):
    user_id: uuid.UUID
    email: str
    new_user: bool


class ProvidersOut(BaseModel):
    providers: list[str]
