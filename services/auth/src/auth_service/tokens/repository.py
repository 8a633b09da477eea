"""SQL of Meridian's service clients."""

from __future__ import annotations

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import ServiceClient


async def upsert(
    session: AsyncSession, client_id: str, secret_hash: str, scopes: list[str]
) -> None:
    await session.execute(
        text(
            "INSERT INTO auth.service_client (client_id, secret_hash, scopes) VALUES (:c, :h, :s)"
            " ON CONFLICT (client_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash,"
            " scopes = EXCLUDED.scopes"
        ),
        {"c": client_id, "h": secret_hash, "s": scopes},
    )


async def get(session: AsyncSession, client_id: str) -> ServiceClient | None:
    return await session.get(ServiceClient, client_id)


async def delete_others(session: AsyncSession, keep: list[str]) -> None:
    """Forget clients no longer configured (their tokens stop being issued)."""
    await session.execute(delete(ServiceClient).where(ServiceClient.client_id.not_in(keep)))
