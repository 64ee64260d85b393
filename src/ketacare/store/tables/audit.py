"""The append-only, hash-chained audit trail of semantic events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of `hash` with the audit key kept outside the database; NULL before revision 0013.
    seal: Mapped[str | None] = mapped_column(String(64))
    # The stripe (chain) the event belongs to and its place in it from 1; `prev_hash` is the previous event's
    # hash in the same stripe. `seq` is unique and ordered within a stripe, but not dense across stripes.
    stripe: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    stripe_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        Index("ix_audit_events_patient_id_seq", "patient_id", "seq"),
        Index("ix_audit_events_actor_username_seq", "actor_username", "seq"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ux_audit_events_stripe_stripe_seq", "stripe", "stripe_seq", unique=True),
    )


class AuditChainHead(Base):
    """The newest event of one stripe of the chain (row id = stripe), updated with every append to it.

    An appender locks one free stripe row (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, which has 32
    stripes; SQLite has stripe 1 only), so a stripe never forks and concurrent appenders never wait for each
    other; verification compares each row with its stripe's newest event, so events removed from the end of a
    stripe are detected too.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
