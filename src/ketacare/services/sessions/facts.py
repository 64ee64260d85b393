"""Assemble the facts the session guards read, from this module's tables and from other capabilities.

Other capabilities are looked up lazily: dose orders (issue #6, `services.dose_orders.usable_order`),
questionnaires (issue #4, `services.measurement.responses_for_session`) and eligibility evaluations (issue #5).
When a module or its table is not present yet, the fact is ABSENT (its guard fails) and a note names what is
missing; it is never treated as passed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from ketacare.domain.sessions import SessionFacts, VitalSigns
from ketacare.domain.sessions.assessments import (
    discharge_criteria,
    dissociation_resolved,
    sedation_resolved,
)
from ketacare.domain.sessions.session import default_session_rules
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import InfusionSession, SessionAlert, VitalSign

ANXIETY_SCALES = frozenset({"gad7", "oasis", "hama", "pdss_sr", "mini_spin", "pcl5"})
CSSRS = "cssrs_screen"
PRE_SESSION_CONTEXTS = frozenset({"pre_session", "pre-session", "presession", "baseline"})


@dataclass
class FactsReport:
    """The guard facts plus, per guard id, a note on why a fact is absent (module not installed, ...)."""

    facts: SessionFacts
    notes: dict[str, str] = field(default_factory=dict)
    order: dict[str, Any] | None = None
    # discharge guard id -> what satisfied it: an instrument result or the nurse's confirmation
    evidence: dict[str, str] = field(default_factory=dict)


def _optional(module: str, name: str):
    """Return `module.name` or None when that capability is not installed on this branch yet."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def _call_safely(s: Session, fn, *args) -> tuple[bool, Any]:
    """Call another capability's reader in a savepoint; (False, error) when its table is not there yet."""
    try:
        with s.begin_nested():
            return True, fn(s, *args)
    except (OperationalError, ProgrammingError) as e:
        return False, e


def vitals_of(row: VitalSign | None) -> VitalSigns | None:
    """Return a stored reading as domain VitalSigns (None when there is no row)."""
    if row is None:
        return None
    return VitalSigns(
        sbp=row.sbp_mmhg, dbp=row.dbp_mmhg, hr=row.hr_per_min, spo2=row.spo2_pct, rr=row.rr_per_min
    )


def baseline_row(s: Session, sess: InfusionSession) -> VitalSign | None:
    """Return the latest baseline reading of this session (context=baseline)."""
    return s.scalars(
        select(VitalSign)
        .where(VitalSign.session_id == sess.id, VitalSign.context == "baseline")
        .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc())
        .limit(1)
    ).first()


def _current_row(s: Session, sess: InfusionSession) -> VitalSign | None:
    return s.scalars(
        select(VitalSign)
        .where(VitalSign.session_id == sess.id, VitalSign.context.in_(("during", "recovery")))
        .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc())
        .limit(1)
    ).first()


def _latest_of(s: Session, sess: InfusionSession, column) -> VitalSign | None:
    """Return the session's newest charted reading (during or after the infusion) that has `column`."""
    return s.scalars(
        select(VitalSign)
        .where(
            VitalSign.session_id == sess.id,
            VitalSign.context.in_(("during", "recovery")),
            column.is_not(None),
        )
        .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc())
        .limit(1)
    ).first()


def _age(row: VitalSign | None, now: datetime) -> float | None:
    """Return how old a reading is in minutes (0 for a reading dated a little ahead of this clock)."""
    return None if row is None else max(0.0, (now - row.measured_at).total_seconds() / 60.0)


def _order_facts(s: Session, sess: InfusionSession, report: FactsReport) -> tuple[bool, bool]:
    usable_order = _optional("ketacare.services.dosing.orders", "usable_order")
    if usable_order is None:
        note = "dose orders (issue #6) are not installed yet, so no signed order can be found"
        report.notes["dose_order_signed"] = report.notes["dose_order_double_checked"] = note
        return False, False
    ok, order = _call_safely(s, usable_order, sess.patient_id)
    if not ok:
        note = "the dose_orders table is not present in this database yet"
        report.notes["dose_order_signed"] = report.notes["dose_order_double_checked"] = note
        return False, False
    if order is None:
        report.notes["dose_order_signed"] = "no usable (signed, double-checked, current) dose order"
        return False, False
    if sess.dose_order_id is not None and _get(order, "id") not in (None, sess.dose_order_id):
        report.notes["dose_order_signed"] = (
            f"the usable order is #{_get(order, 'id')}, not the order #{sess.dose_order_id} on this session"
        )
        return False, False
    signed = _get(order, "signed_at", "signed")
    checked = _get(order, "double_checked_at", "double_checked")
    report.order = {
        "id": _get(order, "id"),
        "dose_mg": _get(order, "dose_mg"),
        "concentration_mg_per_ml": _get(order, "final_concentration_mg_per_ml", "concentration_mg_per_ml"),
        "duration_min": _get(order, "duration_min"),
        "weight_kg": _get(order, "dosing_weight_kg", "weight_kg"),
        "mg_per_kg": _get(order, "mg_per_kg"),
        "computed_dose_mg": _get(order, "computed_dose_mg"),
        "weight_basis": _get(order, "weight_basis"),
        "policy_weight_basis": _get(order, "policy_weight_basis"),
        "weight_basis_chosen": _get(order, "weight_basis_chosen"),
        "weight_basis_reason": _get(order, "weight_basis_reason"),
        "mg_per_kg_actual_weight": _get(order, "mg_per_kg_actual_weight"),
    }
    return bool(signed), bool(checked)


