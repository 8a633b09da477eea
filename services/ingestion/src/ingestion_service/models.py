"""Tables of the ingestion schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

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
