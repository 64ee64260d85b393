"""Patient-record use cases: create, read the chart, update, list and search, add clinical entries."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

from ketacare.domain import units
from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.patients.diagnoses import find_concept
from ketacare.domain.patients.names import normalize_name, prefix_upper_bound, similar_names
from ketacare.services import clock
from ketacare.services.access import Actor, decide, roles_for
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.patients.care_team import my_patient_ids
from ketacare.services.patients.corrections import revision_rows
from ketacare.services.patients.medication_names import check_medication
from ketacare.services.patients.schemas import (
    AllergyCreate,
    AllergyRead,
    ChartRead,
    ClinicalRecord,
    DiagnosisCreate,
    DiagnosisRead,
    MeasurementCreate,
    MeasurementRead,
    MedicationCreate,
    MedicationRead,
    PatientCreate,
    PatientPage,
    PatientRead,
    PatientSummary,
    PatientUpdate,
    TrialCreate,
    TrialRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import (
    Allergy,
    BodyMeasurement,
    Diagnosis,
    Medication,
    Patient,
    TreatmentTrial,
    User,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_PER_PAGE = 200
ADULT_AGE = 18  # the program treats adults; a younger patient is registered only when confirmed


def _get_patient(s: Session, patient_id: int) -> Patient:
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def _new_mrn(s: Session) -> str:
    while True:
        candidate = f"K{secrets.randbelow(10**7):07d}"
        if s.scalar(select(func.count()).select_from(Patient).where(Patient.mrn == candidate)) == 0:
            return candidate


def _mrn_taken(s: Session, mrn: str, except_id: int | None = None) -> bool:
    q = select(Patient.id).where(Patient.mrn == mrn)
    if except_id is not None:
        q = q.where(Patient.id != except_id)
    return s.scalar(q) is not None


def _check_clinician(s: Session, user_id: int | None) -> None:
    if user_id is None:
        return
    u = s.get(User, user_id)
    clinicians = roles_for("primary_clinician", "patient")
    if u is None or u.role not in clinicians or not u.is_active:
        who = " or ".join(filter(None, [", ".join(clinicians[:-1]), clinicians[-1]]))
        raise InvalidValue("primary_clinician_id", f"no active clinician ({who}) has that id")


def create_patient(*, db: Database, actor: Actor, data: PatientCreate) -> PatientRead:
    """Create a patient (and a first weight/height measurement when given)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "patient")
        s = uow.session
        if data.mrn and _mrn_taken(s, data.mrn):
            raise InvalidValue("mrn", f"MRN {data.mrn} is already used by another patient")
        _check_clinician(s, data.primary_clinician_id)
        now = clock.now()
        _check_new_patient(s, data, now.date())
        p = Patient(
            mrn=data.mrn or _new_mrn(s),
            given_name=data.given_name,
            family_name=data.family_name,
            given_name_norm=normalize_name(data.given_name),
            family_name_norm=normalize_name(data.family_name),
            date_of_birth=data.date_of_birth,
            sex_at_birth=data.sex_at_birth,
            gender_identity=data.gender_identity,
            phone=data.phone,
            email=data.email,
            address=data.address,
            emergency_contact_name=data.emergency_contact_name,
            emergency_contact_phone=data.emergency_contact_phone,
            escort_name=data.escort_name,
            escort_phone=data.escort_phone,
            primary_clinician_id=data.primary_clinician_id,
            created_at=now,
            updated_at=now,
        )
        s.add(p)
        s.flush()
        if data.weight or data.height:
            if not decide(actor, "write", "patient_clinical").allowed:
                raise InvalidValue(
                    "weight", "your role records demographics only; a nurse records weight and height"
                )
            _add_measurement_row(
                s,
                actor,
                p.id,
                units.parse_weight(data.weight) if data.weight else None,
                units.parse_height(data.height) if data.height else None,
                " / ".join(x for x in (data.weight, data.height) if x),
                now,
            )
        uow.audit("create", "patient", p.id, patient_id=p.id, details={"mrn": p.mrn})
        return PatientRead.model_validate(p)


