"""Sessions of tenant users: access JWTs and rotating opaque refresh tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.audit import repository as audit
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.sessions import repository
from auth_service.sessions.schemas import MembershipOut, MeOut, TokenPair
from auth_service.tenants import repository as tenants
from common.crypto import new_secret, token_hash
from common.errors import NotFound, Unauthorized
from common.security import Principal

REFRESH_PREFIX = "rt_"


async def user_access_token(
    keyring: KeyRing, settings: AuthSettings, user_id: uuid.UUID, tenant_id: uuid.UUID, role: str
) -> tuple[str, int]:
    claims = {"sub": str(user_id), "tid": str(tenant_id), "role": role, "typ": "user"}
    return await keyring.sign(claims, timedelta(minutes=settings.access_token_minutes))


async def open_session(
    session: AsyncSession,
    keyring: KeyRing,
    settings: AuthSettings,
    *,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    role: str,
) -> TokenPair:
    """A new token family for the user in that tenant."""
    refresh = new_secret(REFRESH_PREFIX)
    await repository.insert(
        session,
        token_hash=token_hash(refresh),
        user_id=user_id,
        tenant_id=tenant_id,
        expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
    )
    access, expires_in = await user_access_token(keyring, settings, user_id, tenant_id, role)
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=refresh,
        tenant_id=tenant_id,
        role=role,
    )


async def refresh(
    session: AsyncSession,
    keyring: KeyRing,
    settings: AuthSettings,
    refresh_token: str,
    ip: str | None,
) -> TokenPair:
    """Rotate a refresh token. Reuse of a spent one revokes its family (kept despite the 401)."""
    new_refresh = new_secret(REFRESH_PREFIX)
    outcome, user_id, tenant_id, family_id, role = await repository.rotate(
        session,
        token_hash(refresh_token),
        token_hash(new_refresh),
        grace_seconds=settings.refresh_reuse_grace_seconds,
        ttl_seconds=settings.refresh_token_days * 86400,
    )
    if outcome in ("reused", "no_membership"):
        await audit.record(
            session,
            tenant_id=tenant_id,
            actor=f"user:{user_id}",
            action="refresh_token.reuse_detected"
            if outcome == "reused"
            else "refresh_token.orphaned",
            target=f"family:{family_id}",
            ip=ip,
        )
        raise Unauthorized(
            "This refresh token was already used; every token of its session is now revoked."
            if outcome == "reused"
            else "You are no longer a member of this tenant.",
            type_slug="refresh-token-reused" if outcome == "reused" else "refresh-token-invalid",
            keep_changes=True,
        )
    if outcome != "rotated" and outcome != "grace":
        raise Unauthorized(f"The refresh token is {outcome}.", type_slug="refresh-token-invalid")
    assert user_id is not None and tenant_id is not None and role is not None
    access, expires_in = await user_access_token(keyring, settings, user_id, tenant_id, role)
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=new_refresh,
        tenant_id=tenant_id,
        role=role,
    )


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """End the session the refresh token belongs to (every token of its family)."""
    await repository.revoke_family_of(session, token_hash(refresh_token))


async def me(session: AsyncSession, caller: Principal) -> MeOut:
    user = await tenants.get_user(session, caller.user_id)
    if user is None:
        raise NotFound("The signed-in user no longer exists.")
    rows = await tenants.memberships_of(session, user.id)
    tenant_id = caller.require_tenant()
    current = next((row for row in rows if row[0] == tenant_id), None)
    if current is None:
        raise Unauthorized("You are no longer a member of this tenant.")
    return MeOut(
        id=user.id,
        email=user.email,
        name=user.name,
        tenant_id=tenant_id,
        role=current[2],
        memberships=[MembershipOut(tenant_id=t, tenant_name=n, role=r) for t, n, r in rows],
    )
