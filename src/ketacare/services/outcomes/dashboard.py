"""The clinic outcomes dashboard (issue 18 point 3): cohort flow, rates with intervals, trajectories, survival,
a mixed-effects model, side effects and blood-pressure rises, for the filtered cohort. Aggregates only."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, tzinfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain import outcomes
from ketacare.domain.measurement import load_instrument
from ketacare.services import clinic, clock
from ketacare.services.access import Actor
from ketacare.services.outcomes import stored
from ketacare.services.outcomes.analysis import kaplan_meier, mixed_model, model_sample
from ketacare.services.outcomes.cache import DigestStore
from ketacare.services.outcomes.definitions import in_force
from ketacare.services.outcomes.digest import MAINTAINED_AFTER_DAYS, Digest, digest_of
from ketacare.services.outcomes.frame import NONE, Frame, day, instant
from ketacare.services.outcomes.schemas import (
    AdverseEvents,
    AtRisk,
    CountBin,
    Dashboard,
    FlowStage,
    GroupRate,
    ModelEstimate,
    OutcomeFilters,
    RateRead,
    StopReason,
    SurvivalPoint,
    TrajectoryPoint,
)
from ketacare.services.outcomes.snapshot import load
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.patients import Patient
from ketacare.store.tables.scheduling import Chair, Site

RESOURCE = "outcomes"
STOPPED_AFTER_DAYS = 60  # no session for this long: stopped (until plans record a stop with its reason)
BP_BINS = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)


def _rate(r: outcomes.Rate) -> RateRead:
    return RateRead(k=r.k, n=r.n, proportion=r.proportion, low=r.low, high=r.high)


def dashboard(*, db: Database, actor: Actor, filters: OutcomeFilters) -> Dashboard:
    """Return the outcomes of the filtered cohort; aggregates only (no names, no record ids); audited."""
    d = in_force(db)
    now = clock.now()
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        s = uow.session
        everyone = _current(db, s, d)
        sites = {label: site for label, site in s.execute(select(Chair.label, Chair.site_id))}
        unfiltered = not filters.model_dump(exclude_none=True)
        chosen = np.ones(len(everyone), dtype=bool) if unfiltered else _keep(everyone, filters, sites)
        out = _build(d, filters, everyone, chosen, now, session=s)
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


def prepare(*, db: Database, actor: Actor) -> int:
    """Digest every patient that changed (everyone the first time) and store the frame, so that the next dashboard
    of any process only reads it (a bulk load calls this); return the number of patients. Audited as a view.

    Digesting everyone uses a second process for the upper half of the patients when there are PARALLEL_FROM
    patients or more, two cores and a database file or server (a bulk load waits for it; a request never does)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        n = len(_current(db, uow.session, in_force(db), parallel=True))
        uow.audit("view", "outcomes_dashboard", details={"patients": n, "prepared": True})
        return n


PARALLEL_FROM = 20_000


def _current(db: Database, s: Session, d: outcomes.Definitions, *, parallel: bool = False) -> Frame:
    zone = clinic.zone(db)

    def digest(ids: Iterable[int] | None) -> dict[int, Digest]:
        return {pid: digest_of(p, d, zone) for pid, p in load(s, ids).items()}

    def everyone() -> Frame:
        lo, hi = s.execute(select(func.min(Patient.id), func.max(Patient.id))).one()
        if lo is None or hi - lo + 1 < PARALLEL_FROM or (os.cpu_count() or 1) < 2 or ":memory:" in db.url:
            return Frame.of(digest(None).values())
        mid = (lo + hi) // 2
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of this one's connections
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            upper = pool.submit(_digest_range, db.url, mid + 1, hi, d, zone)
            lower = Frame.of(digest_of(p, d, zone) for p in load(s, id_range=(lo, mid)).values())
            return Frame.joined([lower, Frame.from_bytes(upper.result())])

    return _DIGESTS.current(
        s, db.url, (str(zone), repr(d)), digest, scope=id(db), everyone=everyone if parallel else None
    )


def _digest_range(url: str, lo: int, hi: int, d: outcomes.Definitions, zone: tzinfo) -> bytes:
    """Return the frame (bytes) of the patients with ids lo..hi: the second process of `prepare`, reading for the
    authorized and audited call that started it."""
    db = Database(url)
    try:
        with db.read_session() as s:  # beside the writer that waits for it (SQLite: no write lock)
            return Frame.of(digest_of(p, d, zone) for p in load(s, id_range=(lo, hi)).values()).to_bytes()
    finally:
        db.dispose()


_DIGESTS = DigestStore()
_MODELS: dict[str, ModelEstimate] = {}
_MODELS_KEPT = 32
_OPTIONS: dict[tuple[object, ...], dict[str, list[tuple[str, str]]]] = {}
_SURVIVAL: dict[str, tuple[list[SurvivalPoint], list[AtRisk]]] = {}
_NOTHING = -2  # a code no row has (NONE is -1)


