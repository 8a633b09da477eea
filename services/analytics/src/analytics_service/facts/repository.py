"""SQL of the warehouse: receipts, fact rows, partitions."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def add_month_partitions(session: AsyncSession, months_ahead: int) -> int:
    """Partitions of every fact table from this month to ``months_ahead`` later; returns how
    many were made."""
    made = await session.scalar(
        text(
            "SELECT analytics.add_month_partitions(date_trunc('month', now() AT TIME ZONE 'UTC')"
            "::date, (date_trunc('month', now() AT TIME ZONE 'UTC')"
            " + make_interval(months => :ahead))::date)"
        ),
        {"ahead": months_ahead},
    )
    return int(made or 0)
