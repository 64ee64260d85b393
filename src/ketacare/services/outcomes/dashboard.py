"""The clinic outcomes dashboard (issue 18 point 3): cohort flow, rates with intervals, trajectories, survival,
a mixed-effects model, side effects and blood-pressure rises, for the filtered cohort. Aggregates only."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain import outcomes
from ketacare.domain.measurement import load_instrument
from ketacare.services import clinic, clock
from ketacare.services.access import Actor
from ketacare.services.outcomes import stored
from ketacare.services.outcomes.analysis import kaplan_meier, mixed_model, model_sample
from ketacare.services.outcomes.cache import DigestStore
from ketacare.services.outcomes.definitions import in_force
from ketacare.services.outcomes.digest import MAINTAINED_AFTER_DAYS, Digest, Judged, digest_of, week_values
from ketacare.services.outcomes.schemas import (
    AdverseEvents,
    CountBin,
    Dashboard,
    FlowStage,
    GroupRate,
    ModelEstimate,
    OutcomeFilters,
    RateRead,
    StopReason,
    TrajectoryPoint,
)
from ketacare.services.outcomes.snapshot import load
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.scheduling import Chair, Site

RESOURCE = "outcomes"
STOPPED_AFTER_DAYS = 60  # no session for this long: stopped (until plans record a stop with its reason)
BP_BINS = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)
_T = TypeVar("_T")


def _rate(r: outcomes.Rate) -> RateRead:
    return RateRead(k=r.k, n=r.n, proportion=r.proportion, low=r.low, high=r.high)


def dashboard(*, db: Database, actor: Actor, filters: OutcomeFilters) -> Dashboard:
    """Return the outcomes of the filtered cohort; aggregates only (no names, no record ids); audited."""
    d = in_force(db)
    zone = clinic.zone(db)
    now = clock.now()
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        s = uow.session

        def digest(ids: Iterable[int] | None) -> dict[int, Digest]:
            return {pid: digest_of(p, d, zone) for pid, p in load(s, ids).items()}

        everyone = _DIGESTS.current(s, db.url, (str(zone), repr(d)), digest, scope=id(db))
        sites = {label: site for label, site in s.execute(select(Chair.label, Chair.site_id))}
        unfiltered = not filters.model_dump(exclude_none=True)
        chosen = everyone if unfiltered else [p for p in everyone if _keep(p, filters, sites)]
        out = _build(d, filters, chosen, now, session=s)
        options_key = (db.url, id(db), _DIGESTS.mark_of(db.url))  # names change only with an audited write
        options = _OPTIONS.get(options_key)
        if options is None:
            options = _options(everyone, s, sites)
            if len(_OPTIONS) >= _MODELS_KEPT:
                _OPTIONS.pop(next(iter(_OPTIONS)))
            _OPTIONS[options_key] = options
        out.options = options
        uow.audit(
            "view", "outcomes_dashboard",
            details={"patients": out.patients, "filters": filters.model_dump(mode="json", exclude_none=True)},
        )  # fmt: skip
        return out


_DIGESTS = DigestStore()
_MODELS: dict[str, ModelEstimate] = {}
_MODELS_KEPT = 32
_OPTIONS: dict[tuple[object, ...], dict[str, list[tuple[str, str]]]] = {}


def forget_cached() -> None:
    """Drop the kept digests and model fits (benchmarks time the first request after a server start)."""
    _DIGESTS.clear()
    _MODELS.clear()
    _OPTIONS.clear()


def _keep(p: Digest, f: OutcomeFilters, sites: dict[str, int]) -> bool:
    if f.diagnosis and p.diagnosis != f.diagnosis:
        return False
    if f.protocol and p.protocol != f.protocol:
        return False
    if f.clinician_id and p.clinician_id != f.clinician_id:
        return False
    if f.site_id and sites.get(p.first_chair or "") != f.site_id:
        return False
    if f.date_from or f.date_to:
        day = p.first_day
        if day is None:
            return False
        if (f.date_from and day < f.date_from) or (f.date_to and day > f.date_to):
            return False
    return True


def _options(patients: Iterable[Digest], s: Session, sites: dict[str, int]) -> dict[str, list[tuple[str, str]]]:
    dx: dict[str, str] = {}
    protocols: set[str] = set()
    people: set[int] = set()
    chairs: set[str] = set()
    for p in patients:
        if p.diagnosis:
            dx[p.diagnosis] = p.diagnosis_display
        if p.protocol:
            protocols.add(p.protocol)
        if p.clinician_id is not None:
            people.add(p.clinician_id)
        if p.first_chair is not None:
            chairs.add(p.first_chair)
    places = {sites[c] for c in chairs if c in sites}
    clinicians = {uid: name for uid, name in s.execute(select(User.id, User.display_name).where(User.id.in_(people)))}
    names = {sid: name for sid, name in s.execute(select(Site.id, Site.name).where(Site.id.in_(places)))}
    return {
        "diagnosis": sorted(dx.items(), key=lambda kv: kv[1]),
        "protocol": [(x, x.replace("_", " ").replace("-", " ")) for x in sorted(protocols)],
        "clinician": sorted(((str(i), clinicians.get(i, f"user {i}")) for i in people), key=lambda kv: kv[1]),
        "site": sorted(((str(i), names.get(i, f"site {i}")) for i in places), key=lambda kv: kv[1]),
    }


class _Counts:
    """Response and remission counts of one group (k of n each)."""

    __slots__ = ("label", "n", "remitted", "responded")

    def __init__(self, label: str) -> None:
        self.label, self.n, self.responded, self.remitted = label, 0, 0, 0

    def rate(self, group: str) -> GroupRate:
        return GroupRate(
            group=group, label=self.label, response=_rate(outcomes.wilson(self.responded, self.n)),
            remission=_rate(outcomes.wilson(self.remitted, self.n)),
        )  # fmt: skip


def _flow(chosen: list[Digest], now: datetime) -> tuple[list[FlowStage], list[StopReason]]:
    reasons: Counter[str] = Counter()
    screened = eligible = consented = treated = maintained = 0
    stale = now - timedelta(days=STOPPED_AFTER_DAYS)
    for p in chosen:
        screened += p.screened
        eligible += p.eligible
        consented += p.consented
        maintained += p.maintained
        if not p.treated:
            continue
        treated += 1
        if p.last_aborted:
            reasons["last session stopped early (aborted)"] += 1
        elif p.last_started_at is not None and p.last_started_at < stale:
            reasons[f"no session for more than {STOPPED_AFTER_DAYS} days"] += 1
    stages = [
        FlowStage(id="referred", label="Referred", count=len(chosen), how="patient records"),
        FlowStage(id="screened", label="Screened", count=screened, how="an eligibility evaluation was recorded"),
        FlowStage(id="eligible", label="Eligible", count=eligible,
                  how="newest eligibility decision: eligible (or with cautions)"),
        FlowStage(id="consented", label="Consented", count=consented,
                  how="consent confirmed at a session check-in (course consent comes with treatment plans)"),
        FlowStage(id="treated", label="Treated", count=treated, how="at least one infusion started"),
        FlowStage(id="maintained", label="Maintained", count=maintained,
                  how=f"a session {MAINTAINED_AFTER_DAYS} days or more after the first (plan phases come with "
                  "treatment plans)"),
        FlowStage(id="stopped", label="Stopped", count=sum(reasons.values()),
                  how="last session aborted, or none for "
                  f"{STOPPED_AFTER_DAYS} days (reasons recorded with treatment plans later)"),
    ]  # fmt: skip
    return stages, [StopReason(reason=r, count=n) for r, n in reasons.most_common()]


def _grouped(name: str, keys: list[str | None], labels: list[str], js: list[Judged]) -> list[GroupRate]:
    """Rates per group key ("none" for no key), ordered by label, then by the group's first patient."""
    norm = [k or "none" for k in keys]
    first = {k: i for i, k in reversed(list(enumerate(norm)))}  # each key's first patient
    tally = Counter(zip(norm, [j.responded for j in js], [j.remitted for j in js], strict=True))
    groups = []
    for k, i in first.items():
        c = _Counts(labels[i] if keys[i] else "not recorded")
        c.n = sum(v for (g, _, _), v in tally.items() if g == k)
        c.responded = sum(v for (g, r, _), v in tally.items() if g == k and r)
        c.remitted = sum(v for (g, _, m), v in tally.items() if g == k and m)
        groups.append((c.label, i, k, c))
    return [c.rate(f"{name}:{k}") for _, _, k, c in sorted(groups, key=lambda g: (g[0], g[1]))]


