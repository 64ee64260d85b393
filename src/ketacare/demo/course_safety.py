"""Demo course safety (issue 16 point 7): pregnancy-test applicability for every patient (recorded with a reason),
valid negative tests, PUF totals and misuse checklists; one expired pregnancy test and one overdue PUF."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ketacare.services import clock, patients, plans
from ketacare.services.access import Actor

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 55  # after the demo sessions (50): the overdue PUF goes to a patient who is already in a course


def _nurse(ctx: DemoContext) -> Actor:
    return Actor(user_id=ctx.staff["nurse"], username="nurse", role="nurse")


def extend(ctx: DemoContext) -> None:
    """Record course-safety results for every demo patient (synthetic), with one expired and one overdue."""
    nurse, now, db = _nurse(ctx), clock.now(), ctx.db
    in_course: list[int] = []
    for pid in ctx.patient_ids:  # the first two patients already in a course (the demo sessions ran)
        if plans.course_safety(db=db, actor=nurse, patient_id=pid).doses:
            in_course.append(pid)
            if len(in_course) == 2:
                break
    overdue_puf = in_course[0] if in_course else None
    expired_done = False
    sex: dict[int, str] = {}
    page = 1
    while len(sex) < len(ctx.patient_ids):  # one list read per page instead of a chart read per patient
        listed = patients.search_patients(db=db, actor=nurse, page=page, per_page=100).items
        if not listed:
            break
        sex.update({p.id: p.sex_at_birth for p in listed})
        page += 1
    for pid in ctx.patient_ids:
        can = sex.get(pid) != "male"
        reason = (
            "can become pregnant (asked at intake; synthetic demo)" if can
            else "cannot become pregnant (asked at intake; synthetic demo)"
        )
        plans.record_pregnancy_applicability(
            db=db, actor=nurse, patient_id=pid,
            data=plans.PregnancyApplicabilityIn(applicable=can, reason=reason),
        )
        if can:
            expire = not expired_done and pid != overdue_puf  # one patient's only test has expired
            days = 12 if expire else 2
            expired_done = expired_done or expire
            plans.record_pregnancy_test(
                db=db, actor=nurse, patient_id=pid,
                data=plans.PregnancyTestIn(taken_at=now - timedelta(days=days, hours=3), result="negative",
                                           method="urine hCG"),
            )
        puf_days = 45 if pid == overdue_puf else 9
        plans.record_puf(
            db=db, actor=nurse, patient_id=pid,
            data=plans.PufIn(taken_at=now - timedelta(days=puf_days, hours=2), total=ctx.rng.randint(3, 11)),
        )
        plans.record_misuse_check(
            db=db, actor=nurse, patient_id=pid,
            data=plans.MisuseCheckIn(checked_at=now - timedelta(days=9, hours=2), signs=[],
                                     note="synthetic demo"),
        )
    for pid in in_course[:2]:
        plans.record_tox_result(
            db=db, actor=nurse, patient_id=pid,
            data=plans.ToxResultIn(taken_at=now - timedelta(days=20), result="negative"),
        )
