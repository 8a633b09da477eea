"""Make sure the demo tenant exists (development only): an owner, a game key and an admin API key,
written to var/demo.env. Idempotent: keys already in var/demo.env that still work are kept."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select

from auth_service.apikeys import service as apikeys
from auth_service.apikeys.schemas import ApiKeyIn
from auth_service.config import get_settings
from auth_service.models import Tenant
from auth_service.tenants import repository as tenants
from common.db import Database
from common.security import Principal

TENANT_NAME = "Demo Studio"
OWNER_EMAIL = "owner@demo.meridian.local"


def _read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


async def seed() -> dict[str, str]:
    settings = get_settings()
    if not settings.is_development:
        raise SystemExit(f"seed_demo refuses to run in {settings.environment}")
    env_path = settings.var_dir / "demo.env"
    known = _read_env(env_path)
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            query = select(Tenant).where(Tenant.name == TENANT_NAME).order_by(Tenant.created_at)
            tenant = (await session.execute(query)).scalars().first()
            if tenant is None:
                tenant = await tenants.create_tenant(session, TENANT_NAME)
            owner = await tenants.user_by_email(session, OWNER_EMAIL)
            if owner is None:
                owner = await tenants.create_user(session, OWNER_EMAIL, "Demo Owner")
            if await tenants.role_of(session, tenant.id, owner.id) is None:
                await tenants.add_membership(session, tenant.id, owner.id, "owner")
            caller = Principal(
                kind="user", subject=str(owner.id), tenant_id=tenant.id, role="owner"
            )
            values = {
                "MERIDIAN_TENANT_ID": str(tenant.id),
                "MERIDIAN_OWNER_EMAIL": OWNER_EMAIL,
                "MERIDIAN_GAME_KEY": await _key(
                    session, caller, known.get("MERIDIAN_GAME_KEY"), "game"
                ),
                "MERIDIAN_ADMIN_KEY": await _key(
                    session, caller, known.get("MERIDIAN_ADMIN_KEY"), "server"
                ),
            }
    finally:
        await database.dispose()
    env_path.parent.mkdir(parents=True, exist_ok=True)
    env_path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    env_path.chmod(0o600)
    return values


async def _key(session: object, caller: Principal, existing: str | None, kind: str) -> str:
    if existing:
        found = await apikeys.introspect(session, existing)  # type: ignore[arg-type]
        if found.active and found.tenant_id == caller.tenant_id:
            return existing
    body = (
        ApiKeyIn(name="Demo game key", kind="game")
        if kind == "game"
        else ApiKeyIn(name="Demo admin key", kind="server", scopes=["admin", "players:issue"])
    )
    created = await apikeys.create(session, caller, body)  # type: ignore[arg-type]
    return created.api_key


if __name__ == "__main__":
    for key, value in asyncio.run(seed()).items():
        print(f"{key}={value}")
