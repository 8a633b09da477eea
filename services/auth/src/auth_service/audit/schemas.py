from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: uuid.UUID | None
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    ip: str | None
    created_at: datetime


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_before_id: int | None
