"""A small service built with common's app factory, to test the shared behaviour."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text

from common.app import create_app
from common.config import ServiceSettings
from common.db import DbSession
from common.errors import Conflict
from common.security import AnyCaller, Principal, TenantRole


class ProbeSettings(ServiceSettings):
    service_name = "probe"
    default_port = 8999
    model_config = SettingsConfigDict(env_prefix="PROBE_", extra="ignore")


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(ge=0)


router = APIRouter()


@router.post("/items")
async def create_item(item: Item) -> Item:
    return item


@router.get("/conflict")
async def conflict() -> None:
    raise Conflict("That name is taken.", name="x")


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@router.get("/db-error/{sqlstate}")
async def db_error(sqlstate: str, session: DbSession) -> None:
    """Make the database raise the given SQLSTATE (5 letters or digits)."""
    if not sqlstate.isalnum() or len(sqlstate) != 5:
        raise Conflict("bad code")
    await session.execute(text(f"DO $$ BEGIN RAISE SQLSTATE '{sqlstate}'; END $$"))


@router.get("/whoami")
async def whoami(caller: AnyCaller) -> dict[str, object]:
    return {
        "kind": caller.kind,
        "subject": caller.subject,
        "tenant_id": str(caller.tenant_id),
        "scopes": sorted(caller.scopes),
    }


@router.get("/admin-only")
async def admin_only(caller: Annotated[Principal, TenantRole("admin")]) -> dict[str, str]:
    return {"role": caller.role or ""}


def probe_app(settings: ProbeSettings, **kwargs: object) -> FastAPI:
    return create_app(settings, title="probe", version="9.9.9", routers=[router], **kwargs)  # type: ignore[arg-type]
