"""Clinic-wide facts about this database (demo flag, setup, the clinic's name and address) and the health check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select, text

from ketacare.store.db import Database
from ketacare.store.migrate import current_revision, head_revision
from ketacare.store.tables import ClinicMeta, Patient


def get_meta(db: Database, key: str) -> str | None:
    """Return a clinic_meta value, or None."""
    with db.session() as s:
        row = s.get(ClinicMeta, key)
        return row.value if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    """Set a clinic_meta value."""
    with db.session() as s:
        row = s.get(ClinicMeta, key)
        if row is None:
            s.add(ClinicMeta(key=key, value=value))
        else:
            row.value = value


class ClinicIdentity(BaseModel):
    """Who the clinic is, as printed on records: name, address lines, phone, and its time zone (IANA name)."""

    name: str
    address: str = ""
    phone: str = ""
    timezone: str = "UTC"
    demo: bool = False


def patient_count(db: Database) -> int:
    """Return how many patients the database holds (for setup decisions, not shown to users)."""
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Patient)) or 0


class DatabaseHealth(BaseModel):
    """The database part of /healthz: reachable, and migrated to the revision this code expects."""

    status: Literal["ok", "needs_migration", "unavailable"]
    engine: str
    revision: str | None = None
    expected_revision: str | None = None
    error: str | None = Field(None, description="The kind of error when the database is unavailable")


def health(db: Database) -> DatabaseHealth:
    """Return the database status for /healthz (no patient data)."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        have, want = current_revision(db), head_revision(db)
        return DatabaseHealth(
            status="ok" if have == want else "needs_migration",
            engine=db.dialect,
            revision=have,
            expected_revision=want,
        )
    except Exception as e:  # noqa: BLE001 - health must report, not raise
        return DatabaseHealth(status="unavailable", engine=db.dialect, error=type(e).__name__)
