"""Course safety (issue 16 point 7): record pregnancy-test applicability and results, urine toxicology, misuse
checklists and PUF totals; compute the course-safety checks (with cumulative dose) that the chart shows and the
session pre-checks read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans.safety import (
    Applicability,
    Check,
    CumulativeDose,
    DatedResult,
    DoseGiven,
    SafetySettings,
    Screen,
    safety_settings,
)
from ketacare.domain.plans.safety import course_checks as domain_checks
from ketacare.services import clock, measurement, sessions
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.plans.safety_schemas import (
    CheckRead,
    CourseSafetyRead,
    CumulativeRead,
    DoseRead,
    MisuseCheckIn,
    MisuseSignRead,
    PregnancyApplicabilityIn,
    PregnancyTestIn,
    PufIn,
    SafetyRecordRead,
    ToxResultIn,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient, User
from ketacare.store.tables.plans import CourseSafetyRecord

PUF = "puf"
RESOURCE = "course_safety"


@dataclass(frozen=True)
class CourseChecks:
    """The course-safety lines at a moment, the cumulative totals and the doses they were computed from."""

    checks: tuple[Check, ...]
    cumulative: CumulativeDose
    doses: tuple[sessions.GivenDose, ...]
    puf_latest: measurement.ScoreSummary | None

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    @property
    def holds(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "hold")


def _records(s: Session, patient_id: int) -> dict[str, list[CourseSafetyRecord]]:
    """Return the patient's course-safety records by kind, newest first (one statement)."""
    by_kind: dict[str, list[CourseSafetyRecord]] = defaultdict(list)
    for r in s.scalars(
        select(CourseSafetyRecord)
        .where(CourseSafetyRecord.patient_id == patient_id)
        .order_by(CourseSafetyRecord.taken_at.desc(), CourseSafetyRecord.id.desc())
    ):
        by_kind[r.kind].append(r)
    return by_kind


def _results(rows: Sequence[CourseSafetyRecord], now: datetime) -> list[DatedResult]:
    return [DatedResult(r.taken_at, r.result or "", r.method or "") for r in rows if r.taken_at <= now]


def course_checks(
    s: Session, patient_id: int, now: datetime, settings: SafetySettings | None = None
) -> CourseChecks:
    """Return the course-safety checks for a patient at `now` (no authorization: callers authorize)."""
    settings = settings or safety_settings()
    records = _records(s, patient_id)
    applic = records["pregnancy_applicability"]
    applicability = (
        Applicability(bool(applic[0].applicable), applic[0].note or "") if applic else None
    )
    puf = measurement.latest_scores(s, patient_id, instrument_ids=[PUF])
    puf_latest = puf[0] if puf else None
    misuse = [
        Screen(r.taken_at, signs=tuple(r.signs or ()))
        for r in records["misuse_check"]
        if r.taken_at <= now
    ]
    given = tuple(sessions.doses_given(s, patient_id, now))
    checks, total = domain_checks(
        applicability=applicability,
        pregnancy_tests=_results(records["pregnancy_test"], now),
        tox_results=_results(records["toxicology"], now),
        puf=[Screen(p.answered_at, total=p.total) for p in puf if p.total is not None and p.answered_at <= now],
        misuse=misuse,
        doses=[DoseGiven(d.at, d.product, d.dose_mg, d.dose_mg_per_kg) for d in given],
        now=now,
        settings=settings,
    )
    return CourseChecks(checks, total, given, puf_latest)