def forget_cached() -> None:
    """Drop the kept digests and model fits (benchmarks time the first request after a server start)."""
    _DIGESTS.clear()
    _MODELS.clear()
    _OPTIONS.clear()
    _SURVIVAL.clear()


def _keep(fr: Frame, f: OutcomeFilters, sites: dict[str, int]) -> np.ndarray:
    """Return which patients the filters keep (a mask in patient order)."""
    keep = np.ones(len(fr), dtype=bool)
    if f.diagnosis:
        keep &= fr["dx"] == _code(fr, f.diagnosis)
    if f.protocol:
        keep &= fr["protocol"] == _code(fr, f.protocol)
    if f.clinician_id:
        keep &= fr["clinician"].astype(np.int64) == f.clinician_id  # a filter id may not fit the column
    if f.site_id:
        site_of = np.full(len(fr.strings) + 1, NONE, dtype=np.int64)  # the last slot answers NONE (no chair)
        for label, site in sites.items():
            c = fr.find(label)
            if c is not None:
                site_of[c] = site
        keep &= site_of[fr["chair"]] == f.site_id
    if f.date_from or f.date_to:
        days = fr["day"]
        keep &= days != NONE
        if f.date_from:
            keep &= days >= day(f.date_from)
        if f.date_to:
            keep &= days <= day(f.date_to)
    return keep


def _code(fr: Frame, value: str) -> int:
    c = fr.find(value)
    return _NOTHING if c is None else c


def _options(fr: Frame, s: Session, sites: dict[str, int]) -> dict[str, list[tuple[str, str]]]:
    dx: dict[str, str] = {}
    codes, displays = fr["dx"], fr["dx_display"]
    present = np.flatnonzero(codes != NONE)
    _, first = np.unique(codes[present], return_index=True)
    _, last = np.unique(codes[present][::-1], return_index=True)
    for i, j in sorted(zip(first.tolist(), (len(present) - 1 - last).tolist(), strict=True)):  # first seen first
        key = fr.text(int(codes[present[i]]))
        if key:
            dx[key] = fr.text(int(displays[present[j]])) or ""  # the last patient's display, as a dict would keep
    protocols = {x for c in np.unique(fr["protocol"]).tolist() if (x := fr.text(c))}
    people = set(np.unique(fr["clinician"][fr["clinician"] != NONE]).tolist())
    chairs = {x for c in np.unique(fr["chair"]).tolist() if (x := fr.text(c)) is not None}
    places = {sites[c] for c in chairs if c in sites}
    clinicians = {uid: name for uid, name in s.execute(select(User.id, User.display_name).where(User.id.in_(people)))}
    names = {sid: name for sid, name in s.execute(select(Site.id, Site.name).where(Site.id.in_(places)))}
    return {
        "diagnosis": sorted(dx.items(), key=lambda kv: kv[1]),
        "protocol": [(x, x.replace("_", " ").replace("-", " ")) for x in sorted(protocols)],
        "clinician": sorted(((str(i), clinicians.get(i, f"user {i}")) for i in sorted(people)), key=lambda kv: kv[1]),
        "site": sorted(((str(i), names.get(i, f"site {i}")) for i in places), key=lambda kv: kv[1]),
    }


class _Counts:
    """Response and remission counts of one group (k of n each)."""

    __slots__ = ("label", "n", "remitted", "responded")

    def __init__(self, label: str, n: int = 0, responded: int = 0, remitted: int = 0) -> None:
        self.label, self.n, self.responded, self.remitted = label, n, responded, remitted

    def rate(self, group: str) -> GroupRate:
        return GroupRate(
            group=group, label=self.label, response=_rate(outcomes.wilson(self.responded, self.n)),
            remission=_rate(outcomes.wilson(self.remitted, self.n)),
        )  # fmt: skip


def _counted(label: str, chosen: np.ndarray, responded: np.ndarray, remitted: np.ndarray) -> _Counts:
    return _Counts(
        label, int(np.count_nonzero(chosen)), int(np.count_nonzero(chosen & responded)),
        int(np.count_nonzero(chosen & remitted)),
    )  # fmt: skip


