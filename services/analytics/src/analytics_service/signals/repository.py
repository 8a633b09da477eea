"""Stored momentum, scores and alerts of daily series, and the calls of the signal functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Row, and_, delete, func, literal, select, text, true, union, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.models import ga4_current_day, purchase_raw, series_signal, signal_alert

SORTED_BY = {"momentum": "momentum_index", "value_score": "value_score", "series": None}
# Where a kind's series come from: the tenants holding such rows within a window may have one.
GA4_SOURCES = {"branch_revenue": "purchases", "item_views": "item_views"}


async def list_signals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    equal: dict[str, Any],
    as_of: date | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[Any]], int]:
    """One page of the tenant's series rows whose columns hold the ``equal`` values: the rows of
    ``as_of``, or each series' latest."""
    rows = select(series_signal).where(series_signal.c.tenant_id == tenant_id)
    if as_of is not None:
        rows = rows.where(series_signal.c.as_of == as_of)
    else:
        rows = rows.ext(distinct_on(series_signal.c.series_kind, series_signal.c.series_key))
        rows = rows.order_by(
            series_signal.c.series_kind, series_signal.c.series_key, series_signal.c.as_of.desc()
        )
    table = rows.subquery()
    where = [table.c[name] == value for name, value in equal.items()]
    total = await session.scalar(select(func.count()).select_from(table).where(*where))
    column = SORTED_BY[sort]
    first = [table.c[column].desc().nulls_last()] if column else []
    found = await session.execute(
        select(table)
        .where(*where)
        .order_by(*first, table.c.series_kind, table.c.series_key)
        .limit(limit)
        .offset(offset)
    )
    return found.all(), total or 0


async def history(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    series_kind: str,
    series_key: str,
    start_date: date | None,
    end_date: date | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[Any]], int] | None:
    """One series' rows by as_of, oldest first; None when the tenant has no such series."""
    series = [
        series_signal.c.tenant_id == tenant_id,
        series_signal.c.series_kind == series_kind,
        series_signal.c.series_key == series_key,
    ]
    known = await session.scalar(select(true()).where(*series).limit(1))
    if not known:
        return None
    where = list(series)
    if start_date is not None:
        where.append(series_signal.c.as_of >= start_date)
    if end_date is not None:
        where.append(series_signal.c.as_of <= end_date)
    total = await session.scalar(select(func.count()).select_from(series_signal).where(*where))
    found = await session.execute(
        select(series_signal)
        .where(*where)
        .order_by(series_signal.c.as_of)
        .limit(limit)
        .offset(offset)
    )
    return found.all(), total or 0


async def list_alerts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    unacknowledged: bool | None,
    series_kind: str | None,
    kind: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[Any]], int]:
    """One page of the tenant's alerts, newest first."""
    where = [signal_alert.c.tenant_id == tenant_id]
    if unacknowledged is not None:
        acknowledged = signal_alert.c.acknowledged_at
        where.append(acknowledged.is_(None) if unacknowledged else acknowledged.is_not(None))
    if series_kind is not None:
        where.append(signal_alert.c.series_kind == series_kind)
    if kind is not None:
        where.append(signal_alert.c.kind == kind)
    if since is not None:
        where.append(signal_alert.c.detected_at >= since)
    total = await session.scalar(select(func.count()).select_from(signal_alert).where(*where))
    found = await session.execute(
        select(signal_alert)
        .where(*where)
        .order_by(
            signal_alert.c.detected_at.desc(),
            signal_alert.c.series_kind,
            signal_alert.c.series_key,
            signal_alert.c.kind,
            signal_alert.c.series_day.desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return found.all(), total or 0


async def acknowledge(
    session: AsyncSession, tenant_id: uuid.UUID, alert_id: uuid.UUID, by: str
) -> Row[Any] | None:
    """Marks the alert acknowledged (the first acknowledgement stays); None when the tenant has
    no such alert."""
    found = await session.execute(
        update(signal_alert)
        .where(signal_alert.c.tenant_id == tenant_id, signal_alert.c.alert_id == alert_id)
        .values(
            acknowledged_at=func.coalesce(signal_alert.c.acknowledged_at, func.now()),
            acknowledged_by=func.coalesce(signal_alert.c.acknowledged_by, by),
        )
        .returning(signal_alert)
    )
    return found.one_or_none()


async def store_momentum(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, as_of: date, now: datetime
) -> tuple[int, int]:
    """(series stored, status_change alerts made)."""
    found = await session.execute(
        text("SELECT * FROM analytics.signal_store_momentum(:t, :k, :d, :now)"),
        {"t": tenant_id, "k": kind, "d": as_of, "now": now},
    )
    stored, alerts = found.one()
    return stored, alerts


async def store_scores(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, as_of: date, now: datetime
) -> int:
    """Series scored."""
    return await _count(session, "signal_store_scores", tenant_id, kind, as_of, now)


async def detect_spikes(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, as_of: date, now: datetime
) -> int:
    """Spike alerts made."""
    return await _count(session, "signal_detect_spikes", tenant_id, kind, as_of, now)


async def _count(
    session: AsyncSession,
    function: str,
    tenant_id: uuid.UUID,
    kind: str,
    as_of: date,
    now: datetime,
) -> int:
    found = await session.scalar(
        text(f"SELECT analytics.{function}(:t, :k, :d, :now)"),
        {"t": tenant_id, "k": kind, "d": as_of, "now": now},
    )
    return int(found or 0)


async def tenants_with_series(session: AsyncSession, since: date) -> list[tuple[uuid.UUID, str]]:
    """(tenant, series kind) pairs with source rows on or after ``since`` (the months before it
    are not read)."""
    moment = datetime.combine(since, time(), UTC)
    marketing = (
        select(purchase_raw.c.tenant_id).where(purchase_raw.c.event_time_utc >= moment).distinct()
    )
    queries = [
        select(marketing.subquery().c.tenant_id, literal(kind))
        for kind in ("campaign_revenue", "campaign_installs")
    ]
    for kind, data_type in GA4_SOURCES.items():
        queries.append(
            select(ga4_current_day.c.tenant_id, literal(kind)).where(
                ga4_current_day.c.data_type == data_type, ga4_current_day.c.day >= since
            )
        )
    found = await session.execute(union(*queries))
    return sorted((tenant, kind) for tenant, kind in found)


async def delete_acknowledged(session: AsyncSession, before: datetime) -> int:
    """Every tenant's acknowledged alerts detected before ``before``."""
    found = await session.execute(
        delete(signal_alert).where(
            and_(signal_alert.c.acknowledged_at.is_not(None), signal_alert.c.detected_at < before)
        )
    )
    return int(found.rowcount or 0)  # type: ignore[attr-defined]
