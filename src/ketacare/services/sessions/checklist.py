"""Who answered each pre-check and discharge question and when, and the discharge checklist taken when the session
ends (what satisfied each discharge check, who and when): the parts of the signed record added in format 2."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain import formatting as fmt
from ketacare.domain.sessions.assessments import discharge_checklist_items, discharge_instructions
from ketacare.services import plans
from ketacare.services.access import Actor
from ketacare.services.sessions.facts import FactsReport, session_scores
from ketacare.services.sessions.rules import default_session_rules
from ketacare.services.sessions.schemas import (
    RecordChecklistItem,
    RecordDischarge,
    RecordEscort,
    RecordInstructions,
    RecordOrder,
)
from ketacare.store.tables import Patient, User
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, SessionConfirmation

# The nurse's answer each discharge check falls back on when no instrument result satisfies it.
_CONFIRMED_BY = {
    "aldrete_at_threshold": "aldrete_score",
    "dissociation_resolved": "dissociation_resolved",
    "sedation_resolved": "sedation_resolved",
    "escort_present": "escort_present",
    "instructions_given": "discharge_instructions_given",
}
_INSTRUMENT = {
    "aldrete_at_threshold": ("aldrete", "Modified Aldrete"),
    "dissociation_resolved": ("cadss6", "CADSS-6"),
    "sedation_resolved": ("moaas", "MOAA/S"),
}
_PRODUCT_ONLY = {"rems_observation_2h": "esketamine", "observation_time_met": "racemic_ketamine"}


def log_confirmations(
    s: Session, sess: InfusionSession, actor: Actor, changes: dict[str, Any], at: datetime
) -> None:
    """Keep who answered each changed question, with the value and the time (never edited afterwards)."""
    for name in sorted(changes):
        value = changes[name]
        s.add(
            SessionConfirmation(
                session_id=sess.id,
                field=name,
                value=value.isoformat() if isinstance(value, datetime) else value,
                by_user_id=actor.user_id,
                by_username=actor.username,
                role=actor.role,
                at=at,
            )
        )


def latest_confirmations(s: Session, session_id: int) -> dict[str, SessionConfirmation]:
    """Return the newest answer to each question of a session, keyed by field."""
    out: dict[str, SessionConfirmation] = {}
    for row in s.scalars(
        select(SessionConfirmation)
        .where(SessionConfirmation.session_id == session_id)
        .order_by(SessionConfirmation.id)
    ):
        out[row.field] = row
    return out


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not_answered"}[value]


def _item(
    s: Session,
    sess: InfusionSession,
    item_id: str,
    label: str,
    report: FactsReport,
    overridden: dict[str, dict[str, Any]],
    confirmations: dict[str, SessionConfirmation],
    scores: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Return one checklist line: result, what showed it, who and when (ISO time)."""
    line: dict[str, Any] = {"id": item_id, "label": label, "by": None, "at": None}
    conf = confirmations.get(_CONFIRMED_BY.get(item_id, ""))
    if item_id == "instructions_given":
        given = sess.discharge_instructions_given
        line["result"] = _yes_no(given)
        line["detail"] = "nurse's answer" if given is not None else "not answered"
    elif _PRODUCT_ONLY.get(item_id, sess.product) != sess.product:
        line.update(result="not_applicable", detail=f"not for {sess.product.replace('_', ' ')}")
        return line
    elif item_id in overridden:
        o = overridden[item_id]
        line.update(result="overridden", detail=f"override: {o['reason']}", by=o["by"], at=now.isoformat())
        return line
    else:
        line["result"] = "met"
        line["detail"] = _detail(item_id, report, scores, _answered_by(s, scores), line)
        if item_id == "instructions_acknowledged":
            acks = plans.acknowledgements(s, sess.id)
            line["detail"] = "; ".join(
                f"{a.party} {a.name}, instructions version {a.instructions_version}" for a in acks
            )
            if acks:
                line["by"], line["at"] = acks[-1].recorded_by_username, acks[-1].acknowledged_at.isoformat()
        if line["at"] is None:
            line["at"] = now.isoformat()
    if conf is not None and line["by"] is None:
        line["by"], line["at"] = conf.by_username, conf.at.isoformat()
    return line


def _detail(
    item_id: str, report: FactsReport, scores: dict[str, Any], answered_by: dict[int, str], line: dict[str, Any]
) -> str:
    """Say what satisfied a passed discharge check (an instrument result sets the line's time)."""
    f = report.facts
    evidence = report.evidence.get(item_id, "")
    if item_id in _INSTRUMENT and evidence.startswith("instrument"):
        iid, name = _INSTRUMENT[item_id]
        r = scores[iid]
        line["by"] = answered_by.get(r.response_id) or f"questionnaire response #{r.response_id}"
        line["at"] = r.answered_at.isoformat()
        return f"{name} {fmt.amount(r.total)} (questionnaire response #{r.response_id})"
    if item_id == "aldrete_at_threshold" and f.aldrete_score is not None:
        full = "; full points for respiration and SpO2" if f.aldrete_respiration_spo2_full else ""
        return f"nurse's entry: Modified Aldrete {f.aldrete_score}{full}"
    if item_id in ("dissociation_resolved", "sedation_resolved", "escort_present"):
        return "nurse's confirmation"
    if item_id in ("observation_time_met", "rems_observation_2h") and f.observation_min is not None:
        return f"{fmt.duration(f.observation_min, rounding='down')} observed"
    if item_id == "spo2_at_discharge" and f.latest_spo2_pct is not None:
        return f"SpO2 {fmt.vital(f.latest_spo2_pct)} % on room air, {_age(f.latest_spo2_age_min)}"
    if item_id == "rr_at_discharge" and f.latest_rr_per_min is not None:
        return f"RR {fmt.vital(f.latest_rr_per_min)} /min, {_age(f.latest_rr_age_min)}"
    if item_id == "vitals_near_baseline" and f.current_vitals is not None:
        v = f.current_vitals
        return f"latest BP {fmt.vital(v.sbp)}/{fmt.vital(v.dbp)} mmHg, HR {fmt.vital(v.hr)} /min"
    if item_id == "no_open_high_alert":
        return "no high-priority alarm open or unacknowledged"
    return "checked"


