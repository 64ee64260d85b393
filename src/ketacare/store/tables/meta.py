"""Clinic-wide key/value facts about this database (e.g. whether the demo created it)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import Base


class ClinicMeta(Base):
    __tablename__ = "clinic_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
