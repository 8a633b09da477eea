"""Pipeline runs, their reports, and the calls of the pipeline's SQL functions."""

# ruff: noqa: S608 - the SQL is built from this module's constants, no input

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, insert, select, text, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.models import (
    PIPELINE_BLOCK_ROWS,
    cost_daily,
    pipeline_report,
    pipeline_run,
    purchase_raw,
    session_event,
)

# The columns of each block table (models.pipeline_*_block), in the report's field order.
CURATED = ("appsflyer_id", "event_time_utc", "revenue_usd", "campaign", "receipt_id", "chargeback",
           "original_revenue_usd")  # fmt: skip
DETAILS = ("status", "matched_by", "appsflyer_id", "campaign", "purchase_time", "confirmed_time",
           "purchase_revenue_usd", "confirmed_revenue_usd", "purchase_receipt_id",
           "confirmed_receipt_id", "seconds_apart", "amount_diff", "amount_mismatch",
           "chargeback")  # fmt: skip


def _arrays(columns: tuple[str, ...]) -> str:
    return ", ".join(f"array_agg(r.{c})" for c in columns)


# Each report computed by its SQL function and kept, in one statement: the two with a row per
# purchase as blocks of :block rows (their report row holds the count, and the reconciliation's
# summary), the others as one JSON document. Parameters: :t tenant, :run, :as_of, :minutes,
# :tolerance, :block. The curated purchases come first: the others read the run's (:run).
STORE_SQL: dict[str, str] = {
    "purchases_curated": f"""
        WITH block AS (
            INSERT INTO analytics.pipeline_purchase_block
                   (tenant_id, run_id, block, first_time, last_time, n, {", ".join(CURATED)})
            SELECT :t, :run, (r.n - 1) / :block, min(r.event_time_utc), max(r.event_time_utc),
                   array_agg(r.n), {_arrays(CURATED)}
              FROM (SELECT row_number() OVER (ORDER BY c.event_time_utc, c.appsflyer_id,
                                                       c.original_revenue_usd)::integer AS n,
                           c.*
                      FROM analytics.pipeline_curated_purchases(:t) c) r
             GROUP BY 3
            RETURNING cardinality(n) AS rows)
        INSERT INTO analytics.pipeline_report (tenant_id, run_id, name, rows, body)
        SELECT :t, :run, 'purchases_curated', coalesce(sum(rows), 0), NULL FROM block""",
    "reconciliation": f"""
        WITH block AS (
            INSERT INTO analytics.pipeline_reconciliation_block
                   (tenant_id, run_id, block, n, {", ".join(DETAILS)})
            SELECT :t, :run, (r.n - 1) / :block, array_agg(r.n::integer), {_arrays(DETAILS)}
              FROM analytics.pipeline_reconciliation(:t, :minutes, :tolerance, :run) r
             GROUP BY 3
            RETURNING status, matched_by, amount_mismatch)
        INSERT INTO analytics.pipeline_report (tenant_id, run_id, name, rows, body)
        SELECT :t, :run, 'reconciliation', count(*), json_build_object(
                   'matched', count(*) FILTER (WHERE d.status = 'matched'),
                   'af_only', count(*) FILTER (WHERE d.status = 'af_only'),
                   'confirmed_only', count(*) FILTER (WHERE d.status = 'confirmed_only'),
                   'matched_by_receipt', count(*) FILTER (WHERE d.matched_by = 'receipt'),
                   'matched_by_time', count(*) FILTER (WHERE d.matched_by = 'time'),
                   'amount_mismatches', count(*) FILTER (WHERE d.amount_mismatch),
                   'match_minutes', CAST(:minutes AS integer),
                   'amount_tolerance', trim_scale(CAST(:tolerance AS numeric)))::text
          FROM block b
         CROSS JOIN LATERAL unnest(b.status, b.matched_by, b.amount_mismatch)
               AS d(status, matched_by, amount_mismatch)""",
}
for _name, _function in (("roas_d1", "pipeline_roas_d1(:t, :as_of, :run)"),
                         ("roas_anomaly", "pipeline_roas_anomaly(:t, :as_of, p_run_id => :run)"),
                         ("arpdau_d1", "pipeline_arpdau_d1(:t, :as_of, :run)")):  # fmt: skip
    STORE_SQL[_name] = f"""
        INSERT INTO analytics.pipeline_report (tenant_id, run_id, name, rows, body)
        SELECT :t, :run, '{_name}', count(*), coalesce(json_agg(r ORDER BY r.campaign), '[]')
          FROM analytics.{_function} r"""


