from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What a tenant machine may be allowed to do. Game keys ship inside game clients, so they can do
# one thing only: log a player in.
Scope = Literal[
    "players:login",
    "players:issue",
    "events:write",
    "events:read",
    "wallets:write",
    "wallets:read",
    "uploads:write",
    "reports:read",
    "admin",
]
SCOPES = get_args(Scope)
GAME_SCOPES: list[Scope] = ["players:login"]


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["server", "game"] = "server"
    scopes: list[Scope] = Field(default_factory=list, max_length=len(SCOPES))
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _scopes_fit_kind(self) -> ApiKeyIn:
        if self.kind == "game":
            if self.scopes and self.scopes != GAME_SCOPES:
                raise ValueError("a game key has exactly the players:login scope")
            self.scopes = list(GAME_SCOPES)
        elif not self.scopes:
            raise ValueError("a server key needs at least one scope")
        self.scopes = sorted(set(self.scopes))
        if self.expires_at is not None:
            if self.expires_at.tzinfo is None:
                raise ValueError("expires_at needs a time zone")
            try:
                # Stored in UTC: a moment near year 9999 in a western zone lies beyond it.
                self.expires_at = self.expires_at.astimezone(UTC)
            except OverflowError as exc:
                raise ValueError("expires_at is out of range") from exc
            if self.expires_at <= datetime.now(UTC):
                raise ValueError("expires_at must be in the future")
        return self


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    kind: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="The secret. It is shown this once and never again.")


class IntrospectIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=200)


class IntrospectOut(BaseModel):
    active: bool
    key_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    kind: str | None = None
    scopes: list[str] = []
