"""Sign-in: who the provider says the person is, and which Meridian user and tenant that is."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.audit import repository as audit
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.models import UserAccount
from auth_service.oauth import flow, repository
from auth_service.oauth.providers import ProviderDirectory
from auth_service.oauth.schemas import AuthorizationOut, LoginOut
from auth_service.sessions import service as sessions
from auth_service.tenants import repository as tenants
from common.errors import BadRequest


async def begin_login(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    provider: str,
    redirect_uri: str | None,
) -> AuthorizationOut:
    config = settings.providers().get(provider)
    scopes = config.scopes if config else []
    return await flow.begin(
        session,
        directory,
        settings,
        provider_name=provider,
        purpose="login",
        redirect_uri=redirect_uri,
        scopes=scopes,
    )


async def complete_login(
    session: AsyncSession,
    directory: ProviderDirectory,
    keyring: KeyRing,
    settings: AuthSettings,
    *,
    code: str,
    state: str,
    flow_secret: str,
    ip: str | None,
) -> LoginOut:
    done = await flow.complete(
        session,
        directory,
        settings,
        code=code,
        state=state,
        purpose="login",
        scopes=[],
        flow_secret=flow_secret,
    )
    user, is_new = await _find_or_create_user(session, done.provider.name, done.claims)
    await repository.touch_login(session, done.provider.name, str(done.claims["sub"]), user.id)
    await _accept_invitations(session, user)
    tenant_id, role = await _tenant_for(session, user)
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{user.id}",
        action="user.signed_in",
        target=done.provider.name,
        details={"new_user": is_new},
        ip=ip,
    )
    pair = await sessions.open_session(
        session, keyring, settings, user_id=user.id, tenant_id=tenant_id, role=role
    )
    return LoginOut(**pair.model_dump(), user_id=user.id, email=user.email, new_user=is_new)


def _email_verified(claims: dict[str, Any]) -> bool:
    value = claims.get("email_verified", False)
    return value is True or value == "true"


async def _find_or_create_user(
    session: AsyncSession, provider: str, claims: dict[str, Any]
) -> tuple[UserAccount, bool]:
    subject = str(claims["sub"])
    user = await repository.user_by_identity(session, provider, subject)
    if user is not None:
        return user, False
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise BadRequest("The provider did not share an email address; allow the email scope.")
    if len(email) > 320:
        raise BadRequest("The provider's email address is longer than 320 characters.")
    # Accounts are keyed by email, so only a provider-verified email may create or join one:
    # otherwise whoever claims an address first would sit in its owner's account later.
    if not _email_verified(claims):
        raise BadRequest(
            "The provider has not verified this email address; verify it there first.",
            type_slug="email-unverified",
        )
    existing = await tenants.user_by_email(session, email)
    name = claims.get("name")
    user = existing or await tenants.create_user(
        session, email, name[:200] if isinstance(name, str) else None
    )
    await repository.link_identity(session, provider, subject, user.id, email)
    return user, existing is None


async def _accept_invitations(session: AsyncSession, user: UserAccount) -> None:
    for invitation in await tenants.invitations_for_email(session, user.email):
        if await tenants.role_of(session, invitation.tenant_id, user.id) is None:
            await tenants.add_membership(session, invitation.tenant_id, user.id, invitation.role)
        await tenants.mark_invitation(session, invitation.id, "accepted_at")
        await audit.record(
            session,
            tenant_id=invitation.tenant_id,
            actor=f"user:{user.id}",
            action="invitation.accepted",
            target=user.email,
            details={"role": invitation.role},
        )


async def _tenant_for(session: AsyncSession, user: UserAccount) -> tuple[uuid.UUID, str]:
    """The user's default tenant if still a member, else their first; a first tenant is created
    (with them as owner) for someone who belongs nowhere."""
    rows = await tenants.memberships_of(session, user.id)
    for tenant_id, _, role in rows:
        if tenant_id == user.default_tenant_id:
            return tenant_id, role
    if rows:
        tenant_id, _, role = rows[0]
    else:
        name = f"{user.name or user.email.split('@')[0]}'s workspace"
        tenant = await tenants.create_tenant(session, name[:200])
        await tenants.add_membership(session, tenant.id, user.id, "owner")
        await audit.record(
            session,
            tenant_id=tenant.id,
            actor=f"user:{user.id}",
            action="tenant.created",
            target=name,
        )
        tenant_id, role = tenant.id, "owner"
    await tenants.set_default_tenant(session, user.id, tenant_id)
    return tenant_id, role