def order_summary(s: Session, sess: InfusionSession) -> dict[str, Any] | None:
    """Return the usable dose order of this session (dose, weight basis and who chose it), or None."""
    report = FactsReport(SessionFacts())
    _order_facts(s, sess, report)
    return report.order


def _questionnaire_facts(s: Session, sess: InfusionSession, report: FactsReport) -> tuple[bool, bool]:
    responses_for_session = _optional("ketacare.services.measurement.responses", "responses_for_session")
    if responses_for_session is None:
        note = "questionnaires (issue #4) are not installed yet"
        report.notes["questionnaires_done"] = note
        return False, False
    ok, rows = _call_safely(s, responses_for_session, sess.id)
    if not ok:
        report.notes["questionnaires_done"] = "the questionnaire_responses table is not present yet"
        return False, False
    ids = set()
    for r in rows or ():
        ctx = _get(r, "context")
        if ctx is not None and str(ctx) not in PRE_SESSION_CONTEXTS:
            continue
        ids.add(str(_get(r, "instrument_id", "instrument") or ""))
    return bool(ids & ANXIETY_SCALES), CSSRS in ids


def session_scores(s: Session, sess: InfusionSession, context: str | None = None) -> dict[str, Any] | None:
    """Return the newest response per instrument linked to this session (optionally one context), keyed by
    instrument id; None when questionnaires (issue #4) are not installed or their table is absent."""
    latest = _optional("ketacare.services.measurement.responses", "latest_scores")
    if latest is None:
        return None
    ok, rows = _call_safely(
        s, lambda s_, pid, sid: latest(s_, pid, session_id=sid, context=context), sess.patient_id, sess.id
    )
    if not ok:
        return None
    return {str(_get(r, "instrument_id")): r for r in rows or ()}


def _result(r: Any, name: str) -> str:
    at = _get(r, "answered_at")
    when = f" at {at:%H:%M} UTC" if isinstance(at, datetime) else ""
    return f"{name} {_get(r, 'total'):g}{when} (response #{_get(r, 'response_id')})"


def _discharge_facts(
    s: Session, sess: InfusionSession, report: FactsReport
) -> tuple[int | None, bool | None, bool, bool]:
    """Return (aldrete score, full respiration and SpO2 points, sedation resolved, dissociation resolved) from
    this session's instrument results or the nurse's confirmations, whichever satisfies the guard; say which
    in `report.evidence`."""
    scores = session_scores(s, sess) or {}
    crit = discharge_criteria()

    def total(iid: str) -> float | None:
        r = scores.get(iid)
        return None if r is None else _get(r, "total")

    settings = default_session_rules().settings

    def meets(score: float | None, full: bool | None) -> bool:
        return (
            score is not None
            and score >= settings.aldrete_min_score
            and (bool(full) or not settings.aldrete_full_respiration_spo2)
        )

    inst = total("aldrete")
    inst_full = None if inst is None else "respiration_spo2_full" in (_get(scores["aldrete"], "flags") or ())
    nurse, nurse_full = sess.aldrete_score, sess.aldrete_respiration_spo2_full
    if inst is not None and (meets(inst, inst_full) or not meets(nurse, nurse_full)):
        aldrete: int | None = int(inst)
        full = inst_full
        report.evidence["aldrete_at_threshold"] = "instrument: " + _result(
            scores["aldrete"], "Modified Aldrete"
        )
    else:
        aldrete, full = nurse, nurse_full
        if nurse is not None:
            points = {True: "; full points for respiration and SpO2", False: "", None: ""}[nurse_full]
            report.evidence["aldrete_at_threshold"] = f"nurse entry: score {nurse}{points}"

    def resolved(guard: str, iid: str, name: str, by_score: bool | None, nurse_ok: bool, rule: str) -> bool:
        if by_score:
            report.evidence[guard] = "instrument: " + _result(scores[iid], name)
            return True
        if nurse_ok:
            report.evidence[guard] = "nurse confirmation"
            return True
        if by_score is not None:
            report.notes[guard] = f"latest {_result(scores[iid], name)}; {rule}"
        return False

    sedation = resolved(
        "sedation_resolved",
        "moaas",
        "MOAA/S",
        sedation_resolved(total("moaas"), crit),
        bool(sess.sedation_resolved),
        f"resolved at {crit.moaas_min:g} (fully alert)",
    )
    dissociation = resolved(
        "dissociation_resolved",
        "cadss6",
        "CADSS-6",
        dissociation_resolved(total("cadss6"), crit),
        bool(sess.dissociation_resolved),
        f"resolved at {crit.cadss6_max:g} or below",
    )
    return aldrete, full, sedation, dissociation