def _counted(label: str, pairs: Counter[tuple[bool, bool]]) -> _Counts:
    c = _Counts(label)
    c.n = pairs.total()
    c.responded = sum(v for (r, _), v in pairs.items() if r)
    c.remitted = sum(v for (_, m), v in pairs.items() if m)
    return c


def _build(
    d: outcomes.Definitions,
    f: OutcomeFilters,
    chosen: list[Digest],
    now: datetime,
    *,
    session: Session,
) -> Dashboard:
    judged = [(p, j) for p in chosen if (j := p.judged) is not None]
    js = [j for _, j in judged]
    overall = _counted("All judged patients", Counter((j.responded, j.remitted) for j in js))
    rapid_seen = Counter(j.rapid for j in js)
    after = _spread(Counter(j.after_session for j in js))
    by_session = {
        k: _counted(f"After session {k}", Counter({(r, m): v for (kk, r, m), v in after.items() if kk == k}))
        for k in sorted({k for k, _, _ in after})
    }
    points = _spread(Counter(j.at_points for j in js))
    by_point = {
        fp.id: _counted(fp.label, Counter({(r, m): v for (q, r, m), v in points.items() if q == fp.id}))
        for fp in d.fixed_points
    }
    followed = [j for j in js if j.followed_days is not None]
    durations = [j.followed_days or 0.0 for j in followed]
    events = [j.relapsed for j in followed]
    flow, stops = _flow(chosen, now)
    survival, at_risk = kaplan_meier(durations, events)
    rises = Counter(itertools.chain.from_iterable(p.bp_rises for p in chosen))
    return Dashboard(
        filters=f,
        patients=len(chosen),
        judged=len(js),
        flow=flow,
        stop_reasons=stops,
        overall=overall.rate("all"),
        rapid_response=_rate(outcomes.wilson(rapid_seen[True], rapid_seen[True] + rapid_seen[False])),
        by_diagnosis=_grouped("diagnosis", [j.diagnosis for j in js], [j.diagnosis_label for j in js], js),
        by_protocol=_grouped(
            "protocol", [p.protocol for p, _ in judged], [(p.protocol or "").replace("_", " ") for p, _ in judged], js
        ),
        by_dose_band=_grouped("dose", [j.dose_band for j in js], [j.dose_label for j in js], js),
        by_session=[by_session[k].rate(f"session:{k}") for k in sorted(by_session)],
        at_points=[by_point[fp.id].rate(f"point:{fp.id}") for fp in d.fixed_points],
        trajectory=_trajectory(js),
        survival=survival,
        at_risk=at_risk,
        relapses=sum(events),
        followed_after_benefit=len(durations),
        model=_model(judged, session),
        adverse=_adverse(chosen),
        bp_rise=_bp_bins(rises),
        bp_rise_median=_median(rises),
        bp_rise_sessions=rises.total(),
        options={},
        definitions=_definitions(d),
    )


