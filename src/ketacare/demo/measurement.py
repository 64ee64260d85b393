"""Demo score histories: baseline GAD-7/PHQ-9 (+ PCL-5 for PTSD), per-session and weekly scores with a mix of
responders, partial responders, non-responders and relapses; one open suicide-risk alert for the prescriber.

Inserted in bulk inside one unit of work (one audit event per patient); scores come from the domain scorer.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from ketacare.domain.measurement import ScoreResult, load_instrument, score
from ketacare.services.uow import UnitOfWork
from ketacare.store.tables import Diagnosis
from ketacare.store.tables.measurement import QuestionnaireItemAnswer, QuestionnaireResponse, SafetyAlert

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 20
COURSES = [("responder", 0.4), ("partial", 0.25), ("non_responder", 0.2), ("relapse", 0.15)]


def _answers(rng: random.Random, instrument_id: str, target: float) -> list[int]:
    """Spread a target total over the items (each within its allowed values)."""
    inst = load_instrument(instrument_id)
    hi = max(inst.items[0].values)
    n = inst.n_items
    total = max(0, min(round(target), hi * n))
    vals = [0] * n
    order = list(range(n))
    rng.shuffle(order)
    k = 0
    while total > 0:
        i = order[k % n]
        if vals[i] < hi:
            vals[i] += 1
            total -= 1
        k += 1
    if instrument_id == "phq9":
        vals[-1], vals[-2] = 0, vals[-2] + vals[-1] if vals[-2] + vals[-1] <= hi else hi
    return vals


def _trajectory(course: str, weeks: int, rng: random.Random) -> list[float]:
    """Fraction of baseline severity at each week (0 = baseline)."""
    out = [1.0]
    for w in range(1, weeks + 1):
        if course == "responder":
            f = max(0.2, 1 - 0.22 * w) + rng.uniform(-0.05, 0.05)
        elif course == "partial":
            f = max(0.6, 1 - 0.1 * w) + rng.uniform(-0.06, 0.06)
        elif course == "non_responder":
            f = 1 + rng.uniform(-0.12, 0.08)
        else:  # relapse: responds, then climbs back after the induction
            f = max(0.25, 1 - 0.25 * w) if w <= 4 else min(1.0, 0.3 + 0.15 * (w - 4))
            f += rng.uniform(-0.05, 0.05)
        out.append(max(0.0, f))
    return out


def _total(result: ScoreResult) -> float:
    if result.total is None:  # pragma: no cover - every demo answer set is complete
        raise ValueError("a demo answer set left the total unscored")
    return float(result.total)


def extend(ctx: DemoContext) -> None:
    rng = random.Random(4_2026)  # noqa: S311 - synthetic demo data, reproducible on purpose
    now = datetime.combine(ctx.today, time(8, 0), tzinfo=UTC)
    with UnitOfWork(ctx.db, ctx.actor) as uow:
        s = uow.session
        ptsd = set(s.scalars(select(Diagnosis.patient_id).where(Diagnosis.concept.like("ptsd%"))))
        rows: list[dict[str, Any]] = []
        answers: list[list[tuple[str, int]]] = []
        per_patient: dict[int, int] = {}
        treated = ctx.patient_ids[: max(1, int(len(ctx.patient_ids) * 0.6))]
        for pid in ctx.patient_ids:
            course = rng.choices([c for c, _ in COURSES], [w for _, w in COURSES])[0]
            weeks = rng.randint(4, 10) if pid in treated else 0
            start = now - timedelta(days=7 * weeks + rng.randint(3, 10), hours=rng.randint(0, 4))
            base = {"gad7": rng.uniform(12, 20), "phq9": rng.uniform(9, 22), "pcl5": rng.uniform(38, 65)}
            instruments = ["gad7", "phq9"] + (["pcl5"] if pid in ptsd else [])
            traj = _trajectory(course, weeks, rng)
            points = [(start, "baseline", 1.0)]
            for w in range(1, weeks + 1):
                when = start + timedelta(days=7 * w, hours=rng.uniform(-6, 6))
                points.append(
                    (min(when, now - timedelta(hours=1)), "pre_session" if w <= 3 else "follow_up", traj[w])
                )
            for when, context, frac in points:
                for iid in instruments:
                    if iid == "pcl5" and context != "baseline" and rng.random() < 0.5:
                        continue
                    vals = _answers(rng, iid, base[iid] * frac)
                    result = score(iid, vals)
                    rows.append(
                        dict(
                            patient_id=pid,
                            instrument_id=iid,
                            instrument_version=load_instrument(iid).version,
                            context=context,
                            session_id=None,
                            answered_by_role="patient",
                            answered_by_user_id=None,
                            via="portal",
                            answered_at=when,
                            total=_total(result),
                            severity=result.severity,
                            flags=json.dumps(list(result.flags)),
                            created_at=now,
                        )
                    )
                    answers.append(list(zip(load_instrument(iid).item_ids, vals, strict=True)))
                    per_patient[pid] = per_patient.get(pid, 0) + 1
        # one patient whose latest PHQ-9 answers item 9 with "several days": an open alert for the prescriber
        risk_pid = ctx.patient_ids[min(4, len(ctx.patient_ids) - 1)]
        risk_vals = [2, 2, 1, 2, 1, 2, 1, 0, 1]
        risk = score("phq9", risk_vals)
        rows.append(
            dict(
                patient_id=risk_pid,
                instrument_id="phq9",
                instrument_version=load_instrument("phq9").version,
                context="follow_up",
                session_id=None,
                answered_by_role="patient",
                answered_by_user_id=None,
                via="link",
                answered_at=now - timedelta(hours=3),
                total=_total(risk),
                severity=risk.severity,
                flags=json.dumps(list(risk.flags)),
                created_at=now,
            )
        )
        answers.append(list(zip(load_instrument("phq9").item_ids, risk_vals, strict=True)))
        ids = s.scalars(
            insert(QuestionnaireResponse).returning(QuestionnaireResponse.id, sort_by_parameter_order=True),
            rows,
        ).all()
        s.execute(
            insert(QuestionnaireItemAnswer),
            [
                dict(response_id=rid, item_id=item, value=float(v))
                for rid, a in zip(ids, answers, strict=True)
                for item, v in a
            ],
        )
        s.execute(
            insert(SafetyAlert),
            [
                dict(
                    patient_id=risk_pid,
                    response_id=ids[-1],
                    kind="suicide_risk",
                    assigned_to=ctx.staff.get("prescriber"),
                    raised_at=now - timedelta(hours=3),
                    version=1,
                )
            ],
        )
        for pid, n in per_patient.items():
            uow.audit(
                "create", "questionnaire_response", patient_id=pid, details={"demo": True, "responses": n}
            )
        uow.audit(
            "create", "safety_alert", patient_id=risk_pid, details={"demo": True, "kind": "suicide_risk"}
        )
