from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PlayerLoginIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    user_id: str = Field(
        alias="userId", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@+-]+$"
    )


class PlayerLoginOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    token: str
    user_id: str = Field(serialization_alias="userId")
    expires_in: int
