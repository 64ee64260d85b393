"""Measurement-based care: questionnaire responses with every item answer, one-time links, reminders, alerts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, IDENTIFIER, Base, UTCDateTime

CONTEXTS = (
    "baseline",
    "pre_session",
    "during_session",
    "post_session",
    "follow_up_24h",
    "follow_up_7d",
    "follow_up",
)


class QuestionnaireResponse(Base):
    """One completed (or partly completed) questionnaire; the score is recomputed from its item answers."""

    __tablename__ = "questionnaire_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    instrument_id: Mapped[str] = mapped_column(String(32))
    instrument_version: Mapped[str] = mapped_column(String(16))
    context: Mapped[str] = mapped_column(String(24))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    answered_by_role: Mapped[str] = mapped_column(String(16))
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    total: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str | None] = mapped_column(String(40))
    flags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of flag ids
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Entered in error: kept (reason in record_revisions) but left out of trends, due lists and outcomes.
    entered_in_error: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("ix_questionnaire_responses_patient_instrument", "patient_id", "instrument_id", "answered_at"),
    )


class QuestionnaireItemAnswer(Base):
    """One item's answer (None when left unanswered), in the instrument's own values."""

    __tablename__ = "questionnaire_item_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_responses.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    # A safety item the patient chose "prefer not to answer" for (value None): flags the clinician.
    declined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class QuestionnaireLinkUse(Base):
    """A one-time questionnaire link that has been used (its nonce); a second use is refused."""

    __tablename__ = "questionnaire_link_uses"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[date] = mapped_column(Date)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire_responses.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReminderOutbox(Base):
    """One reminder email for one due questionnaire (at most three per due item), and whether it went out."""

    __tablename__ = "reminder_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    due_key: Mapped[str] = mapped_column(String(120))
    instrument_id: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer)
    to_address: Mapped[str] = mapped_column(String(200), info=IDENTIFIER)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # queued | sent | failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_reminder_outbox_patient_due", "patient_id", "due_key"),)


class SafetyAlert(Base):
    """An urgent alert for the patient's primary clinician, open until acknowledged with a documented action."""

    __tablename__ = "safety_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire_responses.id"))
    kind: Mapped[str] = mapped_column(String(32))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action_taken: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
