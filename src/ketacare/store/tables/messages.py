"""Patient messages (issue 17 point 3): template versions, the message log (also the outbox) and opt-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import IDENTIFIER, Base, UTCDateTime


class MessageTemplateVersion(Base):
    """One saved version of a message template (version 0, the shipped wording, lives in the domain data)."""

    __tablename__ = "message_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_by_name: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MessageLog(Base):
    """One message to one patient: queued, sent, failed (tried again later) or skipped, with why.

    `dedupe_key` is unique: a reminder for one appointment time, or a change notice for one appointment version,
    exists once, so a sender run twice (or two senders) cannot send it twice."""

    __tablename__ = "message_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    kind: Mapped[str] = mapped_column(String(32))  # reminder | change | questionnaire
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int | None] = mapped_column(Integer)
    essential: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # queued | sending | sent | failed | skipped
    detail: Mapped[str | None] = mapped_column(Text)  # why skipped, or the last SMTP error
    previous_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    to_address: Mapped[str | None] = mapped_column(String(200), info=IDENTIFIER)
    subject: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_message_log_status_next", "status", "next_attempt_at"),)


class MessagePreference(Base):
    """A patient's choice about non-essential messages (no row: they receive them)."""

    __tablename__ = "message_preferences"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    opt_out_non_essential: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
