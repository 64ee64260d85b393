"""The patient record: demographics, body measurements, diagnoses, medications, allergies, prior trials."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, IDENTIFIER, Base, UTCDateTime, sortable_text


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(sortable_text(32), unique=True, info=IDENTIFIER)
    given_name: Mapped[str] = mapped_column(String(100), info=IDENTIFIER)
    family_name: Mapped[str] = mapped_column(String(100), info=IDENTIFIER)
    # Lower-cased, accent-free copies for prefix search (C collation on PostgreSQL so a range scan uses the index).
    given_name_norm: Mapped[str] = mapped_column(sortable_text(100))
    family_name_norm: Mapped[str] = mapped_column(sortable_text(100))
    date_of_birth: Mapped[date] = mapped_column(Date, info=DATE_PHI)
    sex_at_birth: Mapped[str] = mapped_column(String(16))
    gender_identity: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40), info=IDENTIFIER)
    email: Mapped[str | None] = mapped_column(String(200), info=IDENTIFIER)
    address: Mapped[str | None] = mapped_column(Text, info=IDENTIFIER)
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200), info=IDENTIFIER)
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(40), info=IDENTIFIER)
    escort_name: Mapped[str | None] = mapped_column(String(200), info=IDENTIFIER)
    escort_phone: Mapped[str | None] = mapped_column(String(40), info=IDENTIFIER)
    primary_clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_patients_family_name_norm", "family_name_norm", "given_name_norm"),
        Index("ix_patients_given_name_norm", "given_name_norm"),
        Index("ix_patients_date_of_birth", "date_of_birth"),
    )


class BodyMeasurement(Base):
    """One dated weight and/or height, stored in SI (kg, cm)."""

    __tablename__ = "body_measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    entered_as: Mapped[str | None] = mapped_column(String(40))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entered_in_error: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Diagnosis(Base):
    """A coded diagnosis from the shipped code list (ICD-10-CM and ICD-11 together)."""

    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    concept: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(200))
    icd10cm: Mapped[str | None] = mapped_column(String(16))
    icd11: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")  # ... or "entered_in_error"
    onset_date: Mapped[date | None] = mapped_column(Date, info=DATE_PHI)
    note: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Medication(Base):
    """A current (or stopped) medication with its dose as entered: value, unit, times per day."""

    __tablename__ = "medications"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    dose_value: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(16))
    times_per_day: Mapped[float | None] = mapped_column(Float)
    as_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    route: Mapped[str] = mapped_column(String(32), default="oral")
    start_date: Mapped[date | None] = mapped_column(Date, info=DATE_PHI)
    end_date: Mapped[date | None] = mapped_column(Date, info=DATE_PHI)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    entered_in_error: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Allergy(Base):
    __tablename__ = "allergies"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    substance: Mapped[str] = mapped_column(String(120))
    reaction: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16), default="unknown")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class TreatmentTrial(Base):
    """A prior treatment trial: a medication or a psychotherapy, its dose or sessions, duration and outcome."""

    __tablename__ = "treatment_trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    dose_mg_per_day: Mapped[float | None] = mapped_column(Float)
    sessions: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date | None] = mapped_column(Date, info=DATE_PHI)
    end_date: Mapped[date | None] = mapped_column(Date, info=DATE_PHI)
    weeks: Mapped[float | None] = mapped_column(Float)
    adherence: Mapped[str] = mapped_column(String(16), default="unknown")
    outcome: Mapped[str] = mapped_column(String(24), default="unknown")
    reason_stopped: Mapped[str | None] = mapped_column(String(200), info=FREE_TEXT)
    note: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    entered_in_error: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class RecordRevision(Base):
    """One correction of a clinical entry: what it was before, what was done, why, by whom and when.

    Entries are never deleted: an edit, a stop, a dose change or "entered in error" adds a row here holding the
    entry as it was (`before`) and as it became (`after`), so the history of every version can be shown.
    """

    __tablename__ = "record_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    entity: Mapped[str] = mapped_column(String(32))  # diagnosis | medication | allergy | trial | measurement | ...
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24))  # edit | stop | change_dose | entered_in_error
    reason: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    before: Mapped[dict[str, object]] = mapped_column(JSON)
    after: Mapped[dict[str, object]] = mapped_column(JSON)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_record_revisions_entity", "entity", "entity_id", "changed_at"),)


class CareTeamMember(Base):
    """One clinician on a patient's care team, in one team role (prescriber, nurse, therapist)."""

    __tablename__ = "care_team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_role: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("patient_id", "user_id", "team_role", name="uq_care_team_members_member"),)
