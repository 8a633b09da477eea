"""Tables of the analytics schema: the warehouse.

Every fact table is keyed first by ``tenant_id`` (so it can be distributed by tenant) and
partitioned by month on its time column (``analytics.add_month_partitions`` makes the months and a
default partition; the worker adds the coming months daily). A kind of fact maps to one table
(facts/kinds.py); adding a kind is a table here and a mapping there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DATEMULTIRANGE, JSONB, UUID
from sqlalchemy.types import TypeEngine

from common.db import BaseModel, schema_metadata


class Base(BaseModel):
    __abstract__ = True
    metadata = schema_metadata("analytics")


metadata = Base.metadata


def _tz() -> DateTime:
    return DateTime(timezone=True)


def _received_at() -> Column[object]:
    return Column("received_at", _tz(), server_default=func.now(), nullable=False)


# Every fact taken in, once per (source, id): what makes a redelivery a duplicate.
fact_receipt = Table(
    "fact_receipt",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("fact_id", UUID(as_uuid=True), primary_key=True),
    Column("kind", String(100), nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    _received_at(),
    Index("ix_fact_receipt_tenant_id_received_at", "tenant_id", "received_at"),
)


def fact_table(name: str, time: Column[object], *columns: Column[object]) -> Table:
    """A table of one kind of fact: (tenant, time, fact id) keyed, partitioned by month on the
    time column (a partition key must be part of the primary key)."""
    time.primary_key = True
    time.nullable = False
    return Table(
        name,
        metadata,
        Column("tenant_id", UUID(as_uuid=True), primary_key=True),
        time,
        Column("fact_id", UUID(as_uuid=True), primary_key=True),
        *columns,
        _received_at(),
        postgresql_partition_by=f"RANGE ({time.name})",
    )


# --- ingestion: events of games and game servers, rows of uploaded files ---------------------

game_event = fact_table(
    "game_event",
    Column("occurred_at", _tz()),
    Column("event_type", String(100), nullable=False),
    Column("meta", Text),
    Column("player_id", UUID(as_uuid=True)),
    Column("user_id", String(128)),
)


def _purchase(name: str, *extra: Column[object]) -> Table:
    return fact_table(
        name,
        Column("event_time_utc", _tz()),
        Column("upload_id", UUID(as_uuid=True), nullable=False),
        Column("line", Integer, nullable=False),
        Column("appsflyer_id", String(200), nullable=False),
        Column("event_name", String(100), nullable=False),
        # None when the file's text was no number; the text is then in revenue_raw.
        Column("revenue_usd", Numeric(20, 6)),
        Column("revenue_raw", String(200)),
        Column("campaign", String(500)),
        Column("receipt_id", String(200)),
        *extra,
    )


purchase_raw = _purchase("purchase_raw", Column("status", String(16), nullable=False))
# The receipts charged back (the pipeline's curation): a few rows of the table, so a small index.
Index(
    "ix_purchase_raw_tenant_id_receipt_id",
    purchase_raw.c.tenant_id,
    purchase_raw.c.receipt_id,
    postgresql_where=text("lower(btrim(status)) = 'chargeback'"),
)
purchase_confirmed = _purchase("purchase_confirmed")
cost_daily = fact_table(
    "cost_daily",
    Column("cost_date", Date),
    Column("upload_id", UUID(as_uuid=True), nullable=False),
    Column("line", Integer, nullable=False),
    Column("campaign", String(500), nullable=False),
    Column("ad_cost_usd", Numeric(20, 6), nullable=False),
)
session_event = fact_table(
    "session_event",
    Column("event_timestamp_utc", _tz()),
    Column("upload_id", UUID(as_uuid=True), nullable=False),
    Column("line", Integer, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("event_name", String(100), nullable=False),
)


# --- dimensions: the latest state of a record, a newer fact wins -----------------------------


def dimension_table(name: str, key: str, *columns: Column[object]) -> Table:
    return Table(
        name,
        metadata,
        Column("tenant_id", UUID(as_uuid=True), primary_key=True),
        Column(key, String(128), primary_key=True),
        *columns,
        Column("created_at", _tz(), nullable=False),
        Column("updated_at", _tz(), nullable=False),
        # The fact this state came from, and when it happened (what "newer" compares).
        Column("fact_id", UUID(as_uuid=True), nullable=False),
        Column("occurred_at", _tz(), nullable=False),
        _received_at(),
    )


customer_user = dimension_table(
    "customer_user",
    "user_id",
    Column("buying_company_name", String(255)),
    Column("email", String(320)),
    Column("cell_phone", String(64)),
    Column("office_phone", String(64)),
)
branch = dimension_table(
    "branch",
    "branch_id",
    Column("name", String(255)),
    Column("city", String(128)),
    Column("state", String(128)),
    Column("active", Boolean, nullable=False),
)


# --- GA4: rows staged by pull, the current pull of each day ----------------------------------

PULL_STATUSES = ("staged", "current", "replaced", "stale")

ga4_pull = Table(
    "ga4_pull",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("pull_id", UUID(as_uuid=True), primary_key=True),
    Column("connection_id", UUID(as_uuid=True), nullable=False),
    Column("property_id", String(20), nullable=False),
    Column("data_type", String(64), nullable=False),
    Column("fact_kind", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("time_zone", String(64), nullable=False),
    # Where its rows are (a ga4_* table of this schema).
    Column("row_table", String(63), nullable=False),
    Column("parts", Integer, nullable=False),
    # Known once the day fact has come (it says the pull is complete).
    Column("rows", Integer),
    Column("replaces_pull_id", UUID(as_uuid=True)),
    Column("thresholded", Boolean),
    Column("other_row", Boolean),
    Column("pulled_at", _tz()),
    # staged: waiting for its day fact or parts; current: the day's pull; replaced: a newer
    # pull took its place (rows deleted); stale: complete after a newer one (rows deleted).
    Column("status", String(16), server_default="staged", nullable=False),
    Column("swapped_at", _tz()),
    _received_at(),
    CheckConstraint(
        "status IN (" + ", ".join(f"'{s}'" for s in PULL_STATUSES) + ")", name="status"
    ),
    # The pulls of a day of a data type of a connection (which one replaces which).
    Index(
        "ix_ga4_pull_tenant_id_connection_id_data_type_day",
        "tenant_id",
        "connection_id",
        "data_type",
        "day",
    ),
)
ga4_pull_part = Table(
    "ga4_pull_part",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("pull_id", UUID(as_uuid=True), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("rows", Integer, nullable=False),
    _received_at(),
)
ga4_current_day = Table(
    "ga4_current_day",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("connection_id", UUID(as_uuid=True), primary_key=True),
    Column("data_type", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("pull_id", UUID(as_uuid=True), nullable=False),
    Column("pulled_at", _tz(), nullable=False),
    Column("swapped_at", _tz(), server_default=func.now(), nullable=False),
)


def ga4_row_table(name: str, *columns: Column[object]) -> Table:
    """Rows of GA4 pulls of one fact kind, by day (the property's), pull, part and position."""
    return Table(
        name,
        metadata,
        Column("tenant_id", UUID(as_uuid=True), primary_key=True),
        Column("day", Date, primary_key=True),
        Column("pull_id", UUID(as_uuid=True), primary_key=True),
        Column("part", Integer, primary_key=True),
        Column("row_number", Integer, primary_key=True),
        *columns,
        postgresql_partition_by="RANGE (day)",
    )


# Column kinds of GA4 rows: dimension text, metric numbers, the minute as a moment.
GA4_TEXT, GA4_NUMBER, GA4_TIME = "text", "number", "time"
_GA4_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    GA4_TEXT: Text,
    GA4_NUMBER: Numeric,
    GA4_TIME: _tz,
}
_KEYS = (
    ("event_time", GA4_TIME),
    ("session_id", GA4_TEXT),
    ("web_user_id", GA4_TEXT),
    ("branch_id", GA4_TEXT),
)
_ITEM = (("item_id", GA4_TEXT), ("item_name", GA4_TEXT))
# fact_kind -> (the built-in data type that makes it, its row's fields in order)
GA4_KINDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "page_view": (
        "page_views",
        (*_KEYS, ("page_location", GA4_TEXT), ("page_title", GA4_TEXT),
         ("screen_page_views", GA4_NUMBER)),
    ),
    "purchase": (
        "purchases",
        (*_KEYS, ("transaction_id", GA4_TEXT), ("page_location", GA4_TEXT),
         ("purchase_revenue", GA4_NUMBER), ("ecommerce_purchases", GA4_NUMBER)),
    ),
    "purchase_item": (
        "purchase_items",
        (*_KEYS, ("transaction_id", GA4_TEXT), *_ITEM, ("item_revenue", GA4_NUMBER),
         ("items_purchased", GA4_NUMBER)),
    ),
    "add_to_cart": (
        "add_to_cart",
        (*_KEYS, ("add_to_carts", GA4_NUMBER), ("event_value", GA4_NUMBER)),
    ),
    "add_to_cart_item": (
        "add_to_cart_items",
        (*_KEYS, *_ITEM, ("items_added_to_cart", GA4_NUMBER)),
    ),
    "view_item": ("item_views", (*_KEYS, *_ITEM, ("items_viewed", GA4_NUMBER))),
    "view_search_results": (
        "search_results",
        (*_KEYS, ("search_term", GA4_TEXT), ("event_count", GA4_NUMBER)),
    ),
    "no_search_results": (
        "failed_searches",
        (*_KEYS, ("search_term", GA4_TEXT), ("event_count", GA4_NUMBER)),
    ),
    "user_activity": (
        "users",
        (("web_user_id", GA4_TEXT), ("branch_id", GA4_TEXT), ("sessions", GA4_NUMBER),
         ("event_count", GA4_NUMBER)),
    ),
    "branch_activity": (
        "locations",
        (("branch_id", GA4_TEXT), ("active_users", GA4_NUMBER), ("sessions", GA4_NUMBER),
         ("screen_page_views", GA4_NUMBER)),
    ),
}  # fmt: skip
GA4_ROW_TABLES = {
    kind: ga4_row_table(f"ga4_{kind}", *(Column(n, _GA4_TYPES[t]()) for n, t in fields))
    for kind, (_, fields) in GA4_KINDS.items()
}
# Rows of the tenants' own data types (any fields), and of built-in kinds made otherwise.
ga4_row = ga4_row_table(
    "ga4_row",
    Column("fact_kind", String(64), nullable=False),
    Column("data", JSONB, nullable=False),
)