def _eligibility_fact(s: Session, sess: InfusionSession, report: FactsReport, now: datetime) -> bool:
    current = _optional("ketacare.services.eligibility.screening", "current_evaluation")
    if current is None:
        report.notes["eligibility_current"] = "eligibility evaluations (issue #5) are not installed yet"
        return False
    ok, ev = _call_safely(s, current, sess.patient_id)
    if not ok:
        report.notes["eligibility_current"] = "the eligibility evaluations table is not present yet"
        return False
    if ev is None:
        report.notes["eligibility_current"] = "no accepted, current eligibility evaluation"
        return False
    decide = _optional("ketacare.services.eligibility.screening", "effective_decision")
    eligible = _optional("ketacare.services.eligibility.screening", "ELIGIBLE") or (
        "eligible",
        "eligible_with_cautions",
    )
    decision = decide(ev) if decide is not None else _get(ev, "effective_decision", "decision")
    if decision not in eligible:
        report.notes["eligibility_current"] = f"the standing evaluation's decision is {decision!r}"
        return False
    return True


def _pregnancy_applicable(s: Session, sess: InfusionSession) -> bool:
    if sess.pregnancy_test_applicable is not None:
        return sess.pregnancy_test_applicable
    sex = s.scalar(select(Patient.sex_at_birth).where(Patient.id == sess.patient_id))
    return sex in ("female", "intersex", "unknown")  # the nurse may mark it not applicable


def _minutes(a: datetime | None, b: datetime) -> float | None:
    return None if a is None else (b - a).total_seconds() / 60.0


def gather(s: Session, sess: InfusionSession, now: datetime) -> FactsReport:
    """Return every fact the session's guards read, at `now`."""
    report = FactsReport(SessionFacts())
    signed, checked = _order_facts(s, sess, report)
    anxiety, cssrs = _questionnaire_facts(s, sess, report)
    last = s.scalar(
        select(func.max(InfusionSession.infusion_started_at)).where(
            InfusionSession.patient_id == sess.patient_id,
            InfusionSession.id != sess.id,
            InfusionSession.infusion_started_at.is_not(None),
        )
    )
    high = (
        s.scalar(
            select(func.count())
            .select_from(SessionAlert)
            .where(
                SessionAlert.session_id == sess.id,
                SessionAlert.priority == "high",
                SessionAlert.resolved_at.is_(None),
            )
        )
        or 0
    )
    unacknowledged = (
        s.scalar(
            select(func.count())
            .select_from(SessionAlert)
            .where(
                SessionAlert.session_id == sess.id,
                SessionAlert.priority == "high",
                SessionAlert.acknowledged_at.is_(None),
            )
        )
        or 0
    )
    spo2_row = _latest_of(s, sess, VitalSign.spo2_pct)
    rr_row = _latest_of(s, sess, VitalSign.rr_per_min)
    if sess.product == "esketamine":
        observation = _minutes(sess.infusion_started_at, now)
    else:
        observation = _minutes(sess.infusion_ended_at, now)
    base = baseline_row(s, sess)
    if base is None:
        report.notes["baseline_vitals_within_limits"] = "no baseline reading recorded for this session"
    try:
        current = vitals_of(_current_row(s, sess))
    except ValueError:
        current = None
    aldrete, aldrete_full, sedation, dissociation = _discharge_facts(s, sess, report)
    report.facts = SessionFacts(
        product=sess.product,  # type: ignore[arg-type]
        consent_on_file=bool(sess.consent_confirmed),
        eligibility_current=_eligibility_fact(s, sess, report, now),
        dose_order_signed=signed,
        dose_order_double_checked=checked,
        baseline_vitals=vitals_of(base),
        minutes_since_last_food=_minutes(sess.last_food_at, now),
        minutes_since_last_liquid=_minutes(sess.last_liquid_at, now),
        escort_confirmed=bool(sess.escort_confirmed),
        pregnancy_test_applicable=_pregnancy_applicable(s, sess),
        pregnancy_test_negative=sess.pregnancy_test_negative,
        anxiety_scale_done=anxiety,
        cssrs_done=cssrs,
        minutes_since_last_session=_minutes(last, now),
        unresolved_high_alerts=int(high),
        unacknowledged_high_alerts=int(unacknowledged),
        observation_min=observation,
        current_vitals=current,
        latest_spo2_pct=None if spo2_row is None else spo2_row.spo2_pct,
        latest_spo2_age_min=_age(spo2_row, now),
        latest_spo2_on_oxygen=None if spo2_row is None else spo2_row.on_oxygen,
        latest_rr_per_min=None if rr_row is None else rr_row.rr_per_min,
        latest_rr_age_min=_age(rr_row, now),
        aldrete_score=aldrete,
        aldrete_respiration_spo2_full=aldrete_full,
        dissociation_resolved=dissociation,
        sedation_resolved=sedation,
        escort_present=bool(sess.escort_present),
    )
    return report
