"""The dashboard as first written (every patient's full outcome per request): the reference the digest-based
dashboard must equal. Kept in the tests only; it is far too slow for a large clinic."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from ketacare.domain import outcomes
from ketacare.domain.measurement import load_instrument
from ketacare.services import clinic
from ketacare.services.outcomes.analysis import kaplan_meier, mixed_model
from ketacare.services.outcomes.definitions import in_force
from ketacare.services.outcomes.schemas import (
    AdverseEvents,
    CountBin,
    Dashboard,
    FlowStage,
    GroupRate,
    OutcomeFilters,
    PatientOutcome,
    RateRead,
    StopReason,
    TrajectoryPoint,
)
from ketacare.services.outcomes.snapshot import PatientFacts, baseline_sd, load
from ketacare.services.outcomes.summary import outcome_of
from ketacare.store.db import Database

MAINTAINED_AFTER_DAYS = 28  # a session this long after the first counts as maintenance (until plans record phases)
STOPPED_AFTER_DAYS = 60  # no session for this long: stopped (until plans record a stop with its reason)
SESSION_NUMBERS = 8
TRAJECTORY_WEEKS = 12
BP_BINS = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)


def _rate(r: outcomes.Rate) -> RateRead:
    return RateRead(k=r.k, n=r.n, proportion=r.proportion, low=r.low, high=r.high)


def _group(group: str, label: str, resp: Iterable[bool], remit: Iterable[bool]) -> GroupRate:
    a, b = list(resp), list(remit)
    return GroupRate(
        group=group, label=label,
        response=_rate(outcomes.wilson(sum(a), len(a))), remission=_rate(outcomes.wilson(sum(b), len(b))),
    )  # fmt: skip


def _judged(o: PatientOutcome) -> bool:
    return o.status not in ("no_session", "no_baseline", "no_follow_up")


def _ever(o: PatientOutcome) -> tuple[bool, bool]:
    return o.responded_at is not None, o.remitted_at is not None


def reference_dashboard(db: Database, filters: OutcomeFilters, now: datetime) -> Dashboard:
    """Return the dashboard computed patient by patient from full outcome summaries (no cache, no audit)."""
    d = in_force(db)
    zone = clinic.zone(db)
    with db.session() as s:
        everyone = load(s)
        sds = {iid: baseline_sd(s, d, iid) for iid in d.instruments}
        chosen = [p for p in everyone.values() if _keep(p, d, filters, zone)]
        results = {p.patient_id: outcome_of(p, d, sds.get(p.primary(d)[1])) for p in chosen}
        return _build(d, filters, chosen, results, now)


def _keep(p: PatientFacts, d: outcomes.Definitions, f: OutcomeFilters, zone: tzinfo) -> bool:
    if f.diagnosis and p.primary(d)[0] != f.diagnosis:
        return False
    if f.protocol and p.protocol != f.protocol:
        return False
    if f.clinician_id and p.clinician_id != f.clinician_id:
        return False
    if f.date_from or f.date_to:
        if not p.sessions:
            return False
        day = p.sessions[0].started_at.astimezone(zone).date()
        if (f.date_from and day < f.date_from) or (f.date_to and day > f.date_to):
            return False
    return True


def _flow(chosen: list[PatientFacts], now: datetime) -> tuple[list[FlowStage], list[StopReason]]:
    treated = [p for p in chosen if p.sessions]
    maintained = [
        p for p in treated
        if any(x.started_at - p.sessions[0].started_at >= timedelta(days=MAINTAINED_AFTER_DAYS) for x in p.sessions)
    ]  # fmt: skip
    reasons: Counter[str] = Counter()
    for p in treated:
        if p.last_state == "aborted":
            reasons["last session stopped early (aborted)"] += 1
        elif now - p.sessions[-1].started_at > timedelta(days=STOPPED_AFTER_DAYS):
            reasons[f"no session for more than {STOPPED_AFTER_DAYS} days"] += 1
    stages = [
        FlowStage(id="referred", label="Referred", count=len(chosen), how="patient records"),
        FlowStage(id="screened", label="Screened", count=sum(p.screened for p in chosen),
                  how="an eligibility evaluation was recorded"),
        FlowStage(id="eligible", label="Eligible", count=sum(p.eligible for p in chosen),
                  how="newest eligibility decision: eligible (or with cautions)"),
        FlowStage(id="consented", label="Consented", count=sum(p.consented or bool(p.sessions) for p in chosen),
                  how="consent confirmed at a session check-in (course consent comes with treatment plans)"),
        FlowStage(id="treated", label="Treated", count=len(treated), how="at least one infusion started"),
        FlowStage(id="maintained", label="Maintained", count=len(maintained),
                  how=f"a session {MAINTAINED_AFTER_DAYS} days or more after the first (plan phases come with "
                  "treatment plans)"),
        FlowStage(id="stopped", label="Stopped", count=sum(reasons.values()),
                  how="last session aborted, or none for "
                  f"{STOPPED_AFTER_DAYS} days (reasons recorded with treatment plans later)"),
    ]  # fmt: skip
    return stages, [StopReason(reason=r, count=n) for r, n in reasons.most_common()]


def _by(
    name: str, keyed: Iterable[tuple[str | None, str, PatientOutcome]]
) -> list[GroupRate]:
    groups: dict[str, tuple[str, list[PatientOutcome]]] = {}
    for key, label, o in keyed:
        k = key or "none"
        groups.setdefault(k, (label if key else "not recorded", []))[1].append(o)
    return [
        _group(f"{name}:{k}", label, (_ever(o)[0] for o in os), (_ever(o)[1] for o in os))
        for k, (label, os) in sorted(groups.items(), key=lambda kv: kv[1][0])
    ]


def _build(
    d: outcomes.Definitions,
    f: OutcomeFilters,
    chosen: list[PatientFacts],
    results: dict[int, PatientOutcome],
    now: datetime,
) -> Dashboard:
    judged = [(p, results[p.patient_id]) for p in chosen if _judged(results[p.patient_id])]
    flow, stops = _flow(chosen, now)
    overall = _group("all", "All judged patients", (_ever(o)[0] for _, o in judged), (_ever(o)[1] for _, o in judged))
    rapid = [o.rapid_response for _, o in judged if o.rapid_response is not None]

    def dose_label(p: PatientFacts) -> tuple[str | None, str]:
        doses = [x.mg_per_kg for x in p.sessions if x.mg_per_kg is not None]
        band = d.dose_band(statistics.median(doses)) if doses else None
        return (band.id, band.label) if band else (None, "")

    by_dx = _by("diagnosis", ((o.diagnosis, o.diagnosis_display or o.diagnosis or "", o) for _, o in judged))
    by_proto = _by("protocol", ((p.protocol, (p.protocol or "").replace("_", " "), o) for p, o in judged))
    by_dose = _by("dose", ((*dose_label(p), o) for p, o in judged))
    by_session = _session_rates(d, judged)
    at_points = _point_rates(d, judged)
    trajectory, (pids, sess, pct) = _trajectory(judged)
    followed = [o for _, o in judged if o.days_followed_after_benefit is not None]
    durations = [o.days_followed_after_benefit or 0.0 for o in followed]
    events = [o.relapsed_at is not None for o in followed]
    survival, at_risk = kaplan_meier(durations, events)
    sessions = [x for p in chosen for x in p.sessions]
    return Dashboard(
        filters=f,
        patients=len(chosen),
        judged=len(judged),
        flow=flow,
        stop_reasons=stops,
        overall=overall,
        rapid_response=_rate(outcomes.wilson(sum(rapid), len(rapid))),
        by_diagnosis=by_dx,
        by_protocol=by_proto,
        by_dose_band=by_dose,
        by_session=by_session,
        at_points=at_points,
        trajectory=trajectory,
        survival=survival,
        at_risk=at_risk,
        relapses=sum(events),
        followed_after_benefit=len(durations),
        model=mixed_model(pids, sess, pct),
        adverse=_adverse(sessions),
        bp_rise=_bp_bins([x.sbp_rise_mmhg for x in sessions if x.sbp_rise_mmhg is not None]),
        bp_rise_median=_median([x.sbp_rise_mmhg for x in sessions if x.sbp_rise_mmhg is not None]),
        bp_rise_sessions=sum(x.sbp_rise_mmhg is not None for x in sessions),
        options={},
        definitions=_definitions(d),
    )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _session_rates(d: outcomes.Definitions, judged: list[tuple[PatientFacts, PatientOutcome]]) -> list[GroupRate]:
    """Response and remission on the first score after session k and before session k + 1."""
    resp: dict[int, list[bool]] = defaultdict(list)
    remit: dict[int, list[bool]] = defaultdict(list)
    for _, o in judged:
        rules = d.outcomes_for(o.instrument_id)
        base = o.baseline.total if o.baseline else None
        starts = o.session_times
        for k in range(1, min(len(starts), SESSION_NUMBERS) + 1):
            lo, hi = starts[k - 1], starts[k] if k < len(starts) else None
            after = [x for x in o.history if x.at > lo and (hi is None or x.at <= hi)]
            if after:
                resp[k].append(rules.response.met(base, after[0].total) is True)
                remit[k].append(rules.remission.met(base, after[0].total) is True)
    return [_group(f"session:{k}", f"After session {k}", resp[k], remit[k]) for k in sorted(resp)]


def _point_rates(d: outcomes.Definitions, judged: list[tuple[PatientFacts, PatientOutcome]]) -> list[GroupRate]:
    rows = []
    for fp in d.fixed_points:
        resp, remit = [], []
        for _, o in judged:
            if o.first_session_at is None or o.baseline is None:
                continue
            rules = d.outcomes_for(o.instrument_id)
            follow = [outcomes.Score(x.at, x.total) for x in o.history if x.at > o.first_session_at]
            s = outcomes.nearest_in_window(follow, o.first_session_at, fp)
            if s is not None:
                resp.append(rules.response.met(o.baseline.total, s.total) is True)
                remit.append(rules.remission.met(o.baseline.total, s.total) is True)
        rows.append(_group(f"point:{fp.id}", fp.label, resp, remit))
    return rows


def _trajectory(
    judged: list[tuple[PatientFacts, PatientOutcome]],
) -> tuple[list[TrajectoryPoint], tuple[list[int], list[int], list[float]]]:
    """Return mean percent change by week, and (patient, sessions given, percent change) rows for the model."""
    by_week: dict[int, list[float]] = defaultdict(list)
    pids: list[int] = []
    sess: list[int] = []
    pct: list[float] = []
    for p, o in judged:
        if o.baseline is None or o.baseline.total == 0 or o.first_session_at is None:
            continue
        b = o.baseline.total
        per_week: dict[int, float] = {}
        for x in o.history:
            if x.at <= o.first_session_at:
                continue
            change = 100.0 * (x.total - b) / b
            week = round((x.at - o.first_session_at).total_seconds() / (7 * 86400))
            if week <= TRAJECTORY_WEEKS:
                per_week[week] = change  # the latest score of that week
            pids.append(p.patient_id)
            sess.append(sum(1 for t in o.session_times if t < x.at))
            pct.append(change)
        for w, v in per_week.items():
            by_week[w].append(v)
    points = [TrajectoryPoint(week=0, n=len({i for i in pids}), mean=0.0, low=0.0, high=0.0)]
    for w in sorted(by_week):
        if w == 0:
            continue
        m = outcomes.mean_band(by_week[w])
        points.append(TrajectoryPoint(week=w, n=m.n, mean=m.mean, low=m.low, high=m.high))
    return points, (pids, sess, pct)


def _adverse(sessions: list) -> AdverseEvents:  # type: ignore[type-arg]
    n = len(sessions)
    types: Counter[str] = Counter(t for x in sessions for t in x.types)
    events = sum(x.side_effects for x in sessions)
    return AdverseEvents(
        sessions=n,
        events=events,
        per_100=outcomes.per_100(events, n),
        grade3_per_100=outcomes.per_100(sum(x.grade3 for x in sessions), n),
        by_type=[(t.replace("_", " "), c, outcomes.per_100(c, n)) for t, c in types.most_common()],
    )


def _bp_bins(values: list[float]) -> list[CountBin]:
    bins = []
    edges = [float("-inf"), *BP_BINS[1:]]
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else None
        label = (
            f"below {BP_BINS[1]:g}" if i == 0 else f"{lo:g} to {hi:g}" if hi is not None else f"{lo:g} or more"
        )
        count = sum(1 for v in values if v >= lo and (hi is None or v < hi))
        bins.append(CountBin(label=label, low=lo if i else BP_BINS[0], high=hi, count=count))
    return bins


def _definitions(d: outcomes.Definitions) -> list[tuple[str, str, str]]:
    rows = []
    for iid, r in d.instruments.items():
        name = load_instrument(iid).short_name
        rows.append((f"{name} response", r.response.describe(), r.response.source))
        rows.append((f"{name} remission", r.remission.describe(), r.remission.source))
    rows.append(("Rapid response", f"a response on the score nearest {d.rapid_hours:g} h after the first session "
                 f"({d.rapid_window_before_h:g} h before to {d.rapid_window_after_h:g} h after)", d.rapid_source))
    rows.append(("Relapse", f"after a response or remission, {d.relapse_confirmations} scores in a row that meet "
                 "neither", d.relapse_source))
    rows.append(("Reliable change", f"|RC| > {d.rci_z:g}; {d.rci_se_formula}", d.rci_source))
    return rows  # fmt: skip

