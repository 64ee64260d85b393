"""Assemble the facts the session guards read, from this capability's tables and from other capabilities.

Other capabilities are read through their packages: the usable dose order (`dosing`), questionnaire results
(`measurement`) and the standing eligibility evaluation (`eligibility`). When one is missing, the fact is ABSENT
(its guard fails) and a note says what is missing; it is never treated as passed. A database error raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from ketacare.domain.sessions import SessionFacts, VitalSigns
from ketacare.domain.sessions.assessments import (
    discharge_criteria,
    dissociation_resolved,
    sedation_resolved,
)
from ketacare.services import dosing, eligibility, measurement
from ketacare.services.measurement import ScoreSummary
from ketacare.services.sessions.rules import default_session_rules
from ketacare.services.sessions.schemas import SessionConsent, SessionOrder
from ketacare.store.tables.sessions import InfusionSession, SessionAlert, VitalSign

if TYPE_CHECKING:
    from ketacare.services.plans import ConsentStatusRead, CourseChecks

ANXIETY_SCALES = frozenset({"gad7", "oasis", "hama", "pdss_sr", "mini_spin", "pcl5"})
CSSRS = "cssrs_screen"
PRE_SESSION_CONTEXTS = frozenset({"pre_session", "pre-session", "presession", "baseline"})


@dataclass
class FactsReport:
    """The guard facts plus, per guard id, a note on why a fact is absent, and what satisfied each discharge
    guard (an instrument result or the nurse's confirmation)."""

    facts: SessionFacts
    notes: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    course: CourseChecks | None = None  # course safety (pre-infusion states only)
    consent: SessionConsent | None = None  # the signed consent the consent guard read (issue 16)


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


def _age(row: VitalSign | None, now: datetime) -> float | None:
    """Return how old a reading is in minutes (0 for a reading dated a little ahead of this clock)."""
    return None if row is None else max(0.0, (now - row.measured_at).total_seconds() / 60.0)


def _session_order(s: Session, sess: InfusionSession) -> dosing.DoseOrderRead | None:
    """Return the order linked to this session (of the same patient), else the patient's newest usable one."""
    if sess.dose_order_id is not None:
        return dosing.order_of_patient(s, sess.patient_id, sess.dose_order_id)
    return dosing.usable_order(s, sess.patient_id)


def _order_facts(pre: _Prefetch, sess: InfusionSession, report: FactsReport) -> tuple[bool, bool]:
    if sess.dose_order_id is not None:  # the order the session was booked from, of this same patient
        linked = pre.orders.get(sess.dose_order_id)
        if linked is None or linked.patient_id != sess.patient_id:
            report.notes["dose_order_signed"] = f"dose order #{sess.dose_order_id} is not an order of this patient"
            return False, False
        if linked.status == "cancelled":
            report.notes["dose_order_signed"] = f"dose order #{linked.id} was cancelled"
            return False, False
        return linked.signed_at is not None, linked.status == "double_checked"
    order = pre.usable.get(sess.patient_id)
    if order is None:
        report.notes["dose_order_signed"] = "no usable (signed, double-checked, current) dose order"
        return False, False
    return order.signed_at is not None, order.double_checked_at is not None


def order_summary(s: Session, sess: InfusionSession) -> SessionOrder | None:
    """Return this session's dose order (dose, preparation, rate, weight basis, who signed and checked), or None."""
    order = _session_order(s, sess)
    if order is None:
        return None
    out = SessionOrder.model_validate(order, from_attributes=True)
    out.dose_mg_step = dosing.dose_step_mg(out.protocol_id) if out.protocol_id else None
    return out


def _questionnaire_facts(pre: _Prefetch, sess: InfusionSession) -> tuple[bool, bool]:
    ids = {r.instrument_id for r in pre.responses[sess.id] if r.context in PRE_SESSION_CONTEXTS}
    return bool(ids & ANXIETY_SCALES), CSSRS in ids


def session_scores(s: Session, sess: InfusionSession, context: str | None = None) -> dict[str, ScoreSummary]:
    """Return the newest response per instrument linked to this session (optionally one context), keyed by
    instrument id."""
    rows = measurement.latest_scores(s, sess.patient_id, session_id=sess.id, context=context)
    return {r.instrument_id: r for r in rows}


def _result(r: ScoreSummary, name: str) -> str:
    return f"{name} {r.total:g} at {r.answered_at:%H:%M} UTC (response #{r.response_id})"


def _discharge_facts(
    pre: _Prefetch, sess: InfusionSession, report: FactsReport
) -> tuple[int | None, bool | None, bool, bool]:
    """Return (aldrete score, full respiration and SpO2 points, sedation resolved, dissociation resolved) from
    this session's instrument results or the nurse's confirmations, whichever satisfies the guard; say which
    in `report.evidence`."""
    scores = pre.scores[sess.id]
    crit = discharge_criteria()

    def total(iid: str) -> float | None:
        r = scores.get(iid)
        return None if r is None else r.total

    settings = default_session_rules().settings

    def meets(score: float | None, full: bool | None) -> bool:
        return (
            score is not None
            and score >= settings.aldrete_min_score
            and (bool(full) or not settings.aldrete_full_respiration_spo2)
        )

    inst = total("aldrete")
    inst_full = None if inst is None else "respiration_spo2_full" in scores["aldrete"].flags
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


def _eligibility_fact(pre: _Prefetch, sess: InfusionSession, report: FactsReport) -> bool:
    ev = pre.evaluations.get(sess.patient_id)
    if ev is None:
        report.notes["eligibility_current"] = "no accepted, current eligibility evaluation"
        return False
    decision = eligibility.effective_decision(ev)
    if decision not in eligibility.ELIGIBLE:
        report.notes["eligibility_current"] = f"the standing evaluation's decision is {decision!r}"
        return False
    return True


PRE_INFUSION_STATES = frozenset({"scheduled", "checked_in", "prechecks_passed"})


def _pregnancy(sess: InfusionSession, course: CourseChecks | None, report: FactsReport) -> tuple[
    bool, bool | None
]:
    """Return (test applicable, negative result in force) from the course's recorded tests and applicability;
    a nurse's answers on this session count where the course has no record. Never inferred from sex."""
    if course is None:  # after the infusion began the pre-infusion guards are not asked again
        return bool(sess.pregnancy_test_applicable), sess.pregnancy_test_negative
    check = course.check("pregnancy")
    if check.status == "not_required":
        return False, None
    if check.status == "ok":
        report.evidence["pregnancy_test_negative"] = check.reason
        return True, True
    if check.code == "not_recorded" and sess.pregnancy_test_applicable is False:
        return False, None  # the nurse answered "not applicable" on this session
    if sess.pregnancy_test_negative is True and check.code != "positive":
        report.evidence["pregnancy_test_negative"] = "nurse confirmation on this session"
        return True, True
    report.notes["pregnancy_test_negative"] = check.reason
    return True, False if check.code == "positive" else None


def _minutes(a: datetime | None, b: datetime) -> float | None:
    return None if a is None else (b - a).total_seconds() / 60.0


def session_route(s: Session, sess: InfusionSession) -> str | None:
    """Return the route this session gives the medicine by: intranasal for esketamine, else its dose order's."""
    if sess.product == "esketamine":
        return "intranasal"
    order = _session_order(s, sess)
    return None if order is None else order.route


def consent_summary(s: Session, sess: InfusionSession, now: datetime) -> SessionConsent:
    """Return the consent on file for this session's route at `now`: status, document version and dates."""
    route = session_route(s, sess)
    from ketacare.services import plans  # here, not at the top: the plans capability reads sessions too

    status = None if route is None else plans.status_in_session(s, sess.patient_id, route, now)
    return _consent_read(route, status, now)


def _consent_read(route: str | None, st: ConsentStatusRead | None, now: datetime) -> SessionConsent:
    if route is None or st is None:
        return SessionConsent(
            status="missing", in_force=False, reason="no dose order names the route, so its consent cannot be found"
        )
    from ketacare.services import plans

    doc = plans.document_for_route(route, now.date())
    return SessionConsent(
        status=st.status, in_force=st.in_force, reason=st.reason, route=route, template_id=st.template_id,
        title=doc.title if doc else None, version=st.version, current_version=st.current_version,
        signed_at=st.signed_at, countersigned_at=st.countersigned_at, expires_at=st.expires_at,
    )  # fmt: skip


def _consent_fact(pre: _Prefetch, sess: InfusionSession, now: datetime, report: FactsReport) -> bool:
    route = pre.routes.get(sess.id)
    consent = report.consent = _consent_read(route, pre.consents.get((sess.patient_id, route or "")), now)
    if not consent.in_force:
        report.notes["consent_on_file"] = consent.reason
    return consent.in_force


def _latest_rows(s: Session, ids: list[int], *where: ColumnElement[bool]) -> dict[int, VitalSign]:
    """Return each session's newest reading matching `where` (one statement for all the sessions)."""
    rank = (
        func.row_number()
        .over(partition_by=VitalSign.session_id, order_by=(VitalSign.measured_at.desc(), VitalSign.id.desc()))
        .label("rank")
    )
    newest = select(VitalSign.id, rank).where(VitalSign.session_id.in_(ids), *where).subquery()
    rows = s.scalars(select(VitalSign).join(newest, newest.c.id == VitalSign.id).where(newest.c.rank == 1))
    return {r.session_id or 0: r for r in rows}  # every row has a session (selected by it)


class _Prefetch:
    """What the guards of many sessions read, loaded in a fixed number of statements whatever the number of
    sessions (the live board asks for every chair not yet infusing: it cost ~12 statements per chair)."""

    def __init__(self, s: Session, sessions: list[InfusionSession], now: datetime) -> None:
        ids = [x.id for x in sessions]
        pids = sorted({x.patient_id for x in sessions})
        self.orders = dosing.orders_by_id(s, [x.dose_order_id for x in sessions if x.dose_order_id is not None])
        self.usable = dosing.usable_order_by_patient(s, [x.patient_id for x in sessions if x.dose_order_id is None])
        self.responses = measurement.responses_for_sessions(s, ids)
        self.scores = measurement.latest_scores_by_session(s, ids)
        self.evaluations = eligibility.current_evaluations(s, pids)
        self.starts: dict[int, list[tuple[int, datetime]]] = {}
        for pid, sid, started in s.execute(
            select(InfusionSession.patient_id, InfusionSession.id, InfusionSession.infusion_started_at).where(
                InfusionSession.patient_id.in_(pids), InfusionSession.infusion_started_at.is_not(None)
            )
        ):
            if started is not None:
                self.starts.setdefault(pid, []).append((sid, started))
        high = or_(SessionAlert.priority == "high", SessionAlert.peak_priority == "high")
        open_high = high & SessionAlert.resolved_at.is_(None)  # open: condition present, or latched unacknowledged
        unacknowledged = (SessionAlert.priority == "high") & SessionAlert.acknowledged_at.is_(None)
        self.alerts = {
            sid: (int(a or 0), int(b or 0))
            for sid, a, b in s.execute(
                select(
                    SessionAlert.session_id,
                    func.sum(case((open_high, 1), else_=0)),
                    func.sum(case((unacknowledged, 1), else_=0)),
                )
                .where(SessionAlert.session_id.in_(ids))
                .group_by(SessionAlert.session_id)
            )
        }
        charted = VitalSign.context.in_(("during", "recovery"))
        self.baseline = _latest_rows(s, ids, VitalSign.context == "baseline")
        self.current = _latest_rows(s, ids, charted)
        self.spo2 = _latest_rows(s, ids, charted, VitalSign.spo2_pct.is_not(None))
        self.rr = _latest_rows(s, ids, charted, VitalSign.rr_per_min.is_not(None))
        from ketacare.services import plans  # here, not at the top: the plans capability reads sessions too

        self.routes = {x.id: self._route(x) for x in sessions}
        keys = [(x.patient_id, r) for x in sessions if (r := self.routes[x.id]) is not None]
        self.consents = plans.statuses_in_sessions(s, keys, now)
        self.acknowledged = plans.acknowledged_sessions(s, ids)
        before = sorted({x.patient_id for x in sessions if x.state in PRE_INFUSION_STATES})
        self.course = {pid: plans.course_checks(s, pid, now) for pid in before}  # a fixed number per patient

    def _route(self, sess: InfusionSession) -> str | None:
        """Return the session's route: intranasal for esketamine, else its dose order's (see `session_route`)."""
        if sess.product == "esketamine":
            return "intranasal"
        if sess.dose_order_id is None:
            order = self.usable.get(sess.patient_id)
        else:
            linked = self.orders.get(sess.dose_order_id)
            order = linked if linked is not None and linked.patient_id == sess.patient_id else None
        return None if order is None else order.route

    def last_start(self, sess: InfusionSession) -> datetime | None:
        """Return when the patient's most recent OTHER session started its infusion."""
        return max((t for sid, t in self.starts.get(sess.patient_id, []) if sid != sess.id), default=None)


def gather(s: Session, sess: InfusionSession, now: datetime) -> FactsReport:
    """Return every fact the session's guards read, at `now`."""
    return gather_many(s, [sess], now)[sess.id]


def gather_many(s: Session, sessions: list[InfusionSession], now: datetime) -> dict[int, FactsReport]:
    """Return every fact each session's guards read, at `now`, keyed by session id (statements do not grow with
    the number of sessions)."""
    if not sessions:
        return {}
    pre = _Prefetch(s, sessions, now)
    return {sess.id: _report(pre, sess, now) for sess in sessions}


def _report(pre: _Prefetch, sess: InfusionSession, now: datetime) -> FactsReport:
    report = FactsReport(SessionFacts())
    signed, checked = _order_facts(pre, sess, report)
    anxiety, cssrs = _questionnaire_facts(pre, sess)
    last = pre.last_start(sess)
    high, unacknowledged = pre.alerts.get(sess.id, (0, 0))
    spo2_row = pre.spo2.get(sess.id)
    rr_row = pre.rr.get(sess.id)
    if sess.product == "esketamine":
        observation = _minutes(sess.infusion_started_at, now)
    else:
        observation = _minutes(sess.infusion_ended_at, now)
    base = pre.baseline.get(sess.id)
    if base is None:
        report.notes["baseline_vitals_within_limits"] = "no baseline reading recorded for this session"
    try:
        current = vitals_of(pre.current.get(sess.id))
    except ValueError:
        current = None
    aldrete, aldrete_full, sedation, dissociation = _discharge_facts(pre, sess, report)
    if sess.state in PRE_INFUSION_STATES:
        report.course = pre.course.get(sess.patient_id)
    pregnancy_applicable, pregnancy_negative = _pregnancy(sess, report.course, report)
    holds = () if report.course is None else tuple(
        f"{c.label}: {c.reason}" for c in report.course.holds if c.id != "pregnancy"
    )
    if holds:
        report.notes["course_safety_clear"] = "; ".join(holds)
    report.facts = SessionFacts(
        product=sess.product,  # type: ignore[arg-type]
        consent_on_file=_consent_fact(pre, sess, now, report),
        eligibility_current=_eligibility_fact(pre, sess, report),
        dose_order_signed=signed,
        dose_order_double_checked=checked,
        baseline_vitals=vitals_of(base),
        minutes_since_last_food=_minutes(sess.last_food_at, now),
        minutes_since_last_liquid=_minutes(sess.last_liquid_at, now),
        escort_confirmed=bool(sess.escort_confirmed),
        pregnancy_test_applicable=pregnancy_applicable,
        pregnancy_test_negative=pregnancy_negative,
        course_safety_holds=len(holds),
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
        instructions_acknowledged=sess.id in pre.acknowledged,
    )
    return report