def _spread(patterns: Counter[tuple[_T, ...]]) -> Counter[_T]:
    """Return the count of each entry from counts of the patterns holding them (few patterns, many patients)."""
    out: Counter[_T] = Counter()
    for pattern, n in patterns.items():
        for x in pattern:
            out[x] += n
    return out


def _median(counts: Counter[float]) -> float | None:
    """Return the median of the counted values (as statistics.median of the values)."""
    n = counts.total()
    if n == 0:
        return None
    lower, upper = (n - 1) // 2, n // 2  # positions of the middle value(s) in sorted order
    low = high = None
    seen = 0
    for v in sorted(counts):
        seen += counts[v]
        if low is None and seen > lower:
            low = v
        if seen > upper:
            high = v
            break
    assert low is not None and high is not None  # noqa: S101 - n > 0
    return low if n % 2 else (low + high) / 2


def _trajectory(js: list[Judged]) -> list[TrajectoryPoint]:
    """Return the mean percent change from baseline by week since the first session, with 95 % bands."""
    by_week = week_values(js)
    points = [TrajectoryPoint(week=0, n=sum(1 for j in js if j.model_pct), mean=0.0, low=0.0, high=0.0)]
    for w in sorted(by_week):
        if w == 0:
            continue
        m = outcomes.mean_band(by_week[w])
        points.append(TrajectoryPoint(week=w, n=m.n, mean=m.mean, low=m.low, high=m.high))
    return points