def _answered_by(s: Session, scores: dict[str, Any]) -> dict[int, str]:
    """Return the user name of whoever entered each of these questionnaire responses (a clinician or the patient)."""
    ids = [r.response_id for r in scores.values()]
    if not ids:
        return {}
    rows = s.execute(
        select(QuestionnaireResponse.id, User.username)
        .join(User, User.id == QuestionnaireResponse.answered_by_user_id)
        .where(QuestionnaireResponse.id.in_(ids))
    )
    return {rid: name for rid, name in rows}


def _age(minutes: float | None) -> str:
    return "reading age unknown" if minutes is None else f"reading {fmt.duration(minutes, rounding='up')} old"


def closing_snapshot(
    s: Session,
    sess: InfusionSession,
    *,
    event: str,
    actor: Actor,
    report: FactsReport,
    overrides_used: Iterable[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """Return what the record keeps of the end of the session: who ended it and when, the escort, the written
    instructions, and (on discharge) each checklist line as it stood."""
    confirmations = latest_confirmations(s, sess.id)
    items: list[dict[str, Any]] = []
    if event == "discharge":
        rules = default_session_rules()
        tr = rules.find(sess.state, "discharge")  # type: ignore[arg-type]
        guards = set(tr.guards) if tr else set()
        overridden = {o["guard_id"]: o for o in overrides_used}
        scores = session_scores(s, sess)
        for it in discharge_checklist_items():
            if it.id in guards or it.id == "instructions_given":
                items.append(_item(s, sess, it.id, it.label, report, overridden, confirmations, scores, now))
    p = s.get(Patient, sess.patient_id)
    return {
        "event": event,
        "by": actor.username,
        "role": actor.role,
        "at": now.isoformat(),
        "items": items,
        "escort": {"name": p.escort_name if p else None, "phone": p.escort_phone if p else None},
        **_instructions_given(s, sess),
    }


def _instructions_given(s: Session, sess: InfusionSession) -> dict[str, Any]:
    """Return the text of the discharge instructions given (the version acknowledged, else the one in force)."""
    version, lines = plans.given_instructions(s, sess.id)
    return {"instructions": lines or list(discharge_instructions().items), "instructions_version": version}


def _answer(value: bool | None, answered: bool) -> bool | None:
    """Return an answer (a yes given before answers were logged counts; a default no without an answer does not)."""
    return value if answered or value else None


def _by_at(conf: SessionConfirmation | None) -> tuple[str | None, datetime | None]:
    return (None, None) if conf is None else (conf.by_username, conf.at)


def record_parts(
    s: Session, sess: InfusionSession
) -> tuple[RecordOrder | None, RecordDischarge | None, RecordEscort, RecordInstructions]:
    """Return the order, the discharge checklist, the escort and the instructions as the record holds them."""
    order = None
    if sess.dose_order_id is not None:
        row = s.get(DoseOrderRecord, sess.dose_order_id)
        order = None if row is None else RecordOrder.model_validate(row)
    snap = sess.discharge_checklist or {}
    discharge = None
    if snap:
        discharge = RecordDischarge(
            event=snap["event"],
            by=snap["by"],
            role=snap["role"],
            at=snap["at"],
            items=[RecordChecklistItem.model_validate(i) for i in snap["items"]],
        )
    conf = latest_confirmations(s, sess.id)
    confirmed_by, confirmed_at = _by_at(conf.get("escort_confirmed"))
    present_by, present_at = _by_at(conf.get("escort_present"))
    escort_snap = snap.get("escort") or {}
    escort = RecordEscort(
        name=escort_snap.get("name"),
        phone=escort_snap.get("phone"),
        confirmed=_answer(sess.escort_confirmed, "escort_confirmed" in conf),
        confirmed_by=confirmed_by,
        confirmed_at=confirmed_at,
        present=_answer(sess.escort_present, "escort_present" in conf),
        present_by=present_by,
        present_at=present_at,
    )
    given_by, given_at = _by_at(conf.get("discharge_instructions_given"))
    instructions = RecordInstructions(
        given=sess.discharge_instructions_given,
        by=given_by,
        at=given_at,
        items=list(snap.get("instructions") or []),
    )
    return order, discharge, escort, instructions
