"""SQL of pending authorization requests and of outside identities."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import OAuthIdentity, OAuthState, UserAccount


async def insert_state(session: AsyncSession, state: OAuthState) -> None:
    session.add(state)
    await session.flush()


async def consume_state(
    session: AsyncSession, state_hash: str, purpose: str, binding_hash: str | None
) -> OAuthState | None:
    """Mark a pending request used and return it; None if unknown, expired, used or mismatched."""
    query = (
        update(OAuthState)
        .where(
            OAuthState.state_hash == state_hash,
            OAuthState.purpose == purpose,
            OAuthState.binding_hash.is_not_distinct_from(binding_hash),
            OAuthState.used_at.is_(None),
            OAuthState.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(OAuthState)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def user_by_identity(
    session: AsyncSession, provider: str, subject: str
) -> UserAccount | None:
    query = (
        select(UserAccount)
        .join(OAuthIdentity, OAuthIdentity.user_id == UserAccount.id)
        .where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def link_identity(
    session: AsyncSession, provider: str, subject: str, user_id: uuid.UUID, email: str | None
) -> None:
    session.add(OAuthIdentity(provider=provider, subject=subject, user_id=user_id, email=email))
    await session.flush()


async def touch_login(
    session: AsyncSession, provider: str, subject: str, user_id: uuid.UUID
) -> None:
    await session.execute(
        update(OAuthIdentity)
        .where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
        .values(last_login_at=func.now())
    )
    await session.execute(
        update(UserAccount).where(UserAccount.id == user_id).values(last_login_at=func.now())
    )


async def delete_expired_states(session: AsyncSession) -> int:
    result = await session.execute(
        delete(OAuthState).where(
            OAuthState.expires_at < func.now() - func.make_interval(0, 0, 0, 1)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
