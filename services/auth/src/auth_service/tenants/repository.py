"""SQL of tenants, users, memberships and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import Invitation, Membership, Tenant, UserAccount


async def create_tenant(session: AsyncSession, name: str) -> Tenant:
    tenant = Tenant(name=name)
    session.add(tenant)
    await session.flush()
    await session.refresh(tenant)
    return tenant


async def rename_tenant(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> Tenant | None:
    await session.execute(
        update(Tenant).where(Tenant.id == tenant_id).values(name=name, updated_at=func.now())
    )
    tenant = await session.get(Tenant, tenant_id)
    if tenant is not None:
        await session.refresh(tenant)
    return tenant


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> UserAccount | None:
    return await session.get(UserAccount, user_id)


async def user_by_email(session: AsyncSession, email: str) -> UserAccount | None:
    query = select(UserAccount).where(func.lower(UserAccount.email) == email.lower())
    return (await session.execute(query)).scalar_one_or_none()


async def create_user(session: AsyncSession, email: str, name: str | None) -> UserAccount:
    user = UserAccount(email=email, name=name)
    session.add(user)
    await session.flush()
    return user


async def add_membership(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> None:
    session.add(Membership(tenant_id=tenant_id, user_id=user_id, role=role))
    await session.flush()


async def role_of(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    query = select(Membership.role).where(
        Membership.tenant_id == tenant_id, Membership.user_id == user_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def memberships_of(
    session: AsyncSession, user_id: uuid.UUID
) -> list[Row[uuid.UUID, str, str]]:
    query = (
        select(Tenant.id, Tenant.name, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Tenant.name)
    )
    return list((await session.execute(query)).all())


async def members(
    session: AsyncSession, tenant_id: uuid.UUID
) -> list[Row[uuid.UUID, str, str | None, str, datetime]]:
    query = (
        select(
            UserAccount.id,
            UserAccount.email,
            UserAccount.name,
            Membership.role,
            Membership.created_at,
        )
        .join(Membership, Membership.user_id == UserAccount.id)
        .where(Membership.tenant_id == tenant_id)
        .order_by(Membership.created_at, UserAccount.email)
    )
    return list((await session.execute(query)).all())


async def lock_memberships(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Serialise role changes of one tenant (so two demotions cannot leave it without an owner)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('auth.membership'), hashtext(:t))"),
        {"t": str(tenant_id)},
    )


async def owner_count(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        Membership.tenant_id == tenant_id, Membership.role == "owner"
    )
    return int((await session.execute(query)).scalar_one())


async def set_role(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> None:
    await session.execute(
        update(Membership)
        .where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
        .values(role=role)
    )


async def remove_membership(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    await session.execute(
        delete(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    )


async def set_default_tenant(
    session: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID
) -> None:
    await session.execute(
        update(UserAccount).where(UserAccount.id == user_id).values(default_tenant_id=tenant_id)
    )


async def create_invitation(session: AsyncSession, invitation: Invitation) -> Invitation:
    session.add(invitation)
    await session.flush()
    await session.refresh(invitation)
    return invitation


async def open_invitation(
    session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    query = select(Invitation).where(
        Invitation.id == invitation_id,
        Invitation.tenant_id == tenant_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
    )
    return (await session.execute(query)).scalar_one_or_none()


async def open_invitations(session: AsyncSession, tenant_id: uuid.UUID) -> list[Invitation]:
    query = (
        select(Invitation)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > func.now(),
        )
        .order_by(Invitation.created_at)
    )
    return list((await session.execute(query)).scalars())


async def invitations_for_email(session: AsyncSession, email: str) -> list[Invitation]:
    query = (
        select(Invitation)
        .where(
            func.lower(Invitation.email) == email.lower(),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > func.now(),
        )
        .order_by(Invitation.created_at)
        .with_for_update()
    )
    return list((await session.execute(query)).scalars())


async def mark_invitation(session: AsyncSession, invitation_id: uuid.UUID, column: str) -> None:
    await session.execute(
        update(Invitation).where(Invitation.id == invitation_id).values({column: func.now()})
    )
