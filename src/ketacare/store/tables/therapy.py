"""Integration therapy (issue 17): psychotherapy notes linked to the infusion they follow, their addenda, and
goals tracked across visits. Notes are private to their author unless shared with the care team."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, Base, UTCDateTime


class TherapyNote(Base):
    """One therapy visit's note (integration or preparation): structured fields, free text, risk check, sharing,
    and the author's signature (canonical digest) once signed; after signing it changes only by addenda."""

    __tablename__ = "therapy_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    author_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # integration | preparation
    session_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    visit_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    modality: Mapped[str | None] = mapped_column(String(24))
    themes: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    insights: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    coping_skills: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    homework: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    intentions: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    expectations: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    set_and_setting: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    safety_plan: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    narrative: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    risk: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # risk question -> answer
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    sharing: Mapped[str] = mapped_column(String(16))  # private | care_team
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_meaning: Mapped[str | None] = mapped_column(String(16))
    digest_sha256: Mapped[str | None] = mapped_column(String(64))
    canonical: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class TherapyNoteAddendum(Base):
    """A correction or addition to a signed note, by its author: never an edit; chained by digest."""

    __tablename__ = "therapy_note_addenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("therapy_notes.id"), index=True)
    text: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest_sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class TherapyGoal(Base):
    """A therapy goal for a patient, tracked across visits (status now; progress entries below)."""

    __tablename__ = "therapy_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    goal: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class TherapyGoalProgress(Base):
    """Progress on a goal at one visit: the status it moved to and what was seen (linked to the visit's note)."""

    __tablename__ = "therapy_goal_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("therapy_goals.id"), index=True)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_notes.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
