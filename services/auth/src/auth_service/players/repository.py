"""SQL of player identities."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def touch(session: AsyncSession, tenant_id: uuid.UUID, external_id: str) -> uuid.UUID:
    """The player's id, created on first login; last login updated."""
    row = await session.execute(
        text(
            "INSERT INTO auth.player (tenant_id, external_id) VALUES (:t, :e)"
            " ON CONFLICT (tenant_id, external_id) DO UPDATE SET last_login_at = now()"
            " RETURNING id"
        ),
        {"t": tenant_id, "e": external_id},
    )
    player_id: uuid.UUID = row.scalar_one()
    return player_id
