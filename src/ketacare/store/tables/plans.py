"""Treatment course (issue 16). Course safety (point 7): pregnancy-test applicability, pregnancy tests, urine
toxicology and misuse checklists, one row per recorded result (PUF totals are questionnaire responses)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import FREE_TEXT, Base, UTCDateTime


class CourseSafetyRecord(Base):
    """One course-safety result as a clinician recorded it.

    kind: "pregnancy_applicability" (applicable + reason), "pregnancy_test" (result + method), "toxicology"
    (result + method, substances in `note`), "misuse_check" (`signs`: ids of the clinic's checklist signs seen).
    `taken_at` is when the sample was taken or the check done; the newest row of a kind counts.
    """

    __tablename__ = "course_safety_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(32))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(32))
    applicable: Mapped[bool | None] = mapped_column(Boolean)
    signs: Mapped[list[str] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_course_safety_records_patient_kind", "patient_id", "kind", "taken_at"),)