def possible_duplicates(s: Session, given_name: str, family_name: str, born: date) -> list[Patient]:
    """Return patients born on `born` whose name is the same or similar (typo, swapped names, prefix)."""
    given, family = normalize_name(given_name), normalize_name(family_name)
    out = []
    for p in s.scalars(select(Patient).where(Patient.date_of_birth == born).order_by(Patient.id)):
        if similar_names((given, family), (p.given_name_norm, p.family_name_norm)):
            out.append(p)
    return out


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _check_new_patient(s: Session, data: PatientCreate, today: date) -> None:
    """Refuse, until confirmed, a possible duplicate patient and a patient under 18 (naming what was found)."""
    problems: dict[str, str] = {}
    if not data.confirm_not_duplicate:
        dups = possible_duplicates(s, data.given_name, data.family_name, data.date_of_birth)
        if dups:
            listed = "; ".join(f"{p.family_name}, {p.given_name} ({p.mrn})" for p in dups[:5])
            problems["confirm_not_duplicate"] = (
                f"A patient with the same birth date and a similar name is already registered: {listed}. "
                "Open that record, or tick 'This is a different person' to create a new one"
            )
    if not data.confirm_under_18 and _age_on(data.date_of_birth, today) < ADULT_AGE:
        problems["confirm_under_18"] = (
            f"This patient is {_age_on(data.date_of_birth, today)}, younger than {ADULT_AGE}: the program is for "
            "adults. Check the date of birth, or tick 'Register a patient under 18' to go on"
        )
    if problems:
        raise InvalidValues(problems)


def get_chart(*, db: Database, actor: Actor, patient_id: int) -> ChartRead:
    """Return a patient's chart, with the clinical sections the actor's role may read; one view event."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "patient", patient_id=patient_id)
        # A read with nothing pending: rows straight from the connection (Core), no ORM entities or autoflush
        # (issue 15: loading entities was about a third of a chart read's CPU).
        conn = uow.session.connection()
        at = {"patient_id": patient_id}
        p = conn.execute(_PATIENT_ROW, at).first()
        if p is None:
            raise NotFound("patient")
        clinical = None
        hidden: list[str] = []
        if decide(actor, "read", "patient_clinical", patient_id=patient_id).allowed:
            clinical = _clinical_record(conn, patient_id)
        else:
            hidden = ["measurements", "diagnoses", "medications", "allergies", "treatment_trials"]
        uow.audit(
            "view",
            "patient_chart",
            patient_id,
            patient_id=patient_id,
            details={"sections": "demographics" if clinical is None else "demographics+clinical"},
        )
        return ChartRead(patient=PatientRead.model_validate(p), clinical=clinical, sections_hidden=hidden)


# The chart's statements, built once: every chart read reuses them (and their cached compiled form) instead of
# building and hashing new statements (issue 15: statement building was a fifth of a chart read's CPU). They
# select only the columns the read models show, so rows come back, not entities (the models take them by name),
# and the driver describes fewer columns.
_PATIENT: BindParameter[int] = bindparam("patient_id", type_=Integer)


def _columns(entity: type[Any], shape: type[BaseModel]) -> list[Any]:
    return [c for c in entity.__table__.c if c.name in shape.model_fields]


def _rows_of(entity: type[Any], shape: type[BaseModel]) -> Select[Any]:
    return select(*_columns(entity, shape)).where(entity.__table__.c.patient_id == _PATIENT)


_PATIENT_ROW = select(*_columns(Patient, PatientRead)).where(Patient.__table__.c.id == _PATIENT)
_MEASUREMENTS = _rows_of(BodyMeasurement, MeasurementRead).order_by(BodyMeasurement.measured_at, BodyMeasurement.id)
_DIAGNOSES = _rows_of(Diagnosis, DiagnosisRead).order_by(Diagnosis.id)
_MEDICATIONS = _rows_of(Medication, MedicationRead).order_by(Medication.active.desc(), Medication.name)
_ALLERGIES = _rows_of(Allergy, AllergyRead).order_by(Allergy.id)
_TRIALS = _rows_of(TreatmentTrial, TrialRead).order_by(
    TreatmentTrial.start_date.is_(None), TreatmentTrial.start_date, TreatmentTrial.id
)


def rehearse(conn: Connection) -> None:
    """Run the chart's reads once with a patient id no row has (a new process compiles them before its first chart
    read); nothing is read, written or audited."""
    conn.execute(_PATIENT_ROW, {"patient_id": -1}).first()
    _clinical_record(conn, -1)


def _clinical_record(conn: Connection, patient_id: int) -> ClinicalRecord:
    at = {"patient_id": patient_id}
    ms = conn.execute(_MEASUREMENTS, at).all()
    reads, last_w, last_w_at, last_h = [], None, None, None
    for m in ms:
        if m.entered_in_error:
            reads.append(MeasurementRead.model_validate(m))
            continue
        if m.height_cm is not None:
            last_h = m.height_cm
        if m.weight_kg is not None:
            last_w, last_w_at = m.weight_kg, m.measured_at
        r = MeasurementRead.model_validate(m)
        h = m.height_cm if m.height_cm is not None else last_h
        if m.weight_kg is not None and h is not None:
            r.bmi_kg_per_m2 = round(units.bmi(m.weight_kg, h), 1)
        reads.append(r)
    latest_bmi = round(units.bmi(last_w, last_h), 1) if last_w is not None and last_h is not None else None
    return ClinicalRecord(
        measurements=reads,
        latest_weight_kg=last_w,
        latest_weight_at=last_w_at,
        latest_height_cm=last_h,
        latest_bmi_kg_per_m2=latest_bmi,
        diagnoses=[DiagnosisRead.model_validate(d) for d in conn.execute(_DIAGNOSES, at)],
        medications=[MedicationRead.model_validate(m) for m in conn.execute(_MEDICATIONS, at)],
        allergies=[AllergyRead.model_validate(a) for a in conn.execute(_ALLERGIES, at)],
        trials=[TrialRead.model_validate(t) for t in conn.execute(_TRIALS, at)],
        revisions=revision_rows(conn, patient_id),
    )


def update_patient(*, db: Database, actor: Actor, patient_id: int, data: PatientUpdate) -> PatientRead:
    """Change demographics if `data.version` is still current; otherwise raise Conflict naming the version."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("update", "patient", patient_id=patient_id)
        s = uow.session
        p = _get_patient(s, patient_id)
        if p.version != data.version:
            raise Conflict("patient", current_version=p.version, sent_version=data.version)
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        if "mrn" in changes and changes["mrn"] and _mrn_taken(s, changes["mrn"], except_id=p.id):
            raise InvalidValue("mrn", f"MRN {changes['mrn']} is already used by another patient")
        if "primary_clinician_id" in changes:
            _check_clinician(s, changes["primary_clinician_id"])
        for required in ("mrn", "given_name", "family_name", "date_of_birth", "sex_at_birth"):
            if required in changes and changes[required] is None:
                raise InvalidValue(required, f"{required.replace('_', ' ')} cannot be emptied")
        changed = sorted(k for k, v in changes.items() if getattr(p, k) != v)
        for k in changed:
            setattr(p, k, changes[k])
        if "given_name" in changed:
            p.given_name_norm = normalize_name(p.given_name)
        if "family_name" in changed:
            p.family_name_norm = normalize_name(p.family_name)
        if changed:
            p.updated_at = clock.now()
            try:
                s.flush()
            except StaleDataError:
                s.rollback()
                with db.sessions() as fresh:
                    current = fresh.scalar(select(Patient.version).where(Patient.id == patient_id))
                raise Conflict("patient", current_version=current or -1, sent_version=data.version) from None
        uow.audit("update", "patient", patient_id, patient_id=patient_id, details={"fields": changed})
        return PatientRead.model_validate(p)