def _flow(fr: Frame, chosen: np.ndarray, now: datetime) -> tuple[list[FlowStage], list[StopReason]]:
    treated = chosen & fr["treated"]
    aborted = treated & fr["last_aborted"]
    last = fr["last_us"]
    stale = treated & ~fr["last_aborted"] & (last != np.iinfo(np.int64).min)
    stale &= last < instant(now - timedelta(days=STOPPED_AFTER_DAYS))
    found = [
        (-int(np.count_nonzero(m)), int(np.argmax(m)), r)
        for r, m in (("last session stopped early (aborted)", aborted),
                     (f"no session for more than {STOPPED_AFTER_DAYS} days", stale))
        if m.any()
    ]  # fmt: skip
    reasons = [(r, -n) for n, _, r in sorted(found)]  # most first; ties in the order first met (as a Counter)

    def count(flag: str) -> int:
        return int(np.count_nonzero(chosen & fr[flag]))

    stages = [
        FlowStage(id="referred", label="Referred", count=int(np.count_nonzero(chosen)), how="patient records"),
        FlowStage(id="screened", label="Screened", count=count("screened"),
                  how="an eligibility evaluation was recorded"),
        FlowStage(id="eligible", label="Eligible", count=count("eligible"),
                  how="newest eligibility decision: eligible (or with cautions)"),
        FlowStage(id="consented", label="Consented", count=count("consented"),
                  how="consent confirmed at a session check-in (course consent comes with treatment plans)"),
        FlowStage(id="treated", label="Treated", count=int(np.count_nonzero(treated)),
                  how="at least one infusion started"),
        FlowStage(id="maintained", label="Maintained", count=count("maintained"),
                  how=f"a session {MAINTAINED_AFTER_DAYS} days or more after the first (plan phases come with "
                  "treatment plans)"),
        FlowStage(id="stopped", label="Stopped", count=sum(n for _, n in reasons),
                  how="last session aborted, or none for "
                  f"{STOPPED_AFTER_DAYS} days (reasons recorded with treatment plans later)"),
    ]  # fmt: skip
    return stages, [StopReason(reason=r, count=n) for r, n in reasons]


def _grouped(name: str, fr: Frame, judged: np.ndarray, key: str, label: str | None) -> list[GroupRate]:
    """Rates per group key ("none" for no key), ordered by label, then by the group's first patient.

    `label` names the column of each patient's label; None: the key with underscores as spaces.
    """
    rows = np.flatnonzero(judged)
    codes = fr[key][rows]
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    n = np.bincount(inverse, minlength=len(uniq))
    responded = np.bincount(inverse[fr["responded"][rows]], minlength=len(uniq))
    remitted = np.bincount(inverse[fr["remitted"][rows]], minlength=len(uniq))
    groups: dict[str, tuple[int, str, _Counts]] = {}  # normalised key -> (first patient, label, counts)
    for c, i, k, r, m in zip(uniq.tolist(), first.tolist(), n.tolist(), responded.tolist(), remitted.tolist(),
                             strict=True):  # fmt: skip
        value = fr.text(c)
        if not value:
            text = "not recorded"
        elif label is None:
            text = value.replace("_", " ")
        else:
            text = fr.text(int(fr[label][rows[i]])) or ""
        at, shown, counts = groups.get(value or "none", (i, text, _Counts(text)))
        counts.n, counts.responded, counts.remitted = counts.n + k, counts.responded + r, counts.remitted + m
        groups[value or "none"] = (i, text, counts) if i < at else (at, shown, counts)
    ordered = sorted(groups.items(), key=lambda kv: (kv[1][1], kv[1][0]))
    return [_Counts(shown, c.n, c.responded, c.remitted).rate(f"{name}:{k}") for k, (_, shown, c) in ordered]


def _build(
    d: outcomes.Definitions,
    f: OutcomeFilters,
    fr: Frame,
    chosen: np.ndarray,
    now: datetime,
    *,
    session: Session,
) -> Dashboard:
    judged = chosen & fr["judged"]
    responded, remitted = fr["responded"], fr["remitted"]
    overall = _counted("All judged patients", judged, responded, remitted)
    rapid = fr["rapid"][judged]
    rapid_yes, rapid_no = int(np.count_nonzero(rapid == 1)), int(np.count_nonzero(rapid == 0))
    sel = judged[fr.owners("after")]
    ks, ar, am = fr["after_k"][sel], fr["after_r"][sel], fr["after_m"][sel]
    by_session = [
        _counted(f"After session {k}", ks == k, ar, am).rate(f"session:{k}") for k in np.unique(ks).tolist()
    ]
    sel = judged[fr.owners("point")]
    fps, pr, pm = fr["point_fp"][sel], fr["point_r"][sel], fr["point_m"][sel]
    at_points = [
        _counted(fp.label, fps == _code(fr, fp.id), pr, pm).rate(f"point:{fp.id}") for fp in d.fixed_points
    ]
    days = fr["followed"]
    followed = judged & ~np.isnan(days)
    events = int(np.count_nonzero(fr["relapsed"][followed]))
    flow, stops = _flow(fr, chosen, now)
    survival, at_risk = _survival(days[followed], fr["relapsed"][followed])
    rises = np.sort(fr["bp_v"][chosen[fr.owners("bp")]])
    return Dashboard(
        filters=f,
        patients=int(np.count_nonzero(chosen)),
        judged=overall.n,
        flow=flow,
        stop_reasons=stops,
        overall=overall.rate("all"),
        rapid_response=_rate(outcomes.wilson(rapid_yes, rapid_yes + rapid_no)),
        by_diagnosis=_grouped("diagnosis", fr, judged, "jdx", "jlabel"),
        by_protocol=_grouped("protocol", fr, judged, "protocol", None),
        by_dose_band=_grouped("dose", fr, judged, "band", "band_label"),
        by_session=by_session,
        at_points=at_points,
        trajectory=_trajectory(fr, judged),
        survival=survival,
        at_risk=at_risk,
        relapses=events,
        followed_after_benefit=int(np.count_nonzero(followed)),
        model=_model(fr, judged, session),
        adverse=_adverse(fr, chosen),
        bp_rise=_bp_bins(rises),
        bp_rise_median=_median(rises),
        bp_rise_sessions=len(rises),
        options={},
        definitions=_definitions(d),
    )