# --- marketing pipeline: runs and their reports (pipeline/) ----------------------------------

RUN_STATUSES = ("queued", "running", "completed", "failed")

pipeline_run = Table(
    "pipeline_run",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("run_id", UUID(as_uuid=True), primary_key=True),
    Column("status", String(16), server_default="queued", nullable=False),
    Column("trigger", String(16), nullable=False),  # api or schedule
    Column("requested_by", String(200), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("match_minutes", Integer, nullable=False),
    Column("amount_tolerance", Numeric(20, 6), nullable=False),
    Column("created_at", _tz(), server_default=func.now(), nullable=False),
    Column("started_at", _tz()),
    Column("finished_at", _tz()),
    # Milliseconds each report took, by name (known once completed).
    Column("timings", JSONB),
    Column("error", Text),
    CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in RUN_STATUSES) + ")", name="status"),
    Index("ix_pipeline_run_tenant_id_created_at", "tenant_id", "created_at"),
)
# A run's reports: the small ones as JSON text (the seed's shapes), kept as written; of the two with
# a row per purchase, the reconciliation's summary (its details and the curated purchases are
# blocks, below).
pipeline_report = Table(
    "pipeline_report",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("run_id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("rows", Integer, nullable=False),
    Column("body", Text),
)
PIPELINE_BLOCK_ROWS = 1000


def pipeline_block_table(
    name: str, arrays: dict[str, TypeEngine[Any]], *columns: Column[object]
) -> Table:
    """Rows of a run's report, a block of up to PIPELINE_BLOCK_ROWS per table row: one array per
    column, n the rows' places in the report (block b holds places b * 1000 + 1 to (b + 1) *
    1000, in any order). A thousand rows go in as one row and one index entry, which makes a
    million-row report cheap to write, and a page to read. The arrays are stored uncompressed
    (STORAGE EXTERNAL, set by the migration): pglz would triple the writing time."""
    return Table(
        name,
        metadata,
        Column("tenant_id", UUID(as_uuid=True), primary_key=True),
        Column("run_id", UUID(as_uuid=True), primary_key=True),
        Column("block", Integer, primary_key=True),
        *columns,
        Column("n", ARRAY(Integer), nullable=False),
        *(Column(column, ARRAY(type_), nullable=False) for column, type_ in arrays.items()),
    )


# purchases_curated, in time order: a block's first and last times let a time range skip the
# blocks outside it.
pipeline_purchase_block = pipeline_block_table(
    "pipeline_purchase_block",
    {
        "appsflyer_id": Text(),
        "event_time_utc": _tz(),
        "revenue_usd": Numeric(),
        "campaign": Text(),
        "receipt_id": Text(),
        "chargeback": Boolean(),
        "original_revenue_usd": Numeric(),
    },
    Column("first_time", _tz(), nullable=False),
    Column("last_time", _tz(), nullable=False),
)
pipeline_reconciliation_block = pipeline_block_table(
    "pipeline_reconciliation_block",
    {
        "status": Text(),
        "matched_by": Text(),
        "appsflyer_id": Text(),
        "campaign": Text(),
        "purchase_time": _tz(),
        "confirmed_time": _tz(),
        "purchase_revenue_usd": Numeric(),
        "confirmed_revenue_usd": Numeric(),
        "purchase_receipt_id": Text(),
        "confirmed_receipt_id": Text(),
        "seconds_apart": Numeric(),
        "amount_diff": Numeric(),
        "amount_mismatch": Boolean(),
        "chargeback": Boolean(),
    },
)


# --- indexes of the sales tasks and dashboards (sales/): a session's and a customer's rows -----

for _kind in (
    "page_view",
    "purchase",
    "purchase_item",
    "add_to_cart",
    "add_to_cart_item",
    "view_item",
    "view_search_results",
    "no_search_results",
):
    _rows = GA4_ROW_TABLES[_kind]
    Index(f"ix_ga4_{_kind}_tenant_id_session_id", _rows.c.tenant_id, _rows.c.session_id)
    Index(f"ix_ga4_{_kind}_tenant_id_web_user_id", _rows.c.tenant_id, _rows.c.web_user_id)
    # A branch's rows of a day (its daily report, its weekly summary, a task list of one branch)
    # without reading the other branches' rows of that day.
    Index(
        f"ix_ga4_{_kind}_tenant_id_branch_id_day",
        _rows.c.tenant_id,
        _rows.c.branch_id,
        _rows.c.day,
    )
# The current pulls of a data type (analytics.ga4_current_pulls), without the connection.
Index(
    "ix_ga4_current_day_tenant_id_data_type_day",
    ga4_current_day.c.tenant_id,
    ga4_current_day.c.data_type,
    ga4_current_day.c.day,
    ga4_current_day.c.pull_id,
)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# --- rollups of the current GA4 pulls (the dashboard reads them, not the rows) ---------------
# ga4_complete_pull keeps them in the swap's transaction (analytics.ga4_rollup): a day's rollup
# rows come from that day's current rows alone. scope says whose rows a rollup row counts: the
# whole tenant's ('tenant': every branch, and rows without one; branch_id ''), or a branch's.


def _scope(*scopes: str) -> tuple[Column[object], Column[object], CheckConstraint]:
    """The key columns scope and branch_id, and what they may hold."""
    return (
        Column("scope", String(16), primary_key=True),
        Column("branch_id", Text, primary_key=True),
        CheckConstraint(f"scope IN {_in(scopes)} AND (scope <> 'tenant' OR branch_id = '')",
                        name="scope"),
    )  # fmt: skip


# Page views, search results and failed searches per day: rows, distinct sessions, and the sum
# of the data type's count (screen_page_views, event_count).
ga4_day_total = Table(
    "ga4_day_total",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("data_type", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    *_scope("tenant", "branch"),
    Column("rows", BigInteger, nullable=False),
    Column("sessions", BigInteger, nullable=False),
    Column("event_count", Numeric),
)
# Per day and user: the sessions whose page views that day cover more than two distinct pages
# (repeat_visit_tasks' visits), the user being the session's latest known one that day.
ga4_visit_day = Table(
    "ga4_visit_day",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("day", Date, primary_key=True),
    *_scope("tenant", "branch"),
    Column("web_user_id", Text, primary_key=True),
    Column("visits", Integer, nullable=False),
)
VISITOR_KINDS = ("session", "user", "buyer")
# The days each session has page views, each user has page views (also per branch), each buying
# session has purchases: distinct counts over any range, and the sessions seen on several days,
# which the dashboard takes from their rows.
ga4_visitor_days = Table(
    "ga4_visitor_days",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("kind", String(16), primary_key=True),
    *_scope("tenant", "branch"),
    Column("visitor_id", Text, primary_key=True),
    Column("days", DATEMULTIRANGE, nullable=False),
    CheckConstraint(f"kind IN {_in(VISITOR_KINDS)}", name="kind"),
    Index("ix_ga4_visitor_days_tenant_id_kind_spanning", "tenant_id", "kind",
          postgresql_where=text("kind <> 'user' AND upper(days) - lower(days) > 1")),
    # A row left without days (its visitor's day was pulled again without it) is deleted at once.
    Index("ix_ga4_visitor_days_tenant_id_empty", "tenant_id",
          postgresql_where=text("isempty(days)")),
)  # fmt: skip
# Purchase rows per day, branch, session and transaction, revenue summed, keyed by the first row
# (event_time, part, row_number): what the dashboard merges exactly for the sessions buying on
# several days and the rows without a session, and where a cart's session finds its purchases.
ga4_purchase_piece = Table(
    "ga4_purchase_piece",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("pull_id", UUID(as_uuid=True), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("event_time", _tz()),
    Column("session_id", Text),
    Column("branch_id", Text),
    Column("transaction_id", Text),
    Column("revenue", Numeric),
    Index("ix_ga4_purchase_piece_tenant_id_session_id", "tenant_id", "session_id"),
)
# Per day: the transactions of sessions (purchase_tasks'), their revenue and buying sessions,
# of the tenant's or a branch's rows, or ('attributed') the transactions whose first row that
# day is the branch's, with all their rows.
ga4_sale_day = Table(
    "ga4_sale_day",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("day", Date, primary_key=True),
    *_scope("tenant", "branch", "attributed"),
    Column("purchases", BigInteger, nullable=False),
    Column("revenue", Numeric),
    Column("buying", BigInteger, nullable=False),
)
# Sessions with add-to-cart rows per day, and the branches of those rows.
ga4_cart_day = Table(
    "ga4_cart_day",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("session_id", Text, primary_key=True),
    Column("branch_ids", ARRAY(Text), nullable=False),
)


# --- reports by email (reports/): mappings, SMTP settings, send jobs and their deliveries -----


# A branch's daily report goes to these recipients (one mapping per branch).
email_mapping = Table(
    "email_mapping",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("mapping_id", UUID(as_uuid=True), primary_key=True),
    Column("branch_code", String(200), nullable=False),
    Column("recipients", ARRAY(String(320)), nullable=False),
    Column("enabled", Boolean, server_default="true", nullable=False),
    Column("created_at", _tz(), server_default=func.now(), nullable=False),
    Column("updated_at", _tz(), server_default=func.now(), nullable=False),
    Index("uq_email_mapping_tenant_id_branch_code", "tenant_id", "branch_code", unique=True),
)
SMTP_TLS_MODES = ("none", "starttls", "tls")
# The tenant's mail server; the password encrypted (SecretBox, the tenant id as context).
smtp_setting = Table(
    "smtp_setting",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("username", String(320)),
    Column("password_cipher", LargeBinary),
    Column("from_address", String(320), nullable=False),
    Column("tls_mode", String(16), nullable=False),
    Column("updated_at", _tz(), server_default=func.now(), nullable=False),
    CheckConstraint(f"tls_mode IN {_in(SMTP_TLS_MODES)}", name="tls_mode"),
)
REPORT_KINDS = ("daily_branch_report", "weekly_summary")
# When a kind of report is sent by itself: a cron expression read in an IANA time zone.
email_schedule = Table(
    "email_schedule",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("schedule_id", UUID(as_uuid=True), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("cron", String(100), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("enabled", Boolean, server_default="true", nullable=False),
    # None: every branch with an enabled mapping when it runs.
    Column("branch_codes", ARRAY(String(200))),
    Column("skip_when_empty", Boolean, server_default="true", nullable=False),
    # The next due time (None while disabled); the worker claims the rows past it.
    Column("next_run_at", _tz()),
    Column("last_run_at", _tz()),
    Column("last_job_id", UUID(as_uuid=True)),
    Column("created_at", _tz(), server_default=func.now(), nullable=False),
    Column("updated_at", _tz(), server_default=func.now(), nullable=False),
    CheckConstraint(f"kind IN {_in(REPORT_KINDS)}", name="kind"),
    Index("ix_email_schedule_next_run_at", "next_run_at"),
)
EMAIL_JOB_STATUSES = ("queued", "processing", "completed", "failed")
email_job = Table(
    "email_job",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("job_id", UUID(as_uuid=True), primary_key=True),
    Column("status", String(16), server_default="queued", nullable=False),
    Column("kind", String(32), server_default="daily_branch_report", nullable=False),
    # The report's day; a weekly summary's Monday.
    Column("report_date", Date, nullable=False),
    # None: every branch with an enabled mapping when the job runs.
    Column("branch_codes", ARRAY(String(200))),
    Column("skip_when_empty", Boolean, server_default="true", nullable=False),
    Column("requested_by", String(200), nullable=False),
    # A scheduled job's schedule and due time (one job per due time).
    Column("schedule_id", UUID(as_uuid=True)),
    Column("scheduled_for", _tz()),
    Column("attempts", Integer, server_default="0", nullable=False),
    Column("sent", Integer, server_default="0", nullable=False),
    Column("failed", Integer, server_default="0", nullable=False),
    Column("skipped", Integer, server_default="0", nullable=False),
    Column("error", Text),
    Column("created_at", _tz(), server_default=func.now(), nullable=False),
    Column("started_at", _tz()),
    Column("finished_at", _tz()),
    CheckConstraint(f"status IN {_in(EMAIL_JOB_STATUSES)}", name="status"),
    CheckConstraint(f"kind IN {_in(REPORT_KINDS)}", name="kind"),
    Index("ix_email_job_tenant_id_created_at", "tenant_id", "created_at"),
    Index(
        "uq_email_job_tenant_id_schedule_id_scheduled_for",
        "tenant_id",
        "schedule_id",
        "scheduled_for",
        unique=True,
    ),
)
DELIVERY_STATUSES = ("pending", "sent", "failed", "unsubscribed", "skipped")
# One row per (job, branch, recipient): a retry sends only what is ``pending``; a branch whose
# report is empty is ``skipped`` (when the job says so), the reason in ``error``.
email_delivery = Table(
    "email_delivery",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("job_id", UUID(as_uuid=True), primary_key=True),
    Column("branch_code", String(200), primary_key=True),
    Column("recipient", String(320), primary_key=True),
    Column("status", String(16), server_default="pending", nullable=False),
    Column("subject", String(500), nullable=False),
    Column("attempts", Integer, server_default="0", nullable=False),
    Column("error", Text),
    Column("sent_at", _tz()),
    Column("updated_at", _tz(), server_default=func.now(), nullable=False),
    CheckConstraint(f"status IN {_in(DELIVERY_STATUSES)}", name="status"),
    Index("ix_email_delivery_tenant_id_updated_at", "tenant_id", "updated_at"),
)
# Recipients who followed a report's signed unsubscribe link (lower-cased address).
email_unsubscribe = Table(
    "email_unsubscribe",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("created_at", _tz(), server_default=func.now(), nullable=False),
)


# --- momentum, value scores and alerts of tenants' daily series (signals/) --------------------

SERIES_KINDS = ("campaign_revenue", "campaign_installs", "branch_revenue", "item_views")
MOMENTUM_STATUSES = (
    "insufficient_data", "declining", "stable", "growing", "rapid_growth", "viral",
)  # fmt: skip
ALERT_KINDS = ("spike", "status_change")


def _score() -> Numeric:
    return Numeric(5, 2)


# A series' momentum (every 6 h) and value score (daily) as of a day: the last day its window
# holds. Each job writes its own columns; a day's row is rewritten while data for it comes in.
series_signal = Table(
    "series_signal",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("series_kind", String(32), primary_key=True),
    Column("series_key", Text, primary_key=True),
    Column("as_of", Date, primary_key=True),
    # Sums of the last 7 days, the 7 before and the 7 before those.
    Column("week_0", Numeric),
    Column("week_1", Numeric),
    Column("week_2", Numeric),
    Column("velocity", _score()),
    Column("acceleration", _score()),
    Column("consistency", _score()),
    Column("viral", _score()),
    Column("momentum_index", _score()),
    Column("momentum_status", String(20)),
    Column("momentum_at", _tz()),
    Column("window_total", Numeric),
    Column("active_days", Integer),
    Column("engagement", _score()),
    Column("growth", _score()),
    Column("reach", _score()),
    Column("conversion", _score()),
    Column("value_score", _score()),
    Column("scored_at", _tz()),
    CheckConstraint(f"series_kind IN {_in(SERIES_KINDS)}", name="series_kind"),
    CheckConstraint(f"momentum_status IN {_in(MOMENTUM_STATUSES)}", name="momentum_status"),
)
signal_alert = Table(
    "signal_alert",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("alert_id", UUID(as_uuid=True), primary_key=True),
    Column("series_kind", String(32), nullable=False),
    Column("series_key", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    # The point's day (a spike) or the momentum's as_of (a status change).
    Column("series_day", Date, nullable=False),
    Column("value", Numeric, nullable=False),
    Column("threshold", Numeric, nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("detected_at", _tz(), nullable=False),
    Column("acknowledged_at", _tz()),
    Column("acknowledged_by", String(200)),
    CheckConstraint(f"series_kind IN {_in(SERIES_KINDS)}", name="series_kind"),
    CheckConstraint(f"kind IN {_in(ALERT_KINDS)}", name="kind"),
    # The alerts of a series (the 24 h rule), and the tenant's newest first.
    Index(
        "ix_signal_alert_series_detected_at",
        "tenant_id",
        "series_kind",
        "series_key",
        "kind",
        "detected_at",
    ),
    Index("ix_signal_alert_tenant_id_detected_at", "tenant_id", "detected_at"),
)
