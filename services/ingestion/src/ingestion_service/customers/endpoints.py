"""Customer records: PUT/GET /data/users, GET /data/users/{user_id}, and the same for branches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from common.db import DbSession
from ingestion_service.customers import service
from ingestion_service.customers.schemas import (
    BranchesIn,
    BranchOut,
    BranchPage,
    BranchQuery,
    UpsertResult,
    UserOut,
    UserPage,
    UsersIn,
)
from ingestion_service.deps import DataReader, DataWriter
from ingestion_service.events.schemas import PageQuery

router = APIRouter(tags=["customers"])

RecordKey = Annotated[str, Path(min_length=1, max_length=128)]


@router.put("/data/users", response_model=UpsertResult)
async def put_users(body: UsersIn, session: DbSession, caller: DataWriter) -> UpsertResult:
    """Create or replace up to 1,000 customers at once; counts created, updated, unchanged."""
    return await service.upsert_users(session, caller, body)


@router.get("/data/users", response_model=UserPage)
async def list_users(
    query: Annotated[PageQuery, Query()], session: DbSession, caller: DataReader
) -> UserPage:
    """The tenant's customers by user_id, a page at a time."""
    return await service.list_users(session, caller, query)


@router.get("/data/users/{user_id}", response_model=UserOut)
async def get_user(user_id: RecordKey, session: DbSession, caller: DataReader) -> UserOut:
    """One customer of the tenant (404 when the tenant has none with this user_id)."""
    return await service.get_user(session, caller, user_id)


@router.put("/data/branches", response_model=UpsertResult)
async def put_branches(body: BranchesIn, session: DbSession, caller: DataWriter) -> UpsertResult:
    """Create or replace up to 1,000 branches at once; counts created, updated, unchanged."""
    return await service.upsert_branches(session, caller, body)


@router.get("/data/branches", response_model=BranchPage)
async def list_branches(
    query: Annotated[BranchQuery, Query()], session: DbSession, caller: DataReader
) -> BranchPage:
    """The tenant's branches by branch_id, a page at a time (active ones only, if asked)."""
    return await service.list_branches(session, caller, query)


@router.get("/data/branches/{branch_id}", response_model=BranchOut)
async def get_branch(branch_id: RecordKey, session: DbSession, caller: DataReader) -> BranchOut:
    """One branch of the tenant (404 when the tenant has none with this branch_id)."""
    return await service.get_branch(session, caller, branch_id)
