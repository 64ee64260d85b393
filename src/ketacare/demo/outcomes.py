"""Demo treatment courses for the outcomes dashboard (issue 18): past infusion sessions that fit each treated
demo patient's score history (first session right after the baseline score, two a week for three weeks, then
weekly or fortnightly), a GAD-7 score about 24 h after the first session, vitals with a blood-pressure rise,
and occasional side effects. Synthetic; inserted in bulk in one unit of work, one audit event per patient.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from ketacare.domain.measurement import load_instrument, score
from ketacare.services import clinic
from ketacare.services.access import Actor
from ketacare.services.uow import UnitOfWork
from ketacare.store.tables.measurement import QuestionnaireItemAnswer, QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, SideEffectRow, VitalSign

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 60  # after the scores (20), orders (30) and the live sessions (50)
INDUCTION_DAYS = (0, 3, 7, 10, 14, 17)
GAD7_FOR = ("sad", "sad_generalized", "panic", "panic_with_agoraphobia", "agoraphobia")  # the demo scores GAD-7
EFFECTS = ("nausea", "dissociation", "dizziness", "headache", "raised_bp", "anxiety_agitation")


def _answers(rng: random.Random, target: float) -> list[int]:
    inst = load_instrument("gad7")
    total, vals = max(0, min(round(target), 3 * inst.n_items)), [0] * inst.n_items
    k = rng.randrange(inst.n_items)
    while total > 0:
        if vals[k % inst.n_items] < 3:
            vals[k % inst.n_items] += 1
            total -= 1
        k += 1
    return vals


def extend(ctx: DemoContext) -> None:
    admin = Actor(user_id=ctx.staff["admin"], username="admin", role="admin")
    settings = clinic.current(ctx.db)
    chosen = {c: "gad7" for c in GAD7_FOR}
    clinic.seed(
        db=ctx.db, actor=admin,
        data=clinic.ClinicSettingsIn(**{**settings.model_dump(include=set(clinic.ClinicSettingsIn.model_fields)),
                                        "outcome_primary_instruments": chosen}),
        reason="Demo: GAD-7 is the primary outcome for social anxiety and panic too (the clinic does not use "
        "the Mini-SPIN or the PDSS-SR)",
    )  # fmt: skip
    rng = random.Random(18_2026)  # noqa: S311 - synthetic demo data, reproducible on purpose
    now = datetime.combine(ctx.today, time(8, 0), tzinfo=UTC)
    with UnitOfWork(ctx.db, ctx.actor) as uow:
        s = uow.session
        has_sessions = set(s.scalars(select(InfusionSession.patient_id)))
        scores: dict[int, list[tuple[datetime, str, float]]] = {}
        for pid, at, context, total in s.execute(
            select(
                QuestionnaireResponse.patient_id, QuestionnaireResponse.answered_at,
                QuestionnaireResponse.context, QuestionnaireResponse.total,
            ).where(QuestionnaireResponse.instrument_id == "gad7").order_by(QuestionnaireResponse.answered_at)
        ):  # fmt: skip
            scores.setdefault(pid, []).append((at, context, float(total or 0)))
        made = 0
        for pid in ctx.patient_ids:
            history = scores.get(pid, [])
            if pid in has_sessions or len(history) < 3 or history[0][1] != "baseline":
                continue
            made += _course(uow, rng, pid, history, now)
        uow.audit("create", "infusion_session", details={"demo": True, "outcome_courses": made})


def _course(uow: UnitOfWork, rng: random.Random, pid: int, history: list[tuple[datetime, str, float]],
            now: datetime) -> int:  # fmt: skip
    s = uow.session
    base_at, _, base_total = history[0]
    first = base_at + timedelta(hours=2)
    last_score = history[-1][0]
    early = history[1][2] / base_total if base_total else 1.0
    weight = rng.uniform(58, 105)
    mg_per_kg = rng.choices([0.5, 0.75, 1.0], [0.6, 0.3, 0.1])[0]
    days = list(INDUCTION_DAYS)
    step = rng.choice([7, 14])
    while first + timedelta(days=days[-1] + step) < min(last_score + timedelta(days=3), now - timedelta(hours=6)):
        days.append(days[-1] + step)
    if early > 0.85 and rng.random() < 0.4:
        days = days[:4]  # no early benefit: some stop after four sessions
    starts = [first + timedelta(days=d, minutes=rng.randint(-30, 30)) for d in days]
    starts = [t for t in starts if t < now - timedelta(hours=3)]
    aborted_last = rng.random() < 0.05
    rows = []
    for i, t in enumerate(starts):
        abort = aborted_last and i == len(starts) - 1
        rows.append(dict(
            patient_id=pid, chair=f"Chair {4 + i % 3}", product="racemic_ketamine",
            state="aborted" if abort else "discharged", scheduled_at=t - timedelta(minutes=20),
            checked_in_at=t - timedelta(minutes=20), prechecks_passed_at=t - timedelta(minutes=5),
            infusion_started_at=t, infusion_ended_at=t + timedelta(minutes=20 if abort else 40),
            discharged_at=None if abort else t + timedelta(minutes=100),
            aborted_at=t + timedelta(minutes=20) if abort else None,
            planned_dose_mg=round(mg_per_kg * weight, 1), planned_duration_min=40.0,
            concentration_mg_per_ml=1.0, weight_kg=round(weight, 1), consent_confirmed=True,
            escort_confirmed=True, escort_present=True, created_at=t - timedelta(days=2),
            updated_at=t + timedelta(minutes=100), version=1, overrides=[],
        ))  # fmt: skip
    ids = s.scalars(insert(InfusionSession).returning(InfusionSession.id, sort_by_parameter_order=True), rows).all()
    vitals, effects = [], []
    for sid, t in zip(ids, starts, strict=True):
        sbp = rng.uniform(112, 136)
        rise = max(-4.0, rng.gauss(13, 8))
        for k, (ctx_, at, value) in enumerate(
            (("baseline", t - timedelta(minutes=10), sbp), ("during", t + timedelta(minutes=35), sbp + rise))
        ):
            vitals.append(dict(
                patient_id=pid, session_id=sid, measured_at=at, received_at=at, sbp_mmhg=round(value),
                dbp_mmhg=round(value * 0.62), hr_per_min=round(rng.uniform(62, 88)), spo2_pct=98.0,
                context=ctx_, source="nurse", client_id=f"demo-outcomes-{sid}-{k}", device_id="",
            ))  # fmt: skip
        if rng.random() < 0.3:
            grade = 3 if rng.random() < 0.04 else rng.choice([1, 1, 2])
            effects.append(dict(
                session_id=sid, type=rng.choice(EFFECTS), grade=grade, onset_at=t + timedelta(minutes=25),
                resolved_at=t + timedelta(minutes=70), created_at=t + timedelta(minutes=26),
            ))  # fmt: skip
    s.execute(insert(VitalSign), vitals)
    if effects:
        s.execute(insert(SideEffectRow), effects)
    if rng.random() < 0.85 and len(starts) > 1:
        factor = rng.uniform(0.3, 0.55) if early < 0.8 else rng.uniform(0.65, 1.0)
        at = starts[0] + timedelta(hours=rng.uniform(20, 28))
        vals = _answers(rng, base_total * factor)
        result = score("gad7", vals)
        rid = s.execute(insert(QuestionnaireResponse).returning(QuestionnaireResponse.id), [dict(
            patient_id=pid, instrument_id="gad7", instrument_version=load_instrument("gad7").version,
            context="follow_up_24h", session_id=ids[0], answered_by_role="patient", answered_by_user_id=None,
            via="portal", answered_at=at, total=float(result.total or 0), severity=result.severity,
            flags=json.dumps(list(result.flags)), created_at=at,
        )]).scalar_one()  # fmt: skip
        s.execute(insert(QuestionnaireItemAnswer), [
            dict(response_id=rid, item_id=item, value=float(v))
            for item, v in zip(load_instrument("gad7").item_ids, vals, strict=True)
        ])  # fmt: skip
    uow.audit("create", "infusion_session", patient_id=pid, details={"demo": True, "sessions": len(ids)})
    return 1
