"""Treatment course (issue 16), kept together per feature. Individual plans: `treatment_plans`, their signed
versions `plan_versions` and the titration proposals with the prescriber's decision `titration_proposals`.
Follow-up and discharge instructions: the next-day call after each dosing session, the clinic's versioned
discharge instructions and the patient's and escort's acknowledgement at discharge. Informed consent signatures
`consent_signatures`. Course safety (point 7): `course_safety_records`, one row per recorded result (pregnancy-test
applicability, pregnancy tests, urine toxicology, misuse checklists; PUF totals are questionnaire responses).
Times are aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, IDENTIFIER, Base, UTCDateTime


class TreatmentPlan(Base):
    """A patient's individual plan from a template. status: draft -> active -> maintenance; any -> stopped."""

    __tablename__ = "treatment_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(16))  # digest of the template file used
    indication: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(16))
    protocol_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    stop_kind: Mapped[str | None] = mapped_column(String(24))  # a stop rule kind of the template
    stop_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class PlanVersion(Base):
    """One signed version of a plan: the template with the individual changes, and why."""

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plans.id"))
    number: Mapped[int] = mapped_column(Integer)
    # doses, phases (sessions, interval), goals (target scores on instruments), assessment schedule
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list
    )  # what differs from the last one
    reason: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_by_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_meaning: Mapped[str] = mapped_column(String(16))
    reauthenticated_by: Mapped[str] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_plan_versions_plan_number"),)


class TitrationProposal(Base):
    """What the titration advisor proposed from the course so far, and the prescriber's decision.

    status: pending -> accepted | edited | rejected; pending -> superseded when a newer proposal is made."""

    __tablename__ = "titration_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plans.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sessions_used: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # baseline, history and limits the advisor was given
    kind: Mapped[str] = mapped_column(String(16))  # escalate | hold | reduce | stop | review
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    interval_days: Mapped[float | None] = mapped_column(Float)
    response: Mapped[str] = mapped_column(String(16))
    change_pct: Mapped[float | None] = mapped_column(Float)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    cautions: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence_note: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_meaning: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    decided_dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    decided_interval_days: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_titration_proposals_plan", "plan_id", "created_at"),)


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
    __table_args__ = (
        UniqueConstraint("session_id", "party", name="uq_discharge_acknowledgements_session_party"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    party: Mapped[str] = mapped_column(String(16))  # patient | escort
    name: Mapped[str] = mapped_column(String(200), info=IDENTIFIER)
    instructions_version: Mapped[int] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_username: Mapped[str] = mapped_column(String(64))


# --- informed consent (issue 16 point 1) ------------------------------------------------------------------------


class ConsentSignature(Base):
    """A patient's signature of one version of a consent document, its witness, the prescriber's countersignature
    (re-authenticated, with its meaning) and any withdrawal. Rows are never deleted; a new signature supersedes."""

    __tablename__ = "consent_signatures"
    __table_args__ = (Index("ix_consent_signatures_patient_signed", "patient_id", "signed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(16))
    document_sha256: Mapped[str] = mapped_column(String(64))  # of the text the patient read
    routes: Mapped[list[str]] = mapped_column(JSON)  # the routes the signed document covers
    indication: Mapped[str | None] = mapped_column(
        String(32)
    )  # gad | social-anxiety | panic | ptsd, if given
    typed_name: Mapped[str] = mapped_column(String(200), info=IDENTIFIER)
    signature_kind: Mapped[str] = mapped_column(String(8))  # drawn | click
    signature_svg_path: Mapped[str | None] = mapped_column(Text)  # drawn strokes as SVG path data (M/L, px)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    signed_via: Mapped[str] = mapped_column(String(16))  # portal | clinic_tablet
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the account at the keyboard
    witnessed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # staff on a clinic tablet
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    countersigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    countersigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    countersign_meaning: Mapped[str | None] = mapped_column(String(16))  # signatures.toml meaning
    countersign_method: Mapped[str | None] = mapped_column(String(16))  # password | totp
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    withdrawn_recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


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
