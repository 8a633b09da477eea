"""The auth schema as the platform provisions it: its own role, its own history, its own queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.config import AuthSettings
from auth_service.jobs import jobset
from auth_testing import People
from common.db import admin_url, service_url
from common.migrations import alembic_config, asyncpg_dsn, migrate


async def test_auth_role_cannot_read_another_schema(
    settings: AuthSettings, engine: AsyncEngine
) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(admin_url(settings)))
    try:
        await admin.execute("CREATE SCHEMA IF NOT EXISTS economy_probe")
        await admin.execute("CREATE TABLE IF NOT EXISTS economy_probe.wallet (balance int)")
    finally:
        await admin.close()
    auth = await asyncpg.connect(asyncpg_dsn(service_url(settings)))
    try:
        assert await auth.fetchval("SELECT current_user") == "meridian_auth"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await auth.fetch("SELECT * FROM economy_probe.wallet")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await auth.execute("CREATE TABLE public.sneaky (x int)")
    finally:
        await auth.close()


async def test_everything_in_the_schema_belongs_to_the_service_role(
    settings: AuthSettings, engine: AsyncEngine
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url(settings)))
    try:
        owners = await conn.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'auth'"
        )
    finally:
        await conn.close()
    assert [r["tableowner"] for r in owners] == ["meridian_auth"]


async def test_models_and_migrations_agree(settings: AuthSettings, engine: AsyncEngine) -> None:
    # alembic check raises when autogenerate would produce any operation
    await asyncio.to_thread(command.check, alembic_config(settings))


async def test_migrating_again_changes_nothing(settings: AuthSettings, engine: AsyncEngine) -> None:
    await migrate(settings)
    await asyncio.to_thread(command.check, alembic_config(settings))


async def test_worker_schedules_are_visible_to_admins(
    settings: AuthSettings, engine: AsyncEngine, client: httpx.AsyncClient, people: People
) -> None:
    pool = await asyncpg.create_pool(asyncpg_dsn(service_url(settings)), min_size=1, max_size=4)
    pgq = jobset.build(pool)
    runner = asyncio.create_task(pgq.run(dequeue_timeout=timedelta(seconds=1)))
    await asyncio.sleep(1.5)  # the scheduler registers its schedules as it starts
    pgq.shutdown.set()
    await asyncio.wait_for(runner, timeout=30)
    await pool.close()
    owner = await people.tenant_owner()
    viewer = await people.member(owner.tenant_id, "viewer")
    assert (await client.get("/auth/jobs", headers=viewer.headers)).status_code == 403
    response = await client.get("/auth/jobs", headers=owner.headers)
    assert response.status_code == 200
    schedules = [(s["name"], s["expression"]) for s in response.json()["schedules"]]
    assert schedules == [
        ("auth.clean_up", "30 2 * * *"),
        ("auth.refresh_grants", "0 * * * *"),
        ("auth.rotate_signing_key", "15 3 * * *"),
    ]


async def test_daily_jobs_clean_up_and_rotate(settings: AuthSettings, engine: AsyncEngine) -> None:
    from auth_service import jobs
    from auth_testing import make_settings

    jobs._resources = jobs.Resources(
        make_settings(settings.database_url or "", signing_key_rotation_days=0)
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO auth.oauth_state (state_hash, provider, purpose, nonce,"
                    " code_verifier_enc, redirect_uri, expires_at)"
                    " VALUES ('stale-state', 'dev', 'login', 'n', '\\x00', 'r',"
                    " now() - interval '2 days')"
                )
            )
            kids_before = set(
                (await conn.execute(text("SELECT kid FROM auth.signing_key"))).scalars()
            )
        await jobs.clean_up()
        await jobs.rotate_signing_key()
        async with engine.connect() as conn:
            stale = await conn.scalar(
                text("SELECT count(*) FROM auth.oauth_state WHERE state_hash = 'stale-state'")
            )
            new = (
                await conn.execute(
                    text(
                        "SELECT kid, activates_at > now() FROM auth.signing_key"
                        " WHERE NOT (kid = ANY(:k))"
                    ),
                    {"k": list(kids_before)},
                )
            ).all()
        assert stale == 0
        assert [pending for _, pending in new] == [True]  # published now, signing a minute later
    finally:
        await jobs._resources.database.dispose()
        await jobs._resources.http.aclose()
        jobs._resources = None
