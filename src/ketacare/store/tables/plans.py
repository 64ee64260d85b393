"""Treatment course (issue 16). Kept together per feature: others add their own tables below.

Follow-up and discharge instructions (point 5 and 6): the next-day call after each dosing session, the clinic's
versioned discharge instructions and the patient's and escort's acknowledgement at discharge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import FREE_TEXT, IDENTIFIER, Base, UTCDateTime


class FollowupCall(Base):
    """One next-day call attempt after a session: not reached, or completed with every answer of the call form."""

    __tablename__ = "followup_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # completed | not_reached
    form_version: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    risk_items: Mapped[list[str]] = mapped_column(JSON)
    concern_items: Mapped[list[str]] = mapped_column(JSON)
    safety_alert_id: Mapped[int | None] = mapped_column(ForeignKey("safety_alerts.id"))
    notes: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_username: Mapped[str] = mapped_column(String(64))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DischargeInstructionsVersion(Base):
    """One saved version of the clinic's discharge instructions (version 0, the shipped text, is not stored)."""

    __tablename__ = "discharge_instruction_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_by_name: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DischargeAcknowledgement(Base):
    """The patient or the escort acknowledged the discharge instructions (which version, typed name, when)."""

    __tablename__ = "discharge_acknowledgements"
    __table_args__ = (UniqueConstraint("session_id", "party", name="uq_discharge_acknowledgements_session_party"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    party: Mapped[str] = mapped_column(String(16))  # patient | escort
    name: Mapped[str] = mapped_column(String(200), info=IDENTIFIER)
    instructions_version: Mapped[int] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_username: Mapped[str] = mapped_column(String(64))
