"""Judge one patient's trajectory on one instrument: baseline, best, latest, response, remission, relapse.

Times come in as arguments (UTC datetimes); nothing here reads a clock. Rules and windows come from
`definitions.toml` (response and remission per instrument; rapid response, relapse and baseline windows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ketacare.domain.errors import InvalidValue
from ketacare.domain.outcomes.definitions import Definitions, FixedPoint, InstrumentOutcomes

Status = Literal["no_session", "no_baseline", "no_follow_up", "not_responded", "responded", "remitted", "relapsed"]


@dataclass(frozen=True)
class Score:
    """One questionnaire total (points) and when it was answered (UTC)."""

    at: datetime
    total: float


@dataclass(frozen=True)
class PointScore:
    """The score nearest a fixed follow-up point, and whether it met response and remission."""

    point_id: str
    at: datetime
    total: float
    responded: bool | None
    remitted: bool | None


@dataclass(frozen=True)
class Assessment:
    """Outcome of one trajectory; dates are UTC, days count from the first session's start."""

    instrument_id: str
    status: Status
    first_session_at: datetime | None
    baseline: Score | None
    best: Score | None
    latest: Score | None
    change_points: float | None  # latest - baseline (negative = better on these instruments)
    percent_change: float | None  # 100 * change / baseline
    responded_at: datetime | None
    remitted_at: datetime | None
    rapid_response: bool | None  # None: no score in the 24 h window (or no baseline)
    rapid_score: Score | None
    relapsed_at: datetime | None
    days_to_response: float | None
    days_to_relapse: float | None  # from the first response (or remission) to the relapse
    days_followed_after_response: float | None  # to the relapse, or to the last score (censored)
    mcic_met: bool | None
    rci: float | None
    reliable_change: bool | None
    points: tuple[PointScore, ...]
    reasons: tuple[str, ...]


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400.0


def reliable_change_index(baseline: float, latest: float, baseline_sd: float, reliability: float) -> float:
    """Return Jacobson & Truax's RC = (x2 - x1) / S_diff with S_diff = sqrt(2) * s1 * sqrt(1 - r) (points/points)."""
    if baseline_sd <= 0 or not 0 <= reliability < 1:
        raise InvalidValue("reliability", "needs a baseline SD above 0 and a reliability from 0 to below 1")
    se = baseline_sd * math.sqrt(1 - reliability)
    return (latest - baseline) / (math.sqrt(2) * se)


def nearest_in_window(follow_ups: Sequence[Score], start: datetime, point: FixedPoint) -> Score | None:
    """Return the score nearest `point.days` after `start` inside its window (the earlier one on a tie)."""
    target = start + timedelta(days=point.days)
    lo = target - timedelta(days=point.window_days_before)
    hi = target + timedelta(days=point.window_days_after)
    inside = [s for s in follow_ups if lo <= s.at <= hi]
    if not inside:
        return None
    return min(inside, key=lambda s: (abs((s.at - target).total_seconds()), s.at))


def assess(
    instrument_id: str,
    scores: Sequence[Score],
    session_starts: Sequence[datetime],
    definitions: Definitions,
    *,
    baseline_sd: float | None = None,
) -> Assessment:
    """Return the outcome of `scores` (points) given the session start times (UTC) under `definitions`."""
    rules = definitions.outcomes_for(instrument_id)
    ordered = sorted(scores, key=lambda s: s.at)
    for s in ordered:
        if not math.isfinite(s.total):
            raise InvalidValue("total", f"{s.total!r} is not a score")
    sessions = sorted(session_starts)
    first = sessions[0] if sessions else None
    latest = ordered[-1] if ordered else None
    if first is None:
        return _empty(instrument_id, "no_session", None, None, latest, ("no session given yet",))
    window_start = first - timedelta(days=definitions.baseline_max_days)
    before = [s for s in ordered if window_start <= s.at <= first]
    baseline = before[-1] if before else None
    follow = [s for s in ordered if s.at > first]
    if baseline is None:
        why = f"no score in the {definitions.baseline_max_days:g} days before the first session"
        return _empty(instrument_id, "no_baseline", first, None, latest, (why,))
    if not follow:
        return _empty(instrument_id, "no_follow_up", first, baseline, baseline, ("no score after the first session",))
    return _judge(instrument_id, rules, definitions, first, baseline, follow, baseline_sd)