def search_patients(
    *,
    db: Database,
    actor: Actor,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
    mine: bool = False,
) -> PatientPage:
    """List patients, or search them by name prefix, MRN or date of birth (YYYY-MM-DD); paged. `mine` keeps
    the patients whose care team includes the actor (or who name the actor primary clinician)."""
    if page < 1:
        raise InvalidValue("page", "page starts at 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidValue("per_page", f"per_page must be between 1 and {MAX_PER_PAGE}")
    with UnitOfWork(db, actor) as uow:
        uow.authorize("list", "patient")
        s = uow.session
        cond = _search_condition(q)
        if mine:
            own = Patient.id.in_(my_patient_ids(actor.user_id or 0))
            cond = own if cond is None else and_(cond, own)
        base = select(Patient)
        count = select(func.count()).select_from(Patient)
        if cond is not None:
            base, count = base.where(cond), count.where(cond)
        total = s.scalar(count) or 0
        rows = s.scalars(
            base.order_by(Patient.family_name_norm, Patient.given_name_norm, Patient.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        uow.audit(
            "search" if q else "list",
            "patient",
            details={"query": q or "", "results": total, "page": page, "mine": mine},
        )
        return PatientPage(
            items=[PatientSummary.model_validate(r) for r in rows], total=total, page=page, per_page=per_page
        )


def _prefix(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    return and_(column >= prefix, column < prefix_upper_bound(prefix))


def _search_condition(q: str | None) -> ColumnElement[bool] | None:
    if q is None or not q.strip():
        return None
    raw = q.strip()
    if _DATE.match(raw):
        try:
            return Patient.date_of_birth == date.fromisoformat(raw)
        except ValueError:
            raise InvalidValue("q", f"'{raw}' is not a real date (YYYY-MM-DD)") from None
    if any(ch.isdigit() for ch in raw):
        return _prefix(Patient.mrn, raw.upper())
    if "," in raw:
        family, _, given = (normalize_name(x) for x in raw.partition(","))
        parts = [_prefix(Patient.family_name_norm, family)] if family else []
        if given:
            parts.append(_prefix(Patient.given_name_norm, given))
        return and_(*parts) if parts else None
    tokens = normalize_name(raw).split(" ")
    if len(tokens) == 1:
        t = tokens[0]
        return or_(_prefix(Patient.family_name_norm, t), _prefix(Patient.given_name_norm, t))
    first, rest = tokens[0], " ".join(tokens[1:])
    return or_(
        and_(_prefix(Patient.given_name_norm, first), _prefix(Patient.family_name_norm, rest)),
        and_(_prefix(Patient.family_name_norm, first), _prefix(Patient.given_name_norm, rest)),
        _prefix(Patient.family_name_norm, normalize_name(raw)),
    )


def _add_measurement_row(
    s: Session,
    actor: Actor,
    patient_id: int,
    weight_kg: float | None,
    height_cm: float | None,
    entered_as: str | None,
    measured_at: datetime,
) -> BodyMeasurement:
    m = BodyMeasurement(
        patient_id=patient_id,
        measured_at=measured_at,
        weight_kg=weight_kg,
        height_cm=height_cm,
        entered_as=(entered_as or "")[:40] or None,
        recorded_by=actor.user_id,
        created_at=clock.now(),
    )
    s.add(m)
    s.flush()
    return m


def add_measurement(
    *, db: Database, actor: Actor, patient_id: int, data: MeasurementCreate
) -> MeasurementRead:
    """Record a dated weight and/or height (typed with units, stored in kg and cm)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        _get_patient(uow.session, patient_id)
        when = data.measured_at or clock.now()
        if when > clock.now():
            raise InvalidValue("measured_at", "a measurement cannot be in the future")
        m = _add_measurement_row(
            uow.session,
            actor,
            patient_id,
            data.weight_kg(),
            data.height_cm(),
            " / ".join(x for x in (data.weight, data.height) if x),
            when,
        )
        uow.audit(
            "create",
            "body_measurement",
            m.id,
            patient_id=patient_id,
            details={"weight_kg": m.weight_kg, "height_cm": m.height_cm},
        )
        return MeasurementRead.model_validate(m)


def add_diagnosis(*, db: Database, actor: Actor, patient_id: int, data: DiagnosisCreate) -> DiagnosisRead:
    """Add a coded diagnosis from the shipped code list."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        _get_patient(uow.session, patient_id)
        c = find_concept(data.code, "code")
        d = Diagnosis(
            patient_id=patient_id,
            concept=c.concept,
            display=c.display,
            icd10cm=c.icd10cm or None,
            icd11=c.icd11 or None,
            status=data.status,
            onset_date=data.onset_date,
            note=data.note,
            recorded_by=actor.user_id,
            created_at=clock.now(),
        )
        uow.session.add(d)
        uow.session.flush()
        uow.audit("create", "diagnosis", d.id, patient_id=patient_id, details={"concept": c.concept})
        return DiagnosisRead.model_validate(d)


def add_medication(*, db: Database, actor: Actor, patient_id: int, data: MedicationCreate) -> MedicationRead:
    """Add a current medication with its dose as prescribed."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        _get_patient(uow.session, patient_id)
        name = check_medication(
            data.name, data.dose_value, data.dose_unit, data.times_per_day, data.name_checked
        )
        m = Medication(
            patient_id=patient_id,
            recorded_by=actor.user_id,
            created_at=clock.now(),
            active=True,
            **data.model_dump(exclude={"name", "name_checked"}),
            name=name,
        )
        uow.session.add(m)
        uow.session.flush()
        uow.audit("create", "medication", m.id, patient_id=patient_id, details={"name": m.name})
        return MedicationRead.model_validate(m)


def add_allergy(*, db: Database, actor: Actor, patient_id: int, data: AllergyCreate) -> AllergyRead:
    """Record an allergy or intolerance."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        _get_patient(uow.session, patient_id)
        a = Allergy(
            patient_id=patient_id, recorded_by=actor.user_id, created_at=clock.now(), **data.model_dump()
        )
        uow.session.add(a)
        uow.session.flush()
        uow.audit("create", "allergy", a.id, patient_id=patient_id, details={"substance": a.substance})
        return AllergyRead.model_validate(a)


def add_trial(*, db: Database, actor: Actor, patient_id: int, data: TrialCreate) -> TrialRead:
    """Record a prior treatment trial (medication dose or psychotherapy sessions, duration, outcome)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        _get_patient(uow.session, patient_id)
        fields = data.model_dump()
        fields["weeks"] = data.duration_weeks()
        t = TreatmentTrial(patient_id=patient_id, recorded_by=actor.user_id, created_at=clock.now(), **fields)
        uow.session.add(t)
        uow.session.flush()
        uow.audit(
            "create", "treatment_trial", t.id, patient_id=patient_id, details={"kind": t.kind, "name": t.name}
        )
        return TrialRead.model_validate(t)
