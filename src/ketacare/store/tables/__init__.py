"""Typed SQLAlchemy tables; importing this package registers every table on `Base.metadata`."""

from ketacare.store.tables.access import AuthSession, LoginNotice, LoginThrottle, User
from ketacare.store.tables.audit import AuditChainHead, AuditEvent
from ketacare.store.tables.base import Base
from ketacare.store.tables.meta import ClinicMeta
from ketacare.store.tables.patients import (
    Allergy,
    BodyMeasurement,
    CareTeamMember,
    Diagnosis,
    Medication,
    Patient,
    RecordRevision,
    TreatmentTrial,
)


def _import_all() -> None:
    """Import every table module so that each registers on Base.metadata (new modules need no edit here)."""
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = [
    "Allergy",
    "AuditChainHead",
    "AuditEvent",
    "AuthSession",
    "LoginNotice",
    "Base",
    "BodyMeasurement",
    "CareTeamMember",
    "ClinicMeta",
    "Diagnosis",
    "LoginThrottle",
    "Medication",
    "Patient",
    "RecordRevision",
    "TreatmentTrial",
    "User",
]
