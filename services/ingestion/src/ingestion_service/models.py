"""Tables of the ingestion schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from common.db import BaseModel, schema_metadata
from common.outbox import outbox_table


class Base(BaseModel):
    __abstract__ = True
    metadata = schema_metadata("ingestion")


# Facts for the analytics warehouse, written beside the change they describe.
outbox = outbox_table(Base.metadata)


class Event(Base):
    """One event a game or game server sent (the gaming backend's POST /event)."""

    __tablename__ = "event"
    __table_args__ = (
        # Newest first per tenant, per event type, per player: the three ways events are read.
        Index("ix_event_tenant_id_ts", "tenant_id", "ts"),
        Index("ix_event_tenant_id_event_type_ts", "tenant_id", "event_type", "ts"),
        Index("ix_event_tenant_id_player_id_ts", "tenant_id", "player_id", "ts"),
        # A batch event's message_id is kept once per tenant (POST /data/events deduplicates).
        Index(
            "uq_event_tenant_id_message_id",
            "tenant_id",
            "message_id",
            unique=True,
            postgresql_where=text("message_id IS NOT NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The player it belongs to (player callers): Meridian's player id and the game's user id.
    player_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[str | None] = mapped_column(String(128))
    # Who sent it: "<kind>:<subject>" of the caller.
    sent_by: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    # The JSON text as the client sent it.
    meta: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The sender's id of a batch event (POST /data/events); none for POST /event.
    message_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IdempotencyKey(Base):
    """A client's Idempotency-Key and the first answer given to it, per tenant and caller."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        CheckConstraint("status IN ('in_flight', 'completed')", name="status"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    caller: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    # The body exactly as sent the first time (text, not jsonb: a replay is byte for byte).
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- customer records (the GA seed's users and locations) ------------------------------------


class CustomerUser(Base):
    """One of a tenant's customers (the GA seed's users; ``user`` is a reserved word)."""

    __tablename__ = "customer_user"
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    buying_company_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    cell_phone: Mapped[str | None] = mapped_column(String(64))
    office_phone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Branch(Base):
    """One of a tenant's branches (the GA seed's locations)."""

    __tablename__ = "branch"
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    branch_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- file uploads (the gaming backend's data/ folder) ----------------------------------------

UPLOAD_KINDS = (
    "purchases_raw",
    "confirmed_purchases",
    "costs_daily",
    "sessions",
    "users",
    "locations",
)


class Upload(Base):
    """One CSV file taken in: what it was, who sent it, and what became of its rows."""

    __tablename__ = "upload"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in UPLOAD_KINDS) + ")", name="kind"
        ),
        CheckConstraint("mode IN ('accept_valid', 'all_or_nothing')", name="mode"),
        CheckConstraint("status IN ('processing', 'completed', 'failed')", name="status"),
        Index("ix_upload_tenant_id_created_at", "tenant_id", "created_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(String(255))
    # Of the bytes received, known once the whole file is in.
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16))
    rows_total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_inserted: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_updated: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_duplicate: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_error: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_warning: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # The first row errors and warnings, [{line, reason}] (all of them are counted).
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSONB, server_default=text("'[]'"))
    warnings: Mapped[list[dict[str, object]]] = mapped_column(JSONB, server_default=text("'[]'"))
    failure: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class _UploadedRow:
    """Columns of a row taken in from an upload. The key is the tenant, a hash of the normalised
    row and how many identical rows came before it in its file: a re-upload or an overlapping
    export adds nothing, while identical rows inside one file are all kept."""

    # sort_order: the key and the row's origin come first in the table, before its fields.
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, sort_order=-5
    )
    row_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True, sort_order=-4)
    occurrence: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-3)
    # The upload that first brought the row, and its line there (the header is line 1).
    upload_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), sort_order=-2)
    line_number: Mapped[int] = mapped_column(Integer, sort_order=-1)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[object, ...]:
        return (CheckConstraint("occurrence >= 1", name="occurrence"),)


class _Purchase(_UploadedRow):
    appsflyer_id: Mapped[str] = mapped_column(String(200))
    event_name: Mapped[str] = mapped_column(String(100))
    event_time_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # None when the file's text is no number; the text is then kept in revenue_raw.
    revenue_usd: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    revenue_raw: Mapped[str | None] = mapped_column(String(200))
    campaign: Mapped[str | None] = mapped_column(String(500))
    receipt_id: Mapped[str | None] = mapped_column(String(200))


class PurchaseRaw(_Purchase, Base):
    """A row of purchases_raw.csv (AppsFlyer purchase events)."""

    __tablename__ = "purchase_raw"
    status: Mapped[str] = mapped_column(String(16), sort_order=1)


class PurchaseConfirmed(_Purchase, Base):
    """A row of confirmed_purchases.csv (the payment gateway's confirmations)."""

    __tablename__ = "purchase_confirmed"


class CostDaily(_UploadedRow, Base):
    """A row of costs_daily.csv (ad spend per campaign and day)."""

    __tablename__ = "cost_daily"
    cost_date: Mapped[date] = mapped_column(Date)
    campaign: Mapped[str] = mapped_column(String(500))
    ad_cost_usd: Mapped[Decimal] = mapped_column(Numeric(20, 6))


class SessionEvent(_UploadedRow, Base):
    """A row of sessions.csv (players' session events, for DAU)."""

    __tablename__ = "session_event"
    event_timestamp_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[str] = mapped_column(String(200))
    event_name: Mapped[str] = mapped_column(String(100))


# --- GA4 connections, data types, ingest jobs ----------------------------------------------


class GA4Connection(Base):
    """A tenant's GA4 property and the custom dimensions that carry its keys."""

    __tablename__ = "ga4_connection"
    __table_args__ = (
        UniqueConstraint("tenant_id", "property_id"),
        CheckConstraint(
            "status IN ('active', 'needs_reconsent', 'failing', 'disabled')", name="status"
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    property_id: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str | None] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    session_id_dimension: Mapped[str] = mapped_column(String(100))
    web_user_id_dimension: Mapped[str] = mapped_column(String(100))
    branch_id_dimension: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_tested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The property's quota as Google last reported it (returnPropertyQuota).
    quota: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportDefinition(Base):
    """A tenant's own GA4 data type (the built-in ones live in code)."""

    __tablename__ = "ga4_report_definition"
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(500))
    fact_kind: Mapped[str] = mapped_column(String(64))
    dimensions: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    metrics: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    dimension_filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IngestJob(Base):
    """A pull of GA4 data types over a date range for a tenant's connections (its progress is
    the sum of its days)."""

    __tablename__ = "ingest_job"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'cancelled')", name="status"
        ),
        Index("ix_ingest_job_tenant_id_created_at", "tenant_id", "created_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    data_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    connection_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Set while the job waits for Google's hourly or daily quota to come back.
    waiting_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IngestJobDay(Base):
    """One day of one data type of one connection within a job: the unit of a pull."""

    __tablename__ = "ingest_job_day"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed', 'cancelled')", name="status"),
    )
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    data_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    # rowCount as Google reported it on the first page; rows taken once the day is done.
    row_count: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, server_default="0")
    pages: Mapped[int] = mapped_column(Integer, server_default="0")
    quota_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    thresholded: Mapped[bool] = mapped_column(Boolean, server_default="false")
    other_row: Mapped[bool] = mapped_column(Boolean, server_default="false")
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PulledDay(Base):
    """The current pull of a day of a data type of a connection: what the warehouse holds."""

    __tablename__ = "ga4_pulled_day"
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    data_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    pull_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    rows: Mapped[int] = mapped_column(Integer)
    thresholded: Mapped[bool] = mapped_column(Boolean)
    other_row: Mapped[bool] = mapped_column(Boolean)
    pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