# A page of a block report's rows as text, in order (JSON objects joined by commas, or CSV
# lines): the rows of blocks :first to :last of the tenant's run.
def _unnest(table: str, columns: tuple[str, ...]) -> str:
    return f"""
      FROM analytics.{table} b
     CROSS JOIN LATERAL unnest(b.n, {", ".join(f"b.{c}" for c in columns)})
           AS r(n, {", ".join(columns)})"""


_PAGE = """
     WHERE b.tenant_id = :t AND b.run_id = :run AND b.block BETWEEN :first AND :last"""
PAGE_SQL: dict[tuple[str, str], str] = {
    ("purchases_curated", "json"): f"""
        SELECT string_agg(row_to_json(x)::text, ',' ORDER BY r.n)
        {_unnest("pipeline_purchase_block", CURATED)}
         CROSS JOIN LATERAL (
               SELECT r.appsflyer_id, 'purchase'::text AS event_name, r.event_time_utc,
                      r.revenue_usd, r.campaign, r.receipt_id, 'success'::text AS status,
                      r.chargeback, r.original_revenue_usd) x{_PAGE}""",
    ("purchases_curated", "csv"): f"""
        SELECT string_agg(concat(
                   analytics.pipeline_csv_field(r.appsflyer_id), ',purchase,',
                   to_json(r.event_time_utc) #>> '{{}}', ',', r.revenue_usd, ',',
                   analytics.pipeline_csv_field(r.campaign), ',',
                   analytics.pipeline_csv_field(r.receipt_id), ',success,', r.chargeback::text,
                   ',', r.original_revenue_usd, E'\\n'), '' ORDER BY r.n)
        {_unnest("pipeline_purchase_block", CURATED)}{_PAGE}""",
    ("reconciliation", "json"): f"""
        SELECT string_agg(row_to_json(x)::text, ',' ORDER BY r.n)
        {_unnest("pipeline_reconciliation_block", DETAILS)}
         CROSS JOIN LATERAL (SELECT {", ".join(f"r.{c}" for c in DETAILS)}) x{_PAGE}""",
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


async def report_row(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, name: str
) -> tuple[int, str | None] | None:
    """A report's row count and JSON (the reconciliation's summary; none for the curated
    purchases, all blocks)."""
    result = await session.execute(
        select(pipeline_report.c.rows, pipeline_report.c.body).where(
            pipeline_report.c.tenant_id == tenant_id,
            pipeline_report.c.run_id == run_id,
            pipeline_report.c.name == name,
        )
    )
    row = result.one_or_none()
    return None if row is None else (row.rows, row.body)


async def report_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    report: tuple[str, str],
    blocks: range,
) -> str:
    """Rows of a block report (report: name and format) as text, in their order."""
    await session.execute(text("SELECT set_config('timezone', 'UTC', true)"))  # times in UTC
    params = {"t": tenant_id, "run": run_id, "first": blocks.start, "last": blocks.stop - 1}
    page: str | None = await session.scalar(text(PAGE_SQL[report]), params)
    return page or ""


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
    """Compute one report of a run and keep it, in the database: no row of it makes the round
    trip through the worker."""
    params = {
        "t": run.tenant_id,
        "run": run.run_id,
        "as_of": run.as_of,
        "minutes": run.match_minutes,
        "tolerance": run.amount_tolerance,
        "block": PIPELINE_BLOCK_ROWS,
    }
    await session.execute(text(STORE_SQL[name]), params)


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
