"""Eligibility screening (issue #5): stored evaluations with their prescriber review, and screening answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import FREE_TEXT, Base, UTCDateTime


class EligibilityEvaluation(Base):
    """One evaluation of a patient's screening facts, as the rule engine decided it, and its review.

    status: pending_review -> accepted | overridden; any of these -> superseded when a newer evaluation is stored.
    """

    __tablename__ = "eligibility_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    evaluated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule_set: Mapped[str] = mapped_column(String(32))
    rule_set_version: Mapped[str] = mapped_column(String(32))
    catalogue_version: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(32))
    # Evaluation.to_dict() without "facts" (findings, missing, treatment_resistance, versions, settings),
    # plus "record_sources" (where each fact came from) and "diff" (against the previous stored evaluation).
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)  # facts_to_dict(): the facts this decision used
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("eligibility_evaluations.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending_review")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_meaning: Mapped[str | None] = mapped_column(String(16))  # what the signature means (signatures.toml)
    override_decision: Mapped[str | None] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_eligibility_evaluations_patient_at", "patient_id", "evaluated_at"),)


class ScreeningAnswer(Base):
    """One screening fact the chart has no other place for (pregnancy, substance use, ...): latest one wins."""

    __tablename__ = "screening_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    fact: Mapped[str] = mapped_column(String(48))
    value: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_screening_answers_patient_fact", "patient_id", "fact", "recorded_at"),)
