"""Pipeline runs, their reports, and the calls of the pipeline's SQL functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, insert, select, text, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.models import (
    cost_daily,
    pipeline_report,
    pipeline_run,
    purchase_raw,
    session_event,
)

# Each report as one JSON document and its row count, from its SQL function (ordered so a
# report reads the same each time). Parameters: :t tenant, :as_of, :minutes, :tolerance.
REPORT_SQL: dict[str, str] = {
    "purchases_curated": """
        SELECT count(*), coalesce(json_agg(c ORDER BY c.event_time_utc, c.appsflyer_id,
                                              c.original_revenue_usd), '[]')::text
          FROM analytics.pipeline_curated_purchases(:t) c""",
    "reconciliation": """
        SELECT count(*), json_build_object(
            'summary', json_build_object(
                'matched', count(*) FILTER (WHERE r.status = 'matched'),
                'af_only', count(*) FILTER (WHERE r.status = 'af_only'),
                'confirmed_only', count(*) FILTER (WHERE r.status = 'confirmed_only'),
                'matched_by_receipt', count(*) FILTER (WHERE r.matched_by = 'receipt'),
                'matched_by_time', count(*) FILTER (WHERE r.matched_by = 'time'),
                'amount_mismatches', count(*) FILTER (WHERE r.amount_mismatch),
                'match_minutes', CAST(:minutes AS integer),
                'amount_tolerance', trim_scale(CAST(:tolerance AS numeric))),
            'details', coalesce(json_agg(r ORDER BY r.appsflyer_id,
                                         coalesce(r.purchase_time, r.confirmed_time),
                                         r.confirmed_time), '[]'))::text
          FROM analytics.pipeline_reconciliation(:t, :minutes, :tolerance) r""",
    "roas_d1": """
        SELECT count(*), coalesce(json_agg(r ORDER BY r.campaign), '[]')::text
          FROM analytics.pipeline_roas_d1(:t, :as_of) r""",
    "roas_anomaly": """
        SELECT count(*), coalesce(json_agg(r ORDER BY r.campaign), '[]')::text
          FROM analytics.pipeline_roas_anomaly(:t, :as_of) r""",
    "arpdau_d1": """
        SELECT count(*), coalesce(json_agg(r ORDER BY r.campaign), '[]')::text
          FROM analytics.pipeline_arpdau_d1(:t, :as_of) r""",
}


async def add_run(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    trigger: str,
    requested_by: str,
    as_of: date,
    match_minutes: int,
    amount_tolerance: Decimal,
) -> Row[Any]:
    result = await session.execute(
        insert(pipeline_run)
        .values(
            tenant_id=tenant_id,
            run_id=uuid.uuid4(),
            trigger=trigger,
            requested_by=requested_by,
            as_of=as_of,
            match_minutes=match_minutes,
            amount_tolerance=amount_tolerance,
            created_at=func.clock_timestamp(),  # runs of one transaction in their order
        )
        .returning(pipeline_run)
    )
    return result.one()


async def get_run(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID
) -> Row[Any] | None:
    result = await session.execute(
        select(pipeline_run).where(
            pipeline_run.c.tenant_id == tenant_id, pipeline_run.c.run_id == run_id
        )
    )
    return result.one_or_none()


async def list_runs(
    session: AsyncSession, tenant_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    where = [pipeline_run.c.tenant_id == tenant_id]
    if status is not None:
        where.append(pipeline_run.c.status == status)
    total = await session.scalar(select(func.count()).select_from(pipeline_run).where(*where))
    rows = await session.execute(
        select(pipeline_run)
        .where(*where)
        .order_by(pipeline_run.c.created_at.desc(), pipeline_run.c.run_id)
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), total or 0


async def reports_of(
    session: AsyncSession, tenant_id: uuid.UUID, run_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Each run's reports and their row counts."""
    found: dict[uuid.UUID, dict[str, int]] = {run_id: {} for run_id in run_ids}
    result = await session.execute(
        select(pipeline_report.c.run_id, pipeline_report.c.name, pipeline_report.c.rows).where(
            pipeline_report.c.tenant_id == tenant_id, pipeline_report.c.run_id.in_(run_ids)
        )
    )
    for run_id, name, rows in result:
        found[run_id][name] = rows
    return found


async def report_body(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, name: str
) -> str | None:
    body: str | None = await session.scalar(
        select(pipeline_report.c.body).where(
            pipeline_report.c.tenant_id == tenant_id,
            pipeline_report.c.run_id == run_id,
            pipeline_report.c.name == name,
        )
    )
    return body


async def claim_run(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID
) -> Row[Any] | None:
    """Mark a queued run running (or one a stopped worker left running); None when it is done."""
    result = await session.execute(
        update(pipeline_run)
        .where(
            pipeline_run.c.tenant_id == tenant_id,
            pipeline_run.c.run_id == run_id,
            pipeline_run.c.status.in_(("queued", "running")),
        )
        .values(status="running", started_at=func.clock_timestamp(), error=None)
        .returning(pipeline_run)
    )
    return result.one_or_none()


async def store_report(session: AsyncSession, name: str, run: Row[Any]) -> None:
    """Compute one report of a run and keep it, in the database: the JSON text (hundreds of
    megabytes for the big reports) never makes the round trip through the worker."""
    params = {
        "t": run.tenant_id,
        "run": run.run_id,
        "name": name,
        "as_of": run.as_of,
        "minutes": run.match_minutes,
        "tolerance": run.amount_tolerance,
    }
    sql = f"""INSERT INTO analytics.pipeline_report (tenant_id, run_id, name, rows, body)
              SELECT :t, :run, :name, r.* FROM ({REPORT_SQL[name]}) r"""  # noqa: S608 - constants
    await session.execute(text(sql), params)


async def prepare(session: AsyncSession, work_mem: str, statement_timeout: str) -> None:
    """For this transaction: times in the reports' JSON written in UTC, the memory the
    pipeline's sorts and hashes may take, and the time one report may take (a batch job's, not a
    request's: the big reports are one statement each)."""
    await session.execute(
        text(
            "SELECT set_config('timezone', 'UTC', true), set_config('work_mem', :m, true),"
            " set_config('statement_timeout', :s, true)"
        ),
        {"m": work_mem, "s": statement_timeout},
    )


async def finish_run(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    status: str,
    *,
    timings: dict[str, int] | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(pipeline_run)
        .where(pipeline_run.c.tenant_id == tenant_id, pipeline_run.c.run_id == run_id)
        .values(status=status, finished_at=func.clock_timestamp(), timings=timings, error=error)
    )


async def tenants_with_data(session: AsyncSession) -> list[uuid.UUID]:
    """Tenants with purchases, costs or sessions in the warehouse."""
    query = union(
        *(
            select(table.c.tenant_id).distinct()
            for table in (purchase_raw, cost_daily, session_event)
        )
    )
    return list((await session.scalars(query)).all())


async def has_scheduled_run(session: AsyncSession, tenant_id: uuid.UUID, as_of: date) -> bool:
    found = await session.scalar(
        select(func.count())
        .select_from(pipeline_run)
        .where(
            pipeline_run.c.tenant_id == tenant_id,
            pipeline_run.c.trigger == "schedule",
            pipeline_run.c.as_of == as_of,
        )
    )
    return bool(found)
