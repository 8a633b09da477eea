"""The refresh-token rotation function under concurrency, on real committed transactions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.sessions import repository
from auth_service.tenants import repository as tenants
from common.crypto import token_hash
from common.db import Database


async def _family(engine: AsyncEngine) -> uuid.UUID:
    database = Database(engine)
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenants.create_tenant(session, "race")
        user = await tenants.create_user(session, f"{uuid.uuid4().hex[:8]}@example.com", None)
        await tenants.add_membership(session, tenant.id, user.id, "owner")
        await repository.insert(
            session,
            token_hash=token_hash("t0"),
            user_id=user.id,
            tenant_id=tenant.id,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        outcome = await repository.rotate(
            session, token_hash("t0"), token_hash("a"), grace_seconds=0, ttl_seconds=3600
        )
        assert outcome[0] == "rotated"
    return user.id


async def test_reuse_during_a_rotation_in_flight_revokes_its_result(engine: AsyncEngine) -> None:
    user_id = await _family(engine)
    database = Database(engine)
    async with database.sessionmaker() as rotating:
        await rotating.begin()
        rotated = await repository.rotate(
            rotating, token_hash("a"), token_hash("a2"), grace_seconds=0, ttl_seconds=3600
        )
        assert rotated[0] == "rotated"

        async def replay() -> str:
            async with database.sessionmaker() as session, session.begin():
                result = await repository.rotate(
                    session, token_hash("t0"), token_hash("x"), grace_seconds=0, ttl_seconds=3600
                )
                return result[0]

        replayed = asyncio.create_task(replay())
        await asyncio.sleep(0.3)  # the replay now waits for the family's turn
        assert not replayed.done()
        await rotating.commit()
    assert await replayed == "reused"
    async with engine.connect() as conn:
        live = await conn.scalar(
            text(
                "SELECT count(*) FROM auth.refresh_token WHERE user_id = :u AND revoked_at IS NULL"
            ),
            {"u": user_id},
        )
    assert live == 0
