"""Tenants, members and invitations."""

import uuid

from fastapi import APIRouter, status

from auth_service.deps import CurrentMember, Keys, Settings, TenantAdmin
from auth_service.sessions.schemas import TokenPair
from auth_service.tenants import service
from auth_service.tenants.schemas import (
    InvitationIn,
    InvitationOut,
    MemberOut,
    MyTenantOut,
    RoleChangeIn,
    TenantIn,
    TenantOut,
)
from common.db import DbSession
from common.security import CurrentUser

router = APIRouter(prefix="/auth/tenants", tags=["tenants"])


@router.get("", response_model=list[MyTenantOut])
async def list_my_tenants(session: DbSession, caller: CurrentUser) -> list[MyTenantOut]:
    """The tenants the signed-in user belongs to, with their role in each."""
    return await service.my_tenants(session, caller)


@router.post("", response_model=TokenPair, status_code=status.HTTP_201_CREATED)
async def create_tenant(
    body: TenantIn, session: DbSession, caller: CurrentUser, keys: Keys, settings: Settings
) -> TokenPair:
    """Create a tenant owned by the caller; answers with tokens for it."""
    return await service.create_tenant(session, keys, settings, caller, body.name)


@router.patch("/{tenant_id}", response_model=TenantOut)
async def rename_tenant(
    tenant_id: uuid.UUID, body: TenantIn, session: DbSession, caller: TenantAdmin
) -> TenantOut:
    """Rename the current tenant (admin or owner)."""
    return TenantOut.model_validate(await service.rename(session, caller, tenant_id, body.name))


@router.post("/{tenant_id}/switch", response_model=TokenPair)
async def switch_tenant(
    tenant_id: uuid.UUID, session: DbSession, caller: CurrentUser, keys: Keys, settings: Settings
) -> TokenPair:
    """Tokens for another tenant the caller belongs to (it becomes their default)."""
    return await service.switch(session, keys, settings, caller, tenant_id)


@router.get("/{tenant_id}/members", response_model=list[MemberOut])
async def list_members(
    tenant_id: uuid.UUID, session: DbSession, caller: CurrentMember
) -> list[MemberOut]:
    """Members of the current tenant and their roles."""
    return await service.list_members(session, caller, tenant_id)


@router.patch("/{tenant_id}/members/{user_id}", response_model=MemberOut)
async def change_role(
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    body: RoleChangeIn,
    session: DbSession,
    caller: TenantAdmin,
) -> MemberOut:
    """Change a member's role (admin or owner; only owners grant or take owner)."""
    return await service.change_role(session, caller, tenant_id, user_id, body.role)


@router.delete("/{tenant_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    tenant_id: uuid.UUID, user_id: uuid.UUID, session: DbSession, caller: CurrentMember
) -> None:
    """Remove a member (admin or owner), or leave the tenant yourself."""
    await service.remove_member(session, caller, tenant_id, user_id)


@router.post(
    "/{tenant_id}/invitations", response_model=InvitationOut, status_code=status.HTTP_201_CREATED
)
async def invite(
    tenant_id: uuid.UUID,
    body: InvitationIn,
    session: DbSession,
    caller: TenantAdmin,
    settings: Settings,
) -> InvitationOut:
    """Invite someone by email with a role; they join when they first sign in with that email."""
    return await service.invite(session, settings, caller, tenant_id, str(body.email), body.role)


@router.get("/{tenant_id}/invitations", response_model=list[InvitationOut])
async def list_invitations(
    tenant_id: uuid.UUID, session: DbSession, caller: TenantAdmin
) -> list[InvitationOut]:
    """Open invitations of the current tenant."""
    return await service.list_invitations(session, caller, tenant_id)


@router.delete("/{tenant_id}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    tenant_id: uuid.UUID, invitation_id: uuid.UUID, session: DbSession, caller: TenantAdmin
) -> None:
    """Withdraw an open invitation."""
    await service.revoke_invitation(session, caller, tenant_id, invitation_id)