def _model(judged: list[tuple[Digest, Judged]], s: Session) -> ModelEstimate:
    """Fit the mixed model on the cohort, or on its fixed sample when larger; a fit is kept (in memory and in the
    database, for every process) under a hash of the rows it was fitted on."""
    scored = [(p, j) for p, j in judged if j.model_pct]
    sample = set(model_sample([p.patient_id for p, _ in scored]))
    rows = [(p, j) for p, j in scored if p.patient_id in sample]
    pids = [p.patient_id for p, j in rows for _ in j.model_pct]
    sess = [x for _, j in rows for x in j.model_sessions]
    pct = [x for _, j in rows for x in j.model_pct]
    key = stored.settings_hash(len(scored), pids, sess, pct)
    fit = _MODELS.get(key) or stored.read_fit(s, key)
    if fit is None:
        fit = mixed_model(pids, sess, pct, cohort_patients=len(scored))
        stored.write_fit(s, key, fit)
    if key not in _MODELS:
        if len(_MODELS) >= _MODELS_KEPT:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = fit
    return fit


def _adverse(chosen: list[Digest]) -> AdverseEvents:
    n = events = grade3 = 0
    types: Counter[str] = Counter()
    for p in chosen:
        n += p.sessions
        events += p.side_effects
        grade3 += p.grade3
        if p.types:
            types.update(p.types)
    return AdverseEvents(
        sessions=n,
        events=events,
        per_100=outcomes.per_100(events, n),
        grade3_per_100=outcomes.per_100(grade3, n),
        by_type=[(t.replace("_", " "), c, outcomes.per_100(c, n)) for t, c in types.most_common()],
    )


def _bp_bins(counts: Counter[float]) -> list[CountBin]:
    bins = []
    edges = [float("-inf"), *BP_BINS[1:]]
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else None
        label = f"below {BP_BINS[1]:g}" if i == 0 else f"{lo:g} to {hi:g}" if hi is not None else f"{lo:g} or more"
        count = sum(c for v, c in counts.items() if v >= lo and (hi is None or v < hi))
        bins.append(CountBin(label=label, low=lo if i else BP_BINS[0], high=hi, count=count))
    return bins


def _definitions(d: outcomes.Definitions) -> list[tuple[str, str, str]]:
    rows = []
    for iid, r in d.instruments.items():
        name = load_instrument(iid).short_name
        rows.append((f"{name} response", r.response.describe(), r.response.source))
        rows.append((f"{name} remission", r.remission.describe(), r.remission.source))
    rows.append(
        (
            "Rapid response",
            f"a response on the score nearest {d.rapid_hours:g} h after the first session "
            f"({d.rapid_window_before_h:g} h before to {d.rapid_window_after_h:g} h after)",
            d.rapid_source,
        )
    )
    rows.append(
        (
            "Relapse",
            f"after a response or remission, {d.relapse_confirmations} scores in a row that meet neither",
            d.relapse_source,
        )
    )
    rows.append(("Reliable change", f"|RC| > {d.rci_z:g}; {d.rci_se_formula}", d.rci_source))
    return rows  # fmt: skip