def _survival(durations: np.ndarray, relapsed: np.ndarray) -> tuple[list[SurvivalPoint], list[AtRisk]]:
    """Return the Kaplan-Meier curve and numbers at risk, kept under a hash of its inputs (a curve of 100,000
    patients has tens of thousands of points: building them is most of a request)."""
    key = hashlib.sha256(durations.tobytes() + b"|" + relapsed.tobytes()).hexdigest()
    kept = _SURVIVAL.get(key)
    if kept is None:
        kept = kaplan_meier(durations.tolist(), relapsed.tolist())
        if len(_SURVIVAL) >= _MODELS_KEPT:
            _SURVIVAL.pop(next(iter(_SURVIVAL)))
        _SURVIVAL[key] = kept
    return kept


def _median(ordered: np.ndarray) -> float | None:
    """Return the median of sorted values (as statistics.median of the values)."""
    n = len(ordered)
    if n == 0:
        return None
    low, high = float(ordered[(n - 1) // 2]), float(ordered[n // 2])
    return low if n % 2 else (low + high) / 2


def _trajectory(fr: Frame, judged: np.ndarray) -> list[TrajectoryPoint]:
    """Return the mean percent change from baseline by week since the first session, with 95 % bands."""
    scored = int(np.count_nonzero(judged & fr.has("model")))
    points = [TrajectoryPoint(week=0, n=scored, mean=0.0, low=0.0, high=0.0)]
    sel = judged[fr.owners("week")]
    weeks, values = fr["week_w"][sel], fr["week_v"][sel]
    for w in np.unique(weeks).tolist():
        if w == 0:
            continue
        m = outcomes.mean_band(values[weeks == w].tolist())
        points.append(TrajectoryPoint(week=w, n=m.n, mean=m.mean, low=m.low, high=m.high))
    return points


def _model(fr: Frame, judged: np.ndarray, s: Session) -> ModelEstimate:
    """Fit the mixed model on the cohort, or on its fixed sample when larger; a fit is kept (in memory and in the
    database, for every process) under a hash of the rows it was fitted on."""
    sel = judged[fr.owners("model")]
    owners = fr["model_pid"]
    scored = fr["pid"][judged & fr.has("model")]
    sel &= np.isin(owners, np.asarray(model_sample(scored.tolist()), dtype=np.int64))
    pids = owners[sel].tolist()
    sess = fr["model_sess"][sel].tolist()
    pct = fr["model_pct"][sel].tolist()
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


def _adverse(fr: Frame, chosen: np.ndarray) -> AdverseEvents:
    n = int(fr["sessions"][chosen].sum())
    events = int(fr["side_effects"][chosen].sum())
    grade3 = int(fr["grade3"][chosen].sum())
    sel = chosen[fr.owners("type")]
    codes, counts = fr["type_code"][sel], fr["type_n"][sel]
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    totals = np.zeros(len(uniq), dtype=np.int64)
    np.add.at(totals, inverse, counts)
    types = sorted(zip(uniq.tolist(), totals.tolist(), first.tolist(), strict=True), key=lambda t: (-t[1], t[2]))
    return AdverseEvents(
        sessions=n,
        events=events,
        per_100=outcomes.per_100(events, n),
        grade3_per_100=outcomes.per_100(grade3, n),
        by_type=[((fr.text(t) or "").replace("_", " "), c, outcomes.per_100(c, n)) for t, c, _ in types],
    )


def _bp_bins(ordered: np.ndarray) -> list[CountBin]:
    bins = []
    edges = [float("-inf"), *BP_BINS[1:]]
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else None
        label = f"below {BP_BINS[1]:g}" if i == 0 else f"{lo:g} to {hi:g}" if hi is not None else f"{lo:g} or more"
        below_hi = len(ordered) if hi is None else int(np.searchsorted(ordered, hi, side="left"))
        count = below_hi - int(np.searchsorted(ordered, lo, side="left"))
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
