"""SQL of refresh tokens (rotation itself is the SQL function auth.rotate_refresh_token)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import RefreshToken


async def insert(
    session: AsyncSession,
    *,
    token_hash: str,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    expires_at: datetime,
    family_id: uuid.UUID | None = None,
) -> None:
    session.add(
        RefreshToken(
            token_hash=token_hash,
            family_id=family_id or uuid.uuid4(),
            user_id=user_id,
            tenant_id=tenant_id,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def rotate(
    session: AsyncSession, token_hash: str, new_hash: str, *, grace_seconds: int, ttl_seconds: int
) -> tuple[str, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, str | None]:
    row = (
        await session.execute(
            text("SELECT * FROM auth.rotate_refresh_token(:h, :n, :g, :t)"),
            {"h": token_hash, "n": new_hash, "g": grace_seconds, "t": ttl_seconds},
        )
    ).one()
    return row.outcome, row.user_id, row.tenant_id, row.family_id, row.role


async def revoke_family_of(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        text(
            "UPDATE auth.refresh_token SET revoked_at = now() WHERE revoked_at IS NULL"
            " AND family_id = (SELECT family_id FROM auth.refresh_token WHERE token_hash = :h)"
        ),
        {"h": token_hash},
    )


async def revoke_user_in_tenant(
    session: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID
) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.tenant_id == tenant_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=text("now()"))
    )


async def delete_dead(session: AsyncSession) -> int:
    """Forget tokens a week past their expiry or revocation (the daily clean-up)."""
    result = await session.execute(
        text(
            "DELETE FROM auth.refresh_token WHERE expires_at < now() - interval '7 days'"
            " OR revoked_at < now() - interval '7 days'"
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
