"""Typed SQLAlchemy tables; importing this package registers every table on `Base.metadata`."""

from ketacare.store.tables.audit import AuditEvent
from ketacare.store.tables.base import Base
from ketacare.store.tables.meta import ClinicMeta
from ketacare.store.tables.patients import (
    Allergy,
    BodyMeasurement,
    Diagnosis,
    Medication,
    Patient,
    TreatmentTrial,
)
from ketacare.store.tables.users import AuthSession, LoginThrottle, User

__all__ = [
    "Allergy",
    "AuditEvent",
    "AuthSession",
    "Base",
    "BodyMeasurement",
    "ClinicMeta",
    "Diagnosis",
    "LoginThrottle",
    "Medication",
    "Patient",
    "TreatmentTrial",
    "User",
]