def course_safety(*, db: Database, actor: Actor, patient_id: int) -> CourseSafetyRead:
    """Return the course-safety panel for a patient: checks with reasons, cumulative dose, records."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        s = uow.session
        p = _patient(s, patient_id)
        now = clock.now()
        cc = course_checks(s, patient_id, now)
        rows = s.scalars(
            select(CourseSafetyRecord)
            .where(CourseSafetyRecord.patient_id == patient_id)
            .order_by(CourseSafetyRecord.taken_at.desc(), CourseSafetyRecord.id.desc())
            .limit(50)
        ).all()
        uow.audit("view", RESOURCE, patient_id, patient_id=patient_id)
        settings = safety_settings()
        t = cc.cumulative
        return CourseSafetyRead(
            patient_id=patient_id,
            patient_name=f"{p.family_name}, {p.given_name}",
            mrn=p.mrn,
            at=now,
            checks=[CheckRead(id=c.id, label=c.label, status=c.status, reason=c.reason, source=c.source)
                    for c in cc.checks],
            cumulative=CumulativeRead(**{k: getattr(t, k) for k in CumulativeRead.model_fields}),
            doses=[DoseRead.model_validate(d, from_attributes=True) for d in cc.doses],
            records=[SafetyRecordRead.model_validate(r) for r in rows],
            puf_latest_total=None if cc.puf_latest is None else cc.puf_latest.total,
            puf_latest_at=None if cc.puf_latest is None else cc.puf_latest.answered_at,
            misuse_signs=[MisuseSignRead(id=m.id, text=m.text, source=m.source) for m in settings.misuse_signs],
            pregnancy_methods=list(settings.pregnancy_methods),
            tox_required=settings.tox_required,
        )


def pregnancy_methods() -> tuple[str, ...]:
    """Return the pregnancy-test methods the clinic accepts (data/safety.toml)."""
    return safety_settings().pregnancy_methods


def _patient(s: Session, patient_id: int) -> Patient:
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def _not_future(field: str, at: datetime, now: datetime) -> None:
    if at > now:
        raise InvalidValue(field, "this time is in the future")


def _store(
    uow: UnitOfWork, patient_id: int, kind: str, taken_at: datetime, **values: object
) -> SafetyRecordRead:
    s = uow.session
    _patient(s, patient_id)
    now = clock.now()
    name = uow.actor.username
    if uow.actor.user_id is not None:
        name = s.scalar(select(User.display_name).where(User.id == uow.actor.user_id)) or name
    row = CourseSafetyRecord(
        patient_id=patient_id,
        kind=kind,
        taken_at=taken_at,
        recorded_by=uow.actor.user_id,
        recorded_by_name=name,
        recorded_at=now,
        **values,
    )
    s.add(row)
    s.flush()
    details = {k: v for k, v in values.items() if k in ("result", "method", "applicable", "signs")}
    uow.audit("create", RESOURCE, row.id, patient_id=patient_id, details={"kind": kind, **details})
    return SafetyRecordRead.model_validate(row)


def record_pregnancy_applicability(
    *, db: Database, actor: Actor, patient_id: int, data: PregnancyApplicabilityIn
) -> SafetyRecordRead:
    """Record whether pregnancy tests apply to this patient, with the reason (the newest record counts)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", RESOURCE, patient_id=patient_id)
        return _store(uow, patient_id, "pregnancy_applicability", clock.now(), applicable=data.applicable,
                      note=data.reason)


def record_pregnancy_test(
    *, db: Database, actor: Actor, patient_id: int, data: PregnancyTestIn
) -> SafetyRecordRead:
    """Record a pregnancy test result (when taken, negative or positive, method)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", RESOURCE, patient_id=patient_id)
        _not_future("taken_at", data.taken_at, clock.now())
        methods = safety_settings().pregnancy_methods
        if data.method not in methods:
            raise InvalidValue("method", f"choose one of the clinic's methods: {', '.join(methods)}")
        return _store(uow, patient_id, "pregnancy_test", data.taken_at, result=data.result, method=data.method)


def record_tox_result(*, db: Database, actor: Actor, patient_id: int, data: ToxResultIn) -> SafetyRecordRead:
    """Record a urine toxicology result (when taken, result, method, what was positive)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", RESOURCE, patient_id=patient_id)
        _not_future("taken_at", data.taken_at, clock.now())
        if data.result != "negative" and not data.substances:
            raise InvalidValue("substances", "say what was positive")
        return _store(uow, patient_id, "toxicology", data.taken_at, result=data.result, method=data.method,
                      note=data.substances)


def record_misuse_check(
    *, db: Database, actor: Actor, patient_id: int, data: MisuseCheckIn
) -> SafetyRecordRead:
    """Record the clinic's misuse checklist: which signs were seen (none is a result too)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", RESOURCE, patient_id=patient_id)
        _not_future("checked_at", data.checked_at, clock.now())
        known = {m.id for m in safety_settings().misuse_signs}
        unknown = [x for x in data.signs if x not in known]
        if unknown:
            raise InvalidValue("signs", f"unknown sign {unknown[0]!r}")
        return _store(uow, patient_id, "misuse_check", data.checked_at, signs=sorted(set(data.signs)),
                      note=data.note)


def record_puf(*, db: Database, actor: Actor, patient_id: int, data: PufIn) -> measurement.ScoreSummary:
    """Record a PUF total as a clinician-entered questionnaire response (instrument `puf`)."""
    if data.taken_at > clock.now():
        raise InvalidValue("taken_at", "this time is in the future")
    read = measurement.submit_response(
        db=db,
        actor=actor,
        patient_id=patient_id,
        data=measurement.ResponseCreate(
            instrument_id=PUF, answers={"puf_total": data.total}, context="follow_up", answered_at=data.taken_at
        ),
    )
    return measurement.ScoreSummary.model_validate(read.model_dump(include=set(measurement.ScoreSummary.model_fields)))
