"""Eligibility screening (issue #5): gather the facts from the record, evaluate them with the clinic's rule set,
store the evaluation, show what changed, and record the prescriber's review (accept, or override with a reason).

The decision itself is the pure core in `ketacare.domain.eligibility`; this module only reads the record.
Facts the record has no place for (pregnancy, breastfeeding, substance use, bladder symptoms, hypersensitivity)
are kept in `screening_answers`; a fact nobody recorded stays missing and the evaluation says where to record it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Executable, func, or_, select
from sqlalchemy.orm import Session

from ketacare.domain.eligibility import (
    EligibilitySettings,
    diff_evaluations,
    evaluate,
    facts_from_dict,
    facts_to_dict,
    rule_sets,
)
from ketacare.domain.eligibility.facts import SUBSTANCE_STATUSES
from ketacare.domain.eligibility.tables import conditions_for_code
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock, sessions
from ketacare.services.access import Actor, people, signing
from ketacare.services.eligibility.schemas import (
    EvaluateResult,
    EvaluationRead,
    ReviewIn,
    ScreeningAnswerRead,
    ScreeningAnswersIn,
    ScreeningPatient,
    ScreeningView,
    ScreeningVitals,
)
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.measurement import latest_scores
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Allergy, Diagnosis, Medication, Patient, TreatmentTrial
from ketacare.store.tables.eligibility import EligibilityEvaluation, ScreeningAnswer
from ketacare.store.tables.sessions import VitalSign

ELIGIBLE = ("eligible", "eligible_with_cautions")
REVIEWABLE = ("pending_review",)


class EligibilityConfig(BaseSettings):
    """The clinic's screening choices from the environment: KETACARE_ELIGIBILITY_RULE_SET (bokma2019|delphi2024)."""

    model_config = SettingsConfigDict(env_prefix="KETACARE_ELIGIBILITY_", extra="ignore")
    rule_set: str | None = None


def clinic_settings() -> EligibilitySettings:
    """Return the clinic's EligibilitySettings (rule set from KETACARE_ELIGIBILITY_RULE_SET, else the default)."""
    rule_set = (EligibilityConfig().rule_set or "").strip() or None
    if rule_set is not None and rule_set not in rule_sets():
        raise InvalidValue(
            "KETACARE_ELIGIBILITY_RULE_SET",
            f"unknown rule set '{rule_set}': use {' or '.join(sorted(rule_sets()))}",
        )
    return EligibilitySettings(rule_set=rule_set)


# --- screening questions (the facts the chart has no other place for) ------------------------------------------

YES_NO = ("yes", "no", "unknown")
# fact key -> (question in clinic words, allowed values, what it feeds)
QUESTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "pregnant": ("Pregnant (test or history)", YES_NO, "pregnant"),
    "breastfeeding": ("Breastfeeding", YES_NO, "breastfeeding"),
    "medical_history_reviewed": (
        "Medical history reviewed for contraindications (diagnoses on the chart are complete)",
        ("yes", "no"),
        "conditions",
    ),
    "bladder_symptoms": ("Bladder or urinary symptoms (frequency, urgency, pain)", YES_NO, "conditions"),
    "prior_ketamine_reaction": ("Previous adverse reaction to ketamine", YES_NO, "conditions"),
    "ketamine_hypersensitivity": ("Known hypersensitivity to ketamine or esketamine", YES_NO, "allergies"),
    "no_known_allergies": ("Allergy history taken: no known allergies", ("yes", "no"), "allergies"),
    "no_current_medications": ("Medications reconciled: takes no medicines", ("yes", "no"), "medications"),
}
SUBSTANCES: dict[str, str] = {
    "alcohol": "Alcohol",
    "cannabis": "Cannabis",
    "stimulants": "Stimulants (cocaine, amphetamines)",
    "opioids": "Opioids (not prescribed)",
    "sedatives": "Sedatives (not prescribed)",
    "ketamine": "Ketamine, esketamine or PCP (non-medical)",
    "caffeine": "Caffeine (heavy use)",
}
for _s, _label in SUBSTANCES.items():
    QUESTIONS[f"substance.{_s}"] = (_label, SUBSTANCE_STATUSES, "substance_use")
