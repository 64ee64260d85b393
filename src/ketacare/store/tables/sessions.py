"""Infusion sessions (issue #7): the session, its audited transitions, pump events, vitals, alerts, side effects,
rescue doses, signatures and addenda. Times are aware UTC; units are in the column names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, Base, UTCDateTime


class InfusionSession(Base):
    """One treatment session in a chair: state, pre-check confirmations and discharge assessments."""

    __tablename__ = "infusion_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    chair: Mapped[str] = mapped_column(String(40))
    product: Mapped[str] = mapped_column(String(32))  # racemic_ketamine | esketamine
    state: Mapped[str] = mapped_column(String(24), index=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    prechecks_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    infusion_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    infusion_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    aborted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    abort_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    dose_order_id: Mapped[int | None] = mapped_column(ForeignKey("dose_orders.id"))
    planned_dose_mg: Mapped[float | None] = mapped_column(Float)
    planned_duration_min: Mapped[float | None] = mapped_column(Float)
    concentration_mg_per_ml: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    consent_confirmed: Mapped[bool | None] = mapped_column(Boolean)  # None: not answered yet
    last_food_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_liquid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escort_confirmed: Mapped[bool | None] = mapped_column(Boolean)  # None: not answered yet
    escort_present: Mapped[bool | None] = mapped_column(Boolean)  # None: not answered yet
    pregnancy_test_applicable: Mapped[bool | None] = mapped_column(Boolean)
    pregnancy_test_negative: Mapped[bool | None] = mapped_column(Boolean)
    aldrete_score: Mapped[int | None] = mapped_column(Integer)
    # nurse's entry: modified Aldrete gave full points (2) for both respiration and SpO2
    aldrete_respiration_spo2_full: Mapped[bool | None] = mapped_column(Boolean)
    dissociation_occurred: Mapped[bool | None] = mapped_column(Boolean)
    dissociation_resolved: Mapped[bool | None] = mapped_column(Boolean)  # None: not answered yet
    sedation_occurred: Mapped[bool | None] = mapped_column(Boolean)
    sedation_resolved: Mapped[bool | None] = mapped_column(Boolean)  # None: not answered yet
    respiratory_depression_occurred: Mapped[bool | None] = mapped_column(Boolean)
    respiratory_depression_resolved: Mapped[bool | None] = mapped_column(Boolean)
    lot_number: Mapped[str | None] = mapped_column(String(64))
    could_have_left_min: Mapped[float | None] = mapped_column(Float)
    # Esketamine REMS Patient Monitoring Form: patient information and concomitant medications (yes/no).
    rems_enrolled: Mapped[bool | None] = mapped_column(Boolean)
    rems_first_treatment: Mapped[bool | None] = mapped_column(Boolean)
    concomitant_benzodiazepines: Mapped[bool | None] = mapped_column(Boolean)
    concomitant_non_benzodiazepine_hypnotics: Mapped[bool | None] = mapped_column(Boolean)
    concomitant_psychostimulants: Mapped[bool | None] = mapped_column(Boolean)
    concomitant_maois: Mapped[bool | None] = mapped_column(Boolean)
    concomitant_opioids: Mapped[bool | None] = mapped_column(Boolean)
    # Written discharge instructions given to the patient and escort (issue 12 point 8): None until answered.
    discharge_instructions_given: Mapped[bool | None] = mapped_column(Boolean)
    # What satisfied each discharge check, who and when, as it stood at discharge (record format 2).
    discharge_checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class SessionTransition(Base):
    """Every state-machine event tried on a session: who, role, from/to, failed guards, overrides with reasons."""

    __tablename__ = "session_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    allowed: Mapped[bool] = mapped_column(Boolean)
    failed_guards: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class InfusionEventRow(Base):
    """A pump event: start, rate_change, pause, resume, stop, bolus (rate mL/h or mg/min; bolus mg or mL)."""

    __tablename__ = "infusion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    rate_ml_per_h: Mapped[float | None] = mapped_column(Float)
    rate_mg_per_min: Mapped[float | None] = mapped_column(Float)
    concentration_mg_per_ml: Mapped[float | None] = mapped_column(Float)
    bolus_mg: Mapped[float | None] = mapped_column(Float)
    bolus_ml: Mapped[float | None] = mapped_column(Float)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VitalSign(Base):
    """One set of vitals (any may be missing): device time and received time; idempotent per reading key
    (session, source, device, client id). A reading sent again under a stored key with other values is kept as a
    conflict (`conflict_of` names the reading it disagrees with), never discarded.

    `session_id` is null for readings outside a session (e.g. the eligibility screening BP, context=screening).
    """

    __tablename__ = "vital_signs"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_sessions.id"))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sbp_mmhg: Mapped[float | None] = mapped_column(Float)
    dbp_mmhg: Mapped[float | None] = mapped_column(Float)
    hr_per_min: Mapped[float | None] = mapped_column(Float)
    spo2_pct: Mapped[float | None] = mapped_column(Float)
    rr_per_min: Mapped[float | None] = mapped_column(Float)
    temp_c: Mapped[float | None] = mapped_column(Float)
    on_oxygen: Mapped[bool | None] = mapped_column(Boolean)  # None: not stated (e.g. a monitor gateway)
    context: Mapped[str] = mapped_column(String(16))  # screening|baseline|during|recovery|other
    source: Mapped[str] = mapped_column(String(16))  # nurse|gateway
    client_id: Mapped[str | None] = mapped_column(String(100))
    device_id: Mapped[str] = mapped_column(String(100), server_default="")  # "" when the sender names no device
    conflict_of: Mapped[int | None] = mapped_column(ForeignKey("vital_signs.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Entered in error: kept (with its reason in record_revisions) but left out of charts and alert display.
    entered_in_error: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index(
            "uq_vital_signs_reading_key",
            "session_id",
            "source",
            "device_id",
            "client_id",
            unique=True,
            sqlite_where=text("conflict_of IS NULL"),
            postgresql_where=text("conflict_of IS NULL"),
        ),
        Index("ix_vital_signs_session_measured", "session_id", "measured_at"),
        Index("ix_vital_signs_patient_context", "patient_id", "context", "measured_at"),
    )


class SessionAlert(Base):
    """An alert raised by a rule: priority (high/medium/low), advised action, acknowledgement, resolution."""

    __tablename__ = "session_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    advice: Mapped[str] = mapped_column(Text)
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_by_name: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action_taken: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the alarm closed
    resolution: Mapped[str | None] = mapped_column(Text)  # why it closed
    # Alarm lifecycle (issue 12): one row per alarm of a condition group, following its conditions.
    condition_key: Mapped[str | None] = mapped_column(String(96))  # the engine's id of the present condition
    condition_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # condition over (latched: still open)
    clear_reason: Mapped[str | None] = mapped_column(Text)
    peak_rule_id: Mapped[str | None] = mapped_column(String(64))
    peak_rank: Mapped[int | None] = mapped_column(Integer)
    peak_priority: Mapped[str | None] = mapped_column(String(8))
    peak_title: Mapped[str | None] = mapped_column(String(200))
    latching: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    needs_ack_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reraised: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    acknowledgements: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list, info=FREE_TEXT)
    events: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_session_alerts_open", "session_id", "resolved_at"),)


class SideEffectRow(Base):
    """A side effect with a CTCAE-like grade 1-5, onset and resolution."""

    __tablename__ = "side_effects"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    grade: Mapped[int] = mapped_column(Integer)
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    description: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)  # how it resolved (issue #12)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RescueGivenRow(Base):
    """A rescue medication dose from the clinic formulary (checked against the clinic's own limits)."""

    __tablename__ = "rescue_given"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    entry_id: Mapped[str] = mapped_column(String(64))
    drug: Mapped[str] = mapped_column(String(100))
    dose_mg: Mapped[float] = mapped_column(Float)
    route: Mapped[str] = mapped_column(String(16))
    indication: Mapped[str] = mapped_column(String(32))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    given_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    given_by_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    side_effect_id: Mapped[int | None] = mapped_column(ForeignKey("side_effects.id"))  # what it treated


class SessionConfirmation(Base):
    """One answer to a pre-check or discharge question (field, value, who, role, when), in the order given."""

    __tablename__ = "session_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SessionSignature(Base):
    """A signature over the canonical session record: role, user, SHA-256 of the canonical JSON, time."""

    __tablename__ = "session_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(100))
    digest_sha256: Mapped[str] = mapped_column(String(64))
    canonical: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    meaning: Mapped[str | None] = mapped_column(String(16))  # what the signature means (signatures.toml)

    __table_args__ = (UniqueConstraint("session_id", "role", name="uq_session_signatures_session_role"),)


class SessionAddendum(Base):
    """A later change to a signed record: never an edit; chained by digest to the signed record."""

    __tablename__ = "session_addenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    text: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(24))
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest_sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RescueFormularyEntry(Base):
    """A rescue medicine the clinic allows (issue #12): drug, route, single-dose range, per-session limits, who
    approved it and the source. Doses stored in mg; `dose_unit` is how the clinic writes them. Retired entries
    are kept (retired_at set) so that past rescue doses still name the entry they were checked against."""

    __tablename__ = "rescue_formulary_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    drug: Mapped[str] = mapped_column(String(100))
    route: Mapped[str] = mapped_column(String(16))
    indications: Mapped[list[str]] = mapped_column(JSON, default=list)
    dose_unit: Mapped[str] = mapped_column(String(16))
    min_dose_mg: Mapped[float] = mapped_column(Float)
    max_dose_mg: Mapped[float] = mapped_column(Float)
    max_doses_per_session: Mapped[int] = mapped_column(Integer)
    max_total_mg_per_session: Mapped[float | None] = mapped_column(Float)
    approved_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_by_name: Mapped[str | None] = mapped_column(String(100))
    retire_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_name: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
