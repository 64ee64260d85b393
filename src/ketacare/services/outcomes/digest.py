"""Reduce each patient's facts to the few numbers the dashboard counts (a digest), once per data version.

The dashboard then filters and sums digests: no per-request pass over every score. A digest holds the same
judgements the per-patient summary makes (`outcomes.assess` on the primary instrument), so the numbers are those of
the per-patient computation.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from ketacare.domain import outcomes
from ketacare.services.outcomes.snapshot import PatientFacts

MAINTAINED_AFTER_DAYS = 28  # a session this long after the first counts as maintenance (until plans record phases)
SESSION_NUMBERS = 8
TRAJECTORY_WEEKS = 12
JUDGED_NOT = ("no_session", "no_baseline", "no_follow_up")


@dataclass(slots=True)
class Judged:
    """The outcome numbers of a patient with a baseline and a score after the first session."""

    responded: bool
    remitted: bool
    rapid: bool | None
    diagnosis: str | None
    diagnosis_label: str
    dose_band: str | None
    dose_label: str
    after_session: tuple[tuple[int, bool, bool], ...]  # (session number, response, remission) on the next score
    at_points: tuple[tuple[str, bool, bool], ...]  # (fixed point id, response, remission)
    by_week: dict[int, float]  # week -> percent change of the latest score that week
    model_sessions: list[int]  # sessions given before each follow-up score
    model_pct: list[float]  # percent change of each follow-up score
    followed_days: float | None  # after the first benefit, to the relapse or the last score
    relapsed: bool


@dataclass(slots=True)
class Digest:
    """One patient as the dashboard counts them: filter keys, cohort flow, outcome and session totals."""

    patient_id: int
    diagnosis: str | None  # primary diagnosis concept (filter key)
    diagnosis_display: str
    protocol: str | None
    clinician_id: int | None
    first_chair: str | None  # label of the first session's chair (its site is the patient's site)
    first_day: date | None  # clinic-local day of the first session
    screened: bool
    eligible: bool
    consented: bool
    treated: bool
    maintained: bool
    last_aborted: bool
    last_started_at: datetime | None
    judged: Judged | None
    sessions: int = 0
    side_effects: int = 0
    grade3: int = 0
    types: Counter[str] = field(default_factory=Counter)
    bp_rises: list[float] = field(default_factory=list)


def digest_of(p: PatientFacts, d: outcomes.Definitions, zone: tzinfo) -> Digest:
    """Return the digest of one patient's facts under the definitions in force."""
    dx, iid = p.primary(d)
    scores = sorted(p.scores.get(iid, []), key=lambda x: x.at)
    starts = [x.started_at for x in p.sessions]
    a = outcomes.assess(iid, scores, starts, d)  # the reliable change (clinic-wide SD) is not on the dashboard
    first = p.sessions[0].started_at if p.sessions else None
    out = Digest(
        patient_id=p.patient_id,
        diagnosis=dx,
        diagnosis_display=p.diagnosis_display.get(dx, dx) if dx else "",
        protocol=p.protocol,
        clinician_id=p.clinician_id,
        first_chair=p.sessions[0].chair if p.sessions else None,
        first_day=first.astimezone(zone).date() if first else None,
        screened=p.screened,
        eligible=p.eligible,
        consented=p.consented or bool(p.sessions),
        treated=bool(p.sessions),
        maintained=first is not None and any(
            x.started_at - first >= timedelta(days=MAINTAINED_AFTER_DAYS) for x in p.sessions
        ),
        last_aborted=p.last_state == "aborted",
        last_started_at=p.sessions[-1].started_at if p.sessions else None,
        judged=None if a.status in JUDGED_NOT else _judged(p, d, a, dx, scores, starts),
        sessions=len(p.sessions),
    )  # fmt: skip
    for x in p.sessions:
        out.side_effects += x.side_effects
        out.grade3 += x.grade3
        out.types.update(x.types)
        if x.sbp_rise_mmhg is not None:
            out.bp_rises.append(x.sbp_rise_mmhg)
    return out


def _judged(
    p: PatientFacts,
    d: outcomes.Definitions,
    a: outcomes.Assessment,
    dx: str | None,
    scores: list[outcomes.Score],
    starts: list[datetime],
) -> Judged:
    rules = d.outcomes_for(a.instrument_id)
    base = a.baseline.total if a.baseline else None
    doses = [x.mg_per_kg for x in p.sessions if x.mg_per_kg is not None]
    band = d.dose_band(statistics.median(doses)) if doses else None
    display = p.diagnosis_display.get(dx or "")
    j = Judged(
        responded=a.responded_at is not None,
        remitted=a.remitted_at is not None,
        rapid=a.rapid_response,
        diagnosis=dx,
        diagnosis_label=display or dx or "",
        dose_band=band.id if band else None,
        dose_label=band.label if band else "",
        after_session=(),
        at_points=(),
        by_week={},
        model_sessions=[],
        model_pct=[],
        followed_days=a.days_followed_after_response,
        relapsed=a.relapsed_at is not None,
    )
    after = []
    for k in range(1, min(len(starts), SESSION_NUMBERS) + 1):
        lo, hi = starts[k - 1], starts[k] if k < len(starts) else None
        nxt = next((x for x in scores if x.at > lo and (hi is None or x.at <= hi)), None)
        if nxt is not None:
            after.append((k, rules.response.met(base, nxt.total) is True, rules.remission.met(base, nxt.total) is True))
    j.after_session = tuple(after)  # hashable: the dashboard counts the few distinct patterns, not every entry
    first = a.first_session_at
    if first is None or a.baseline is None:
        return j
    follow = [x for x in scores if x.at > first]
    points = []
    for fp in d.fixed_points:
        s = outcomes.nearest_in_window(follow, first, fp)
        if s is not None:
            points.append(
                (fp.id, rules.response.met(base, s.total) is True, rules.remission.met(base, s.total) is True)
            )  # fmt: skip
    j.at_points = tuple(points)
    b = a.baseline.total
    if b == 0:
        return j
    week_seconds = 7 * 86400
    for x in follow:
        change = 100.0 * (x.total - b) / b
        week = round((x.at - first).total_seconds() / week_seconds)
        if week <= TRAJECTORY_WEEKS:
            j.by_week[week] = change  # the latest score of that week
        j.model_sessions.append(sum(1 for t in starts if t < x.at))
        j.model_pct.append(change)
    return j

