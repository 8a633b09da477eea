"""Rules of tenants and their members: who may do what to whom."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.audit import repository as audit
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.models import Invitation, Tenant
from auth_service.sessions import repository as sessions_repo
from auth_service.sessions import service as sessions
from auth_service.sessions.schemas import TokenPair
from auth_service.tenants import repository
from auth_service.tenants.schemas import InvitationOut, MemberOut, MyTenantOut
from common.errors import Conflict, Forbidden, NotFound
from common.security import ROLE_RANK, Principal


def _same_tenant(caller: Principal, tenant_id: uuid.UUID) -> None:
    """Tenant routes act on the token's tenant only; another tenant looks like it does not exist."""
    if caller.tenant_id != tenant_id:
        raise NotFound("No such tenant among yours; switch tenant first.")


async def my_tenants(session: AsyncSession, caller: Principal) -> list[MyTenantOut]:
    rows = await repository.memberships_of(session, caller.user_id)
    return [MyTenantOut(id=t, name=n, role=r) for t, n, r in rows]


async def create_tenant(
    session: AsyncSession, keyring: KeyRing, settings: AuthSettings, caller: Principal, name: str
) -> TokenPair:
    """A new tenant owned by the caller; answers with a session in it."""
    tenant = await repository.create_tenant(session, name)
    await repository.add_membership(session, tenant.id, caller.user_id, "owner")
    await audit.record(
        session,
        tenant_id=tenant.id,
        actor=f"user:{caller.subject}",
        action="tenant.created",
        target=name,
    )
    return await sessions.open_session(
        session, keyring, settings, user_id=caller.user_id, tenant_id=tenant.id, role="owner"
    )


async def rename(
    session: AsyncSession, caller: Principal, tenant_id: uuid.UUID, name: str
) -> Tenant:
    _same_tenant(caller, tenant_id)
    tenant = await repository.rename_tenant(session, tenant_id, name)
    if tenant is None:
        raise NotFound("No such tenant.")
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="tenant.renamed",
        target=name,
    )
    return tenant


async def switch(
    session: AsyncSession,
    keyring: KeyRing,
    settings: AuthSettings,
    caller: Principal,
    tenant_id: uuid.UUID,
) -> TokenPair:
    role = await repository.role_of(session, tenant_id, caller.user_id)
    if role is None:
        raise NotFound("No such tenant among yours.")
    await repository.set_default_tenant(session, caller.user_id, tenant_id)
    return await sessions.open_session(
        session, keyring, settings, user_id=caller.user_id, tenant_id=tenant_id, role=role
    )


async def list_members(
    session: AsyncSession, caller: Principal, tenant_id: uuid.UUID
) -> list[MemberOut]:
    _same_tenant(caller, tenant_id)
    rows = await repository.members(session, tenant_id)
    return [MemberOut(user_id=u, email=e, name=n, role=r, joined_at=j) for u, e, n, r, j in rows]


async def invite(
    session: AsyncSession,
    settings: AuthSettings,
    caller: Principal,
    tenant_id: uuid.UUID,
    email: str,
    role: str,
) -> InvitationOut:
    _same_tenant(caller, tenant_id)
    _may_grant(caller, role)
    if any(row[1].lower() == email.lower() for row in await repository.members(session, tenant_id)):
        raise Conflict(f"{email} is already a member of this tenant.")
    invitation = Invitation(
        tenant_id=tenant_id,
        email=email,
        role=role,
        invited_by=caller.user_id,
        expires_at=datetime.now(UTC) + timedelta(days=settings.invitation_days),
    )
    try:
        async with session.begin_nested():
            created = await repository.create_invitation(session, invitation)
    except IntegrityError as exc:
        raise Conflict(f"An invitation for {email} is already open.") from exc
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="member.invited",
        target=email,
        details={"role": role},
    )
    return InvitationOut.model_validate(created)


async def list_invitations(
    session: AsyncSession, caller: Principal, tenant_id: uuid.UUID
) -> list[InvitationOut]:
    _same_tenant(caller, tenant_id)
    return [
        InvitationOut.model_validate(i)
        for i in await repository.open_invitations(session, tenant_id)
    ]


async def revoke_invitation(
    session: AsyncSession, caller: Principal, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    _same_tenant(caller, tenant_id)
    invitation = await repository.open_invitation(session, tenant_id, invitation_id)
    if invitation is None:
        raise NotFound("No such open invitation.")
    await repository.mark_invitation(session, invitation_id, "revoked_at")
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="invitation.revoked",
        target=invitation.email,
    )


async def change_role(
    session: AsyncSession, caller: Principal, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> MemberOut:
    _same_tenant(caller, tenant_id)
    await repository.lock_memberships(session, tenant_id)
    current = await repository.role_of(session, tenant_id, user_id)
    if current is None:
        raise NotFound("No such member in this tenant.")
    _may_grant(caller, role)
    _may_act_on(caller, current)
    if current == "owner" and role != "owner":
        await _keep_an_owner(session, tenant_id)
    await repository.set_role(session, tenant_id, user_id, role)
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="member.role_changed",
        target=f"user:{user_id}",
        details={"from": current, "to": role},
    )
    member = next(m for m in await list_members(session, caller, tenant_id) if m.user_id == user_id)
    return member


async def remove_member(
    session: AsyncSession, caller: Principal, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove a member (or leave, when it is oneself); their sessions in the tenant end."""
    _same_tenant(caller, tenant_id)
    await repository.lock_memberships(session, tenant_id)
    current = await repository.role_of(session, tenant_id, user_id)
    if current is None:
        raise NotFound("No such member in this tenant.")
    if user_id != caller.user_id:
        if not caller.has_role("admin"):
            raise Forbidden("Removing members needs the admin role or higher.")
        _may_act_on(caller, current)
    if current == "owner":
        await _keep_an_owner(session, tenant_id)
    await repository.remove_membership(session, tenant_id, user_id)
    await sessions_repo.revoke_user_in_tenant(session, user_id, tenant_id)
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="member.removed",
        target=f"user:{user_id}",
        details={"role": current},
    )


def _may_grant(caller: Principal, role: str) -> None:
    if role == "owner" and caller.role != "owner":
        raise Forbidden("Only an owner may make someone an owner.")


def _may_act_on(caller: Principal, target_role: str) -> None:
    if ROLE_RANK[target_role] > ROLE_RANK[caller.role or "viewer"]:
        raise Forbidden("You cannot change a member whose role is above yours.")


async def _keep_an_owner(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    if await repository.owner_count(session, tenant_id) <= 1:
        raise Conflict("A tenant must keep at least one owner; make someone else owner first.")