_CONDITION_ANSWERS = {
    "bladder_symptoms": "lower_urinary_tract_symptoms",
    "prior_ketamine_reaction": "prior_adverse_reaction_ketamine",
}

# Where on the chart each missing fact is recorded (the page links there).
RECORD_AT: dict[str, tuple[str, str]] = {
    "age_years": ("demographics (date of birth)", "/patients/{pid}/edit"),
    "sex": ("demographics (sex at birth)", "/patients/{pid}/edit"),
    "pregnant": ("screening questions on this page", "#screening-answers"),
    "breastfeeding": ("screening questions on this page", "#screening-answers"),
    "conditions": (
        "diagnoses on the chart, then 'medical history reviewed' on this page",
        "#screening-answers",
    ),
    "substance_use": ("substance-use questions on this page", "#screening-answers"),
    "allergies": ("allergies on the chart, or 'no known allergies' on this page", "#screening-answers"),
    "medications": (
        "medications on the chart, or 'takes no medicines' on this page",
        "/patients/{pid}#medication",
    ),
    "diagnoses": ("diagnoses on the chart", "/patients/{pid}#diagnosis"),
    "blood_pressure": ("screening vitals on this page", "#screening-vitals"),
    "heart_rate": ("screening vitals on this page", "#screening-vitals"),
    "prior_trials": ("prior treatment trials on the chart", "/patients/{pid}#trial"),
    "severity_scores": ("a current questionnaire (e.g. GAD-7) in scores", "/patients/{pid}/scores"),
}

# Instrument ids of the measurement service -> the eligibility core's ids.
_INSTRUMENTS = {
    "gad7": "gad7",
    "hama": "hama",
    "pcl5": "pcl5",
    "pdss_sr": "pdss",
    "mini_spin": "minispin",
    "oasis": "oasis",
    "spin": "spin",
    "lsas": "lsas",
}
# Record trial outcomes -> the core's outcome vocabulary.
_OUTCOMES = {"no_response": "non_response", "worsened": "non_response", "not_tolerated": "intolerance"}
# Psychotherapy names as typed on the chart -> the core's therapy types.
_THERAPIES = {
    "cognitive_behavioural_therapy": "cbt",
    "cognitive_behavioral_therapy": "cbt",
    "exposure": "exposure_therapy",
    "pe": "prolonged_exposure",
    "cpt": "cognitive_processing_therapy",
    "icbt": "internet_cbt",
    "acceptance_and_commitment_therapy": "act",
}
_MASS_TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001}


