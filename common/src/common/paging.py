"""Offset paging as every list endpoint answers it: the page's items, the total, the limit and
offset asked for, and whether rows lie past this page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Self, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def has_more(offset: int, shown: int, total: int) -> bool:
    """Rows lie past a page of ``shown`` rows from ``offset`` of ``total``."""
    return offset + shown < total


class OffsetPage(BaseModel, Generic[T]):
    """``{data, total, limit, offset, has_more}``; subclass it to name the page in the API
    document (``class JobPage(OffsetPage[JobOut]): ...``)."""

    data: list[T]
    total: int
    limit: int
    offset: int
    has_more: bool

    @classmethod
    def of(cls, data: Sequence[T], total: int, limit: int, offset: int) -> Self:
        return cls(
            data=list(data),
            total=total,
            limit=limit,
            offset=offset,
            has_more=has_more(offset, len(data), total),
        )
