"""/data/ga4/connections: a tenant's GA4 properties."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from common.db import DbSession
from ingestion_service.connections import service
from ingestion_service.connections.schemas import (
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    ConnectionTestOut,
)
from ingestion_service.deps import GA4, GA4Admin, GA4Reader, Tokens

router = APIRouter(prefix="/data/ga4/connections", tags=["GA4"])


@router.post("", response_model=ConnectionOut, status_code=status.HTTP_201_CREATED)
async def create_connection(
    body: ConnectionIn, session: DbSession, caller: GA4Admin
) -> ConnectionOut:
    """Register a GA4 property (admins). The tenant's Google grant (auth) gives the access."""
    return await service.create(session, caller, body)


@router.get("", response_model=list[ConnectionOut])
async def list_connections(session: DbSession, caller: GA4Reader) -> list[ConnectionOut]:
    return await service.list_connections(session, caller)


@router.get("/{connection_id}", response_model=ConnectionOut)
async def get_connection(
    connection_id: uuid.UUID, session: DbSession, caller: GA4Reader
) -> ConnectionOut:
    return ConnectionOut.model_validate(await service.find(session, caller, connection_id))


@router.patch("/{connection_id}", response_model=ConnectionOut)
async def change_connection(
    connection_id: uuid.UUID, body: ConnectionPatch, session: DbSession, caller: GA4Admin
) -> ConnectionOut:
    """Change the time zone, the key dimensions or the name; disable or enable it."""
    return await service.change(session, caller, connection_id, body)


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_connection(connection_id: uuid.UUID, session: DbSession, caller: GA4Admin) -> None:
    """Forget the connection and its pull records (409 while a job uses it)."""
    await service.remove(session, caller, connection_id)


@router.post("/{connection_id}/test", response_model=ConnectionTestOut)
async def test_connection(
    connection_id: uuid.UUID, session: DbSession, caller: GA4Admin, api: GA4, tokens: Tokens
) -> ConnectionTestOut:
    """Check the grant, the key dimensions and a one-row report; the result is kept."""
    return await service.test(session, caller, connection_id, api, tokens)
