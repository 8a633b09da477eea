"""SQL of signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import SigningKey


async def active_key(session: AsyncSession) -> SigningKey | None:
    query = (
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def published_keys(session: AsyncSession) -> list[dict[str, Any]]:
    query = select(SigningKey.public_jwk).where(
        (SigningKey.publish_until.is_(None)) | (SigningKey.publish_until > text("now()"))
    )
    return list((await session.execute(query)).scalars())


async def lock_for_rotation(session: AsyncSession) -> None:
    """Serialise key creation across replicas for the rest of the transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('auth.signing_key'))"))


async def retire_active(session: AsyncSession, *, publish_until: datetime) -> None:
    await session.execute(
        update(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .values(retired_at=text("now()"), publish_until=publish_until)
    )


async def insert_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()
