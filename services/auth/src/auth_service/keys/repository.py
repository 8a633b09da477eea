"""SQL of signing keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import SigningKey


async def active_key(session: AsyncSession) -> SigningKey | None:
    """The newest key whose activation has come (a pre-published key waits its turn)."""
    query = (
        select(SigningKey)
        .where(
            # clock_timestamp(): the switch happens mid-transaction too, not at its start.
            SigningKey.activates_at <= text("clock_timestamp()"),
            (SigningKey.retired_at.is_(None)) | (SigningKey.retired_at > text("clock_timestamp()")),
        )
        .order_by(SigningKey.activates_at.desc())
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


async def retire_current(
    session: AsyncSession, *, retired_at: datetime, publish_until: datetime
) -> None:
    await session.execute(
        update(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .values(retired_at=retired_at, publish_until=publish_until)
    )


async def insert_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def newest_key_age(session: AsyncSession) -> timedelta | None:
    """How long ago the newest key was made (None when there is none)."""
    age: timedelta | None = await session.scalar(
        text("SELECT now() - max(created_at) FROM auth.signing_key WHERE retired_at IS NULL")
    )
    return age