def _empty(
    instrument_id: str, status: Status, first: datetime | None, baseline: Score | None,
    latest: Score | None, reasons: tuple[str, ...],
) -> Assessment:
    return Assessment(
        instrument_id=instrument_id, status=status, first_session_at=first, baseline=baseline, best=baseline,
        latest=latest, change_points=None, percent_change=None, responded_at=None, remitted_at=None,
        rapid_response=None, rapid_score=None, relapsed_at=None, days_to_response=None, days_to_relapse=None,
        days_followed_after_response=None, mcic_met=None, rci=None, reliable_change=None, points=(),
        reasons=reasons,
    )  # fmt: skip


def _judge(
    instrument_id: str,
    rules: InstrumentOutcomes,
    d: Definitions,
    first: datetime,
    baseline: Score,
    follow: list[Score],
    baseline_sd: float | None,
) -> Assessment:
    b = baseline.total
    resp = [rules.response.met(b, s.total) is True for s in follow]
    remit = [rules.remission.met(b, s.total) is True for s in follow]
    responded_at = next((s.at for s, ok in zip(follow, resp, strict=True) if ok), None)
    remitted_at = next((s.at for s, ok in zip(follow, remit, strict=True) if ok), None)
    benefit_idx = next((i for i in range(len(follow)) if resp[i] or remit[i]), None)
    relapsed_at: datetime | None = None
    if benefit_idx is not None:
        run = 0
        for i in range(benefit_idx + 1, len(follow)):
            run = 0 if (resp[i] or remit[i]) else run + 1
            if run == d.relapse_confirmations:
                relapsed_at = follow[i - run + 1].at
                break
    latest, best = follow[-1], min([baseline, *follow], key=lambda s: (s.total, s.at))
    change = latest.total - b
    pct = None if b == 0 else 100.0 * change / b
    rapid_point = FixedPoint(
        "rapid", "rapid", d.rapid_hours / 24, d.rapid_window_before_h / 24, d.rapid_window_after_h / 24
    )
    rapid_score = nearest_in_window(follow, first, rapid_point)
    rapid = None if rapid_score is None else rules.response.met(b, rapid_score.total)
    points = []
    for p in d.fixed_points:
        s = nearest_in_window(follow, first, p)
        if s is not None:
            met = rules.response.met(b, s.total), rules.remission.met(b, s.total)
            points.append(PointScore(p.id, s.at, s.total, *met))
    benefit_at = follow[benefit_idx].at if benefit_idx is not None else None
    rci = reliable = None
    reasons: list[str] = []
    if baseline_sd is not None and baseline_sd > 0:
        rci = reliable_change_index(b, latest.total, baseline_sd, rules.reliability)
        reliable = abs(rci) > d.rci_z
    else:
        reasons.append("reliable change not computed: the spread of the clinic's baseline scores is not known yet")
    if b == 0:
        reasons.append("baseline total is 0: a percentage change cannot be computed")
    status: Status
    if remit[-1]:
        status = "remitted"
    elif resp[-1]:
        status = "responded"
    elif relapsed_at is not None:
        status = "relapsed"
    else:
        status = "not_responded"
    return Assessment(
        instrument_id=instrument_id,
        status=status,
        first_session_at=first,
        baseline=baseline,
        best=best,
        latest=latest,
        change_points=change,
        percent_change=pct,
        responded_at=responded_at,
        remitted_at=remitted_at,
        rapid_response=rapid,
        rapid_score=rapid_score,
        relapsed_at=relapsed_at,
        days_to_response=_days(first, responded_at) if responded_at else None,
        days_to_relapse=_days(benefit_at, relapsed_at) if benefit_at and relapsed_at else None,
        days_followed_after_response=(
            _days(benefit_at, relapsed_at or latest.at) if benefit_at is not None else None
        ),
        mcic_met=None if rules.mcic_points is None else (b - latest.total) >= rules.mcic_points,
        rci=rci,
        reliable_change=reliable,
        points=tuple(points),
        reasons=tuple(reasons),
    )
