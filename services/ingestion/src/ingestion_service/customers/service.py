"""Customer records: written in bulk (all or none, each change a fact), read by key or by page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from common.errors import NotFound, Unprocessable
from common.security import Principal
from ingestion_service.customers import repository
from ingestion_service.customers.repository import BRANCHES, USERS, RecordTable
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
from ingestion_service.events.schemas import PageQuery


def record_of(model: BaseModel, table: RecordTable) -> tuple[Any, ...]:
    """A validated record as the repository takes it (its fields in the table's order)."""
    return tuple(getattr(model, column) for column in table.columns)


def _each_key_once(field: str, key: str, keys: Sequence[str]) -> None:
    """A list naming one record twice is refused: which of the two would win is not obvious."""
    first: dict[str, int] = {}
    errors = []
    for index, value in enumerate(keys):
        if value in first:
            errors.append(
                {
                    "loc": ["body", field, str(index), key],
                    "msg": f"the same {key} as at index {first[value]}",
                    "type": "duplicate_key",
                }
            )
        else:
            first[value] = index
    if errors:
        raise Unprocessable(f"Each {key} may appear once in a request.", errors=errors)


async def _upsert(
    session: AsyncSession,
    caller: Principal,
    table: RecordTable,
    field: str,
    records: Sequence[BaseModel],
) -> UpsertResult:
    _each_key_once(field, table.key, [getattr(record, table.key) for record in records])
    rows = [record_of(record, table) for record in records]
    counts = await repository.upsert(session, table, caller.require_tenant(), rows)
    return UpsertResult(created=counts.created, updated=counts.updated, unchanged=counts.unchanged)


async def upsert_users(session: AsyncSession, caller: Principal, body: UsersIn) -> UpsertResult:
    return await _upsert(session, caller, USERS, "users", body.users)


async def upsert_branches(
    session: AsyncSession, caller: Principal, body: BranchesIn
) -> UpsertResult:
    return await _upsert(session, caller, BRANCHES, "branches", body.branches)


async def get_user(session: AsyncSession, caller: Principal, user_id: str) -> UserOut:
    found = await repository.get_user(session, caller.require_tenant(), user_id)
    if found is None:
        raise NotFound("This tenant has no customer with that user_id.")
    return UserOut.model_validate(found, from_attributes=True)


async def list_users(session: AsyncSession, caller: Principal, query: PageQuery) -> UserPage:
    rows, total = await repository.list_users(
        session, caller.require_tenant(), query.limit, query.offset
    )
    return UserPage(
        users=[UserOut.model_validate(row, from_attributes=True) for row in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
        has_more=query.offset + len(rows) < total,
    )


async def get_branch(session: AsyncSession, caller: Principal, branch_id: str) -> BranchOut:
    found = await repository.get_branch(session, caller.require_tenant(), branch_id)
    if found is None:
        raise NotFound("This tenant has no branch with that branch_id.")
    return BranchOut.model_validate(found, from_attributes=True)


async def list_branches(session: AsyncSession, caller: Principal, query: BranchQuery) -> BranchPage:
    rows, total = await repository.list_branches(
        session, caller.require_tenant(), query.active, query.limit, query.offset
    )
    return BranchPage(
        branches=[BranchOut.model_validate(row, from_attributes=True) for row in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
        has_more=query.offset + len(rows) < total,
    )