def _age(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _day(at: datetime) -> str:
    return at.date().isoformat()


def latest_answers(s: Session, patient_id: int) -> dict[str, ScreeningAnswer]:
    """Return the newest screening answer per fact for a patient (no authorization here)."""
    rows = s.scalars(
        select(ScreeningAnswer)
        .where(ScreeningAnswer.patient_id == patient_id)
        .order_by(ScreeningAnswer.recorded_at.desc(), ScreeningAnswer.id.desc())
    ).all()
    out: dict[str, ScreeningAnswer] = {}
    for r in rows:
        out.setdefault(r.fact, r)
    return out


def _yes_no(answers: dict[str, ScreeningAnswer], key: str) -> bool | None:
    a = answers.get(key)
    return None if a is None or a.value == "unknown" else a.value == "yes"


def _therapy(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return _THERAPIES.get(key, key)


Doc = dict[str, Any]  # the facts document (JSON) the pure core reads with `facts_from_dict`
Answers = dict[str, ScreeningAnswer]


def build_facts(s: Session, patient_id: int, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (facts document, where each fact came from) for a patient on `today`, read from the record."""
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    answers = latest_answers(s, patient_id)
    src: dict[str, str] = {}
    doc: Doc = {"screening_date": today.isoformat()}
    _demographics(p, today, answers, doc, src)
    _history(s, patient_id, today, answers, doc, src)
    _medications(s, patient_id, answers, doc, src)
    _allergies(s, patient_id, answers, doc, src)
    _substance_use(answers, doc, src)
    _prior_trials(s, patient_id, doc, src)
    _vitals(s, patient_id, today, doc, src)
    _scores(s, patient_id, today, doc, src)
    return doc, src


def _demographics(p: Patient, today: date, answers: Answers, doc: Doc, src: dict[str, str]) -> None:
    doc["age_years"] = _age(p.date_of_birth, today)
    src["age_years"] = f"date of birth {p.date_of_birth.isoformat()}"
    doc["sex"] = None if p.sex_at_birth == "unknown" else p.sex_at_birth
    src["sex"] = "sex at birth (demographics)"
    for key in ("pregnant", "breastfeeding"):
        doc[key] = _yes_no(answers, key)
        if key in answers:
            src[key] = f"screening answer '{answers[key].value}' on {_day(answers[key].recorded_at)}"


def _history(
    s: Session, patient_id: int, today: date, answers: Answers, doc: Doc, src: dict[str, str]
) -> None:
    """Diagnoses; once the medical history was reviewed, dated diagnoses and screening answers as conditions."""
    reviewed = _yes_no(answers, "medical_history_reviewed") is True
    diagnoses: list[dict[str, Any]] = []
    conditions: list[dict[str, Any]] = []
    for d in s.scalars(select(Diagnosis).where(Diagnosis.patient_id == patient_id).order_by(Diagnosis.id)):
        if d.status in ("resolved", "entered_in_error"):
            continue
        code, system = (d.icd10cm, "ICD-10") if d.icd10cm else (d.icd11 or d.concept, "ICD-11")
        mapped = conditions_for_code(code, system)
        if reviewed and mapped and d.onset_date is not None and d.onset_date <= today:
            # A dated diagnosis becomes a dated condition, so "recent event" rules can use its date.
            note = f"diagnosis {code} {d.display}"[:200]
            conditions += [{"code": c, "date": d.onset_date.isoformat(), "note": note} for c in mapped]
        else:
            diagnoses.append({"code": code, "system": system, "label": d.display})
    doc["diagnoses"] = diagnoses or None
    src["diagnoses"] = f"{len(diagnoses)} diagnoses on the chart (resolved ones left out)"
    for key, code in _CONDITION_ANSWERS.items():
        if _yes_no(answers, key):
            conditions.append({"code": code, "note": f"screening answer on {_day(answers[key].recorded_at)}"})
    doc["conditions"] = conditions if reviewed else None
    if reviewed:
        src["conditions"] = (
            f"medical history reviewed on {_day(answers['medical_history_reviewed'].recorded_at)}"
        )


def _medications(s: Session, patient_id: int, answers: Answers, doc: Doc, src: dict[str, str]) -> None:
    meds = s.scalars(
        select(Medication)
        .where(Medication.patient_id == patient_id, Medication.active.is_(True))
        .order_by(Medication.id)
    ).all()
    if meds:
        doc["medications"] = [
            {
                "name": m.name,
                "dose_mg_per_day": (
                    m.dose_value * _MASS_TO_MG[m.dose_unit] * m.times_per_day
                    if m.dose_unit in _MASS_TO_MG and m.times_per_day
                    else None
                ),
                "as_needed": bool(m.as_needed),
            }
            for m in meds
        ]
        src["medications"] = f"{len(meds)} current medications (mg/day = dose x times per day)"
    elif _yes_no(answers, "no_current_medications"):
        doc["medications"] = []
        src["medications"] = "screening answer: takes no medicines"
    else:
        doc["medications"] = None


def _allergies(s: Session, patient_id: int, answers: Answers, doc: Doc, src: dict[str, str]) -> None:
    allergies = [
        {"substance": a.substance, "reaction": a.reaction}
        for a in s.scalars(
            select(Allergy)
            .where(Allergy.patient_id == patient_id, Allergy.status != "entered_in_error")
            .order_by(Allergy.id)
        )
    ]
    if _yes_no(answers, "ketamine_hypersensitivity"):
        allergies.append({"substance": "ketamine", "reaction": "hypersensitivity reported at screening"})
    if allergies or _yes_no(answers, "no_known_allergies"):
        doc["allergies"] = allergies
        src["allergies"] = f"{len(allergies)} allergies on the chart and screening answers"
    else:
        doc["allergies"] = None


def _substance_use(answers: Answers, doc: Doc, src: dict[str, str]) -> None:
    substance = [
        {"substance": key.split(".", 1)[1], "status": a.value}
        for key, a in sorted(answers.items())
        if key.startswith("substance.") and a.value in SUBSTANCE_STATUSES
    ]
    doc["substance_use"] = substance or None
    if substance:
        src["substance_use"] = "screening answers"


def _prior_trials(s: Session, patient_id: int, doc: Doc, src: dict[str, str]) -> None:
    trials = s.scalars(
        select(TreatmentTrial)
        .where(TreatmentTrial.patient_id == patient_id, TreatmentTrial.entered_in_error.is_(False))
        .order_by(TreatmentTrial.id)
    ).all()
    if trials:
        doc["prior_trials"] = [
            {
                "kind": t.kind,
                "drug": t.name if t.kind == "medication" else None,
                "therapy": _therapy(t.name) if t.kind == "psychotherapy" else None,
                "dose_mg_per_day": t.dose_mg_per_day if t.kind == "medication" else None,
                "weeks": t.weeks,
                "sessions": t.sessions if t.kind == "psychotherapy" else None,
                "adherence": t.adherence,
                "outcome": _OUTCOMES.get(t.outcome, t.outcome),
                "reason_stopped": t.reason_stopped,
            }
            for t in trials
        ]
        src["prior_trials"] = f"{len(trials)} prior trials on the chart"
    else:
        doc["prior_trials"] = None


def _scores(s: Session, patient_id: int, today: date, doc: Doc, src: dict[str, str]) -> None:
    scores = []
    for sc in latest_scores(s, patient_id, instrument_ids=list(_INSTRUMENTS)):
        if sc.total is None or sc.answered_at.date() > today:
            continue
        scores.append(
            {"instrument": _INSTRUMENTS[sc.instrument_id], "total": sc.total, "date": _day(sc.answered_at)}
        )
    doc["severity_scores"] = scores or None
    if scores:
        src["severity_scores"] = (
            "latest questionnaire per instrument ("
            + ", ".join(f"{x['instrument']} {x['total']:g} on {x['date']}" for x in scores)
            + ")"
        )


def _has_blood_pressure(v: VitalSign) -> bool:
    return v.sbp_mmhg is not None and v.dbp_mmhg is not None


def _has_heart_rate(v: VitalSign) -> bool:
    return v.hr_per_min is not None


def _vitals(s: Session, patient_id: int, today: date, doc: dict[str, Any], src: dict[str, str]) -> None:
    screening = sessions.latest_vitals(s, patient_id, context="screening")
    anyone = sessions.latest_vitals(s, patient_id)
    doc["blood_pressure"] = doc["heart_rate"] = None
    for key, has in (("blood_pressure", _has_blood_pressure), ("heart_rate", _has_heart_rate)):
        row = next(
            (v for v in (screening, anyone) if v is not None and has(v) and v.measured_at.date() <= today),
            None,
        )
        if row is None:
            continue
        when = row.measured_at.strftime("%Y-%m-%d %H:%M")
        origin = (
            "screening reading" if row.context == "screening" else f"latest reading (context {row.context})"
        )
        if key == "blood_pressure":
            doc[key] = {
                "systolic_mmhg": row.sbp_mmhg,
                "diastolic_mmhg": row.dbp_mmhg,
                "date": _day(row.measured_at),
            }
        else:
            doc[key] = {"bpm": row.hr_per_min, "date": _day(row.measured_at)}
        src[key] = f"{origin} {when} UTC"


# --- reading and storing evaluations -------------------------------------------------------------------------


def effective_decision(row: EligibilityEvaluation) -> str:
    """Return the decision that stands: the prescriber's override when there is one, else the engine's."""
    return row.override_decision if row.status == "overridden" and row.override_decision else row.decision


def _read(row: EligibilityEvaluation) -> EvaluationRead:
    return EvaluationRead.model_validate(
        {
            **{c: getattr(row, c) for c in EvaluationRead.model_fields if c != "effective_decision"},
            "effective_decision": effective_decision(row),
        }
    )


def _latest_row(s: Session, patient_id: int) -> EligibilityEvaluation | None:
    return s.scalars(
        select(EligibilityEvaluation)
        .where(EligibilityEvaluation.patient_id == patient_id)
        .order_by(EligibilityEvaluation.evaluated_at.desc(), EligibilityEvaluation.id.desc())
        .limit(1)
    ).first()


def _as_evaluation_dict(row: EligibilityEvaluation) -> dict[str, Any]:
    return {**row.evaluation, "facts": row.facts}


def _with_record_at(missing: list[dict[str, Any]], patient_id: int) -> list[dict[str, Any]]:
    out = []
    for m in missing:
        base = m["key"].split("[", 1)[0].split(".", 1)[0]
        where, url = RECORD_AT.get(base, (m["where"], f"/patients/{{pid}}#{base}"))
        out.append({**m, "record_at": where, "record_url": url.format(pid=patient_id)})
    return out


def _needs_new_row(diff_dict: dict[str, Any]) -> bool:
    facts = set(diff_dict["facts_changed"]) - {"screening_date"}
    return bool(diff_dict["changed"] or diff_dict["versions"] or facts)


def evaluate_patient(*, db: Database, actor: Actor, patient_id: int) -> EvaluateResult:
    """Evaluate a patient's screening facts now; store it only if something changed since the last one."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("evaluate", "eligibility", patient_id=patient_id)
        s = uow.session
        now = clock.now()
        doc, sources = build_facts(s, patient_id, now.date())
        facts = facts_from_dict(doc)
        result = evaluate(facts, clinic_settings()).to_dict()
        previous = _latest_row(s, patient_id)
        diff = None
        if previous is not None:
            diff = diff_evaluations(_as_evaluation_dict(previous), result).to_dict()
            if not _needs_new_row(diff):
                return EvaluateResult(
                    stored=False,
                    evaluation=_read(previous),
                    diff=diff,
                    message="Nothing changed since the last evaluation; it still stands.",
                )
        evaluation = {k: v for k, v in result.items() if k != "facts"}
        evaluation["missing"] = _with_record_at(evaluation["missing"], patient_id)
        evaluation["record_sources"] = sources
        evaluation["diff"] = diff
        tr = evaluation["treatment_resistance"]
        row = EligibilityEvaluation(
            patient_id=patient_id,
            evaluated_at=now,
            evaluated_by=actor.user_id,
            rule_set=result["rule_set"],
            rule_set_version=str(tr["rule_set_version"]),
            catalogue_version=result["catalogue_version"],
            decision=result["decision"],
            evaluation=evaluation,
            facts=facts_to_dict(facts),
            previous_id=previous.id if previous else None,
            status="pending_review",
        )
        s.add(row)
        superseded = []
        for old in s.scalars(
            select(EligibilityEvaluation).where(
                EligibilityEvaluation.patient_id == patient_id, EligibilityEvaluation.status != "superseded"
            )
        ):
            if old is not row:
                old.status, old.superseded_at = "superseded", now
                superseded.append(old.id)
        s.flush()
        uow.audit(
            "evaluate",
            "eligibility",
            row.id,
            patient_id=patient_id,
            details={
                "decision": row.decision,
                "rule_set": row.rule_set,
                "catalogue_version": row.catalogue_version,
                "findings": [f["rule_id"] for f in evaluation["findings"]],
                "missing": [m["key"] for m in evaluation["missing"]],
                "superseded": superseded,
            },
        )
        if previous is None:
            message = "First evaluation stored; it waits for a prescriber's review."
        elif diff and diff["decision"]:
            message = "Decision changed since the last evaluation: " + " → ".join(
                d.replace("_", " ") for d in diff["decision"]
            )
        else:
            message = "Facts changed since the last evaluation; a new evaluation was stored."
        return EvaluateResult(stored=True, evaluation=_read(row), diff=diff, message=message)


def latest_evaluation(*, db: Database, actor: Actor, patient_id: int) -> EvaluationRead | None:
    """Return the patient's newest stored evaluation (any status), or None."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "eligibility", patient_id=patient_id)
        if uow.session.get(Patient, patient_id) is None:
            raise NotFound("patient")
        row = _latest_row(uow.session, patient_id)
        uow.audit("view", "eligibility", row.id if row else None, patient_id=patient_id)
        return None if row is None else _read(row)


def screening_view(*, db: Database, actor: Actor, patient_id: int) -> ScreeningView:
    """Return what the screening page shows: latest evaluation, the last few, answers, current facts, vitals."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "eligibility", patient_id=patient_id)
        s = uow.session
        p = s.get(Patient, patient_id)
        if p is None:
            raise NotFound("patient")
        rows = s.scalars(
            select(EligibilityEvaluation)
            .where(EligibilityEvaluation.patient_id == patient_id)
            .order_by(EligibilityEvaluation.evaluated_at.desc(), EligibilityEvaluation.id.desc())
            .limit(10)
        ).all()
        answers = latest_answers(s, patient_id)
        screening = sessions.latest_vitals(s, patient_id, context="screening")
        current = current_evaluation(s, patient_id)
        ids = {i for r in rows for i in (r.evaluated_by, r.reviewed_by) if i is not None}
        names = people.names_by_id(s, ids)
        uow.audit("view", "eligibility", rows[0].id if rows else None, patient_id=patient_id)
        return ScreeningView(
            user_names=names,
            patient=ScreeningPatient(
                id=p.id,
                name=f"{p.family_name}, {p.given_name}",
                mrn=p.mrn,
                sex_at_birth=p.sex_at_birth,
                date_of_birth=p.date_of_birth,
            ),
            latest=_read(rows[0]) if rows else None,
            history=[_read(r) for r in rows[1:]],
            answers={k: ScreeningAnswerRead.model_validate(a) for k, a in answers.items()},
            screening_vitals=None
            if screening is None
            else ScreeningVitals(
                sbp=screening.sbp_mmhg,
                dbp=screening.dbp_mmhg,
                hr=screening.hr_per_min,
                measured_at=screening.measured_at,
            ),
            current_id=current.id if current else None,
        )


def review_evaluation(
    *, db: Database, actor: Actor, patient_id: int, evaluation_id: int, data: ReviewIn
) -> EvaluationRead:
    """Record the prescriber's review, signed (re-authenticated): accept the decision, or override it with a
    written reason."""
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="eligibility_accept" if data.action == "accept" else "eligibility_override",
        credentials=data,
        policy=("decide", "eligibility"),
        resource_id=evaluation_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("decide", "eligibility", patient_id=patient_id)
        s = uow.session
        row = s.get(EligibilityEvaluation, evaluation_id)
        if row is None or row.patient_id != patient_id:
            raise NotFound("eligibility evaluation")
        if row.version != data.version:
            raise Conflict("eligibility evaluation", current_version=row.version, sent_version=data.version)
        if row.status not in REVIEWABLE:
            raise InvalidValue(
                "action",
                f"this evaluation is already {row.status.replace('_', ' ')}; "
                + (
                    "re-evaluate to review the current facts"
                    if row.status == "superseded"
                    else "it cannot be reviewed twice"
                ),
            )
        now = clock.now()
        row.reviewed_by, row.reviewed_at, row.review_meaning = actor.user_id, now, signed.meaning
        if data.action == "accept":
            row.status = "accepted"
            uow.audit(
                "sign",
                "eligibility",
                row.id,
                patient_id=patient_id,
                details={"decision": row.decision, "action": "accept", **signed.audit_details()},
            )
        else:
            if data.decision == row.decision:
                raise InvalidValue(
                    "decision", "an override must record a different decision; to agree, accept it"
                )
            row.status, row.override_decision, row.override_reason = "overridden", data.decision, data.reason
            uow.audit(
                "override",
                "eligibility",
                row.id,
                patient_id=patient_id,
                reason=data.reason,
                details={"from": row.decision, "to": data.decision, **signed.audit_details()},
            )
        s.flush()
        return _read(row)


def record_answers(
    *, db: Database, actor: Actor, patient_id: int, data: ScreeningAnswersIn
) -> list[ScreeningAnswerRead]:
    """Record screening answers (only the ones that changed are stored; the newest answer per fact counts)."""
    for key, value in data.answers.items():
        if key not in QUESTIONS:
            raise InvalidValue(f"answers.{key}", f"unknown screening question '{key}'")
        if value not in QUESTIONS[key][1]:
            raise InvalidValue(f"answers.{key}", f"must be one of {', '.join(QUESTIONS[key][1])}")
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        current = latest_answers(s, patient_id)
        now = clock.now()
        stored = []
        for key, value in sorted(data.answers.items()):
            if key in current and current[key].value == value:
                continue
            a = ScreeningAnswer(
                patient_id=patient_id,
                fact=key,
                value=value,
                note=data.note,
                recorded_by=actor.user_id,
                recorded_at=now,
            )
            s.add(a)
            stored.append(a)
        s.flush()
        if stored:
            uow.audit(
                "create",
                "screening_answers",
                patient_id,
                patient_id=patient_id,
                details={"facts": {a.fact: a.value for a in stored}},
            )
        return [ScreeningAnswerRead.model_validate(a) for a in stored]


# An evaluation that can stand for treatment: accepted, or overridden to eligible / eligible with cautions.
_STANDING = or_(
    EligibilityEvaluation.status == "accepted",
    (EligibilityEvaluation.status == "overridden") & EligibilityEvaluation.override_decision.in_(ELIGIBLE),
)


def current_evaluation(session: Session, patient_id: int) -> EligibilityEvaluation | None:
    """Return the evaluation that stands for treatment, or None (for issue #7's pre-session check).

    That is the newest evaluation that is accepted (any decision: read `effective_decision(row)`) or overridden
    to eligible / eligible with cautions, not superseded, and whose facts are still current: no vitals outside a
    session, medication, allergy, diagnosis, prior trial or screening answer recorded (or medication stopped)
    after it was evaluated. No authorization here; the caller has authorized its own use case.
    """
    return current_evaluations(session, [patient_id])[patient_id]


def current_evaluations(session: Session, patient_ids: Iterable[int]) -> dict[int, EligibilityEvaluation | None]:
    """Return `current_evaluation` for many patients (the live board's chairs) in a fixed number of statements,
    keyed by patient id; no authorization here."""
    ids = sorted(set(patient_ids))
    out: dict[int, EligibilityEvaluation | None] = dict.fromkeys(ids)
    if not ids:
        return out
    rank = (
        func.row_number()
        .over(
            partition_by=EligibilityEvaluation.patient_id,
            order_by=(EligibilityEvaluation.evaluated_at.desc(), EligibilityEvaluation.id.desc()),
        )
        .label("rank")
    )
    newest = (
        select(EligibilityEvaluation.id, rank)
        .where(EligibilityEvaluation.patient_id.in_(ids), _STANDING)
        .subquery()
    )
    rows = list(
        session.scalars(
            select(EligibilityEvaluation)
            .join(newest, newest.c.id == EligibilityEvaluation.id)
            .where(newest.c.rank == 1)
        )
    )
    latest = _latest_facts(session, [r.patient_id for r in rows])
    for r in rows:
        if not any(_after(when, r.evaluated_at) for when in latest.get(r.patient_id, ())):
            out[r.patient_id] = r
    return out


def _after(when: datetime | date | None, at: datetime) -> bool:
    if when is None:
        return False
    if isinstance(when, datetime):
        return when > at
    return when >= at.date()  # a medication's end date on or after the evaluation's day


def _latest_facts(s: Session, patient_ids: list[int]) -> dict[int, list[datetime | date | None]]:
    """Return, per patient, the newest time each kind of fact that makes an evaluation stale was recorded."""
    out: dict[int, list[datetime | date | None]] = {}
    if not patient_ids:
        return out
    queries: list[Executable] = [
        select(VitalSign.patient_id, func.max(VitalSign.received_at))
        .where(VitalSign.patient_id.in_(patient_ids), VitalSign.session_id.is_(None))
        .group_by(VitalSign.patient_id),
        select(Medication.patient_id, func.max(Medication.created_at), func.max(Medication.end_date))
        .where(Medication.patient_id.in_(patient_ids))
        .group_by(Medication.patient_id),
        *(
            select(t.patient_id, func.max(col))
            .where(t.patient_id.in_(patient_ids))
            .group_by(t.patient_id)
            for t, col in (
                (Diagnosis, Diagnosis.created_at),
                (TreatmentTrial, TreatmentTrial.created_at),
                (Allergy, Allergy.created_at),
                (ScreeningAnswer, ScreeningAnswer.recorded_at),
            )
        ),
    ]
    for q in queries:
        for pid, *times in s.execute(q):
            out.setdefault(int(pid), []).extend(times)
    return out
