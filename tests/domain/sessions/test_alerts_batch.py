"""The batch alert engine decides exactly what the original reading-by-reading engine decided.

`reference_evaluate` below is the engine as it was before the batch path (issue #7 performance work), kept
verbatim (except that durations in its texts are written for people, "24 min 47 s", as the engine now writes
them, issue 12 point 7): it walks every reading in the window for every rule at every `now`. The properties check that
`evaluate` and `evaluate_series` give the same alerts to raise and resolve, with the same texts, for any
readings, baselines, rule variants, phases, windows and alerts already active.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.formatting import duration
from ketacare.domain.sessions.alerts import (
    PHASES,
    PRIORITIES,
    Alert,
    AlertChanges,
    AlertRule,
    Condition,
    apply_changes,
    evaluate,
    evaluate_series,
    load_alert_rules,
)
from ketacare.domain.sessions.vitals import LABELS, UNITS, VitalReading, VitalSigns

RULES = load_alert_rules()

# ---- the original engine, verbatim ----


def _value(rule: AlertRule, c: Condition, r: VitalReading, baseline: VitalSigns | None) -> float | None:
    x = r.get(c.vital)
    if x is None:
        return None
    if rule.kind == "rise":
        b = None if baseline is None else baseline.get(c.vital)
        return None if b is None else x - b
    return x


def _relevant(rule: AlertRule, readings: Sequence[VitalReading]) -> list[VitalReading]:
    return [r for r in readings if any(r.get(v) is not None for v in rule.watched)]


def _fires_on(rule: AlertRule, r: VitalReading, baseline: VitalSigns | None) -> bool:
    hits = []
    for c in rule.conditions:
        x = _value(rule, c, r, baseline)
        hits.append(x is not None and c.fires(x))
    return any(hits) if rule.match == "any" else all(hits)


def _describe_reading(rule: AlertRule, r: VitalReading, baseline: VitalSigns | None) -> str:
    parts = []
    if r.sbp is not None and r.dbp is not None and {"sbp", "dbp"} & set(rule.watched):
        parts.append(f"BP {r.sbp:g}/{r.dbp:g} mmHg")
    for v in rule.watched:
        if v in ("sbp", "dbp") and r.sbp is not None and r.dbp is not None:
            continue
        x = r.get(v)
        if x is not None:
            parts.append(f"{LABELS[v]} {x:g} {UNITS[v]}")
    text = ", ".join(dict.fromkeys(parts))
    if rule.kind == "rise" and baseline is not None:
        deltas = [
            f"{LABELS[c.vital]} {d:+g}"
            for c in rule.conditions
            if (d := _value(rule, c, r, baseline)) is not None
        ]
        text += f" (change from baseline: {', '.join(deltas)} mmHg)" if deltas else ""
    return f"{text} at {duration(r.t_min)}"


def _firing(
    rule: AlertRule,
    readings: Sequence[VitalReading],
    baseline: VitalSigns | None,
    now: float,
    phase_start_min: float,
) -> str | None:
    """Return a trigger description when `rule` fires now, else None."""
    if rule.kind == "overdue":
        times = [r.t_min for r in _relevant(rule, readings)]
        ref = max([phase_start_min, *times])
        gap = now - ref
        if gap > rule.max_gap_min:
            what = "/".join(LABELS[v] for v in rule.vitals)
            return f"no {what} reading for {duration(gap)} (expected at least every {duration(rule.max_gap_min)})"
        return None
    if rule.kind == "rise" and baseline is None:
        return None
    rel = _relevant(rule, readings)
    if not rel or not _fires_on(rule, rel[-1], baseline):
        return None
    if rule.sustained_min > 0:
        start = rel[-1].t_min
        for r in reversed(rel):
            if not _fires_on(rule, r, baseline):
                break
            start = r.t_min
        if rel[-1].t_min - start < rule.sustained_min:
            return None
        return f"{_describe_reading(rule, rel[-1], baseline)}, for {duration(rel[-1].t_min - start)}"
    return _describe_reading(rule, rel[-1], baseline)


def _clear_reason(
    rule: AlertRule,
    readings: Sequence[VitalReading],
    baseline: VitalSigns | None,
    now: float,
    phase: str,
    phase_start_min: float,
) -> str | None:
    """Return why an active alert of `rule` can resolve now, or None to keep it active."""
    if not rule.enabled:
        return "rule disabled by the clinic"
    if phase not in rule.phases:
        return f"no longer applies (session {phase})"
    if rule.kind == "overdue":
        return None if _firing(rule, readings, baseline, now, phase_start_min) else "reading received"
    rel = _relevant(rule, readings)
    if not rel:
        return None
    last = rel[-1]
    bad = []
    for c in rule.conditions:
        x = _value(rule, c, last, baseline)
        bad.append(True if x is None else c.still_bad(x))  # unmeasured: hold the alert
    still = any(bad) if rule.match == "any" else all(bad)
    if still:
        return None
    return f"back within limits with margin: {_describe_reading(rule, last, baseline)}"


def reference_evaluate(
    readings_so_far: Sequence[VitalReading],
    baseline: VitalSigns | None,
    rules: Sequence[AlertRule],
    now: float,
    active_alerts: Iterable[Alert],
    *,
    phase: str = "infusing",
    phase_start_min: float = 0.0,
) -> AlertChanges:
    """Return the alerts to raise and to resolve at `now` (minutes), given the readings so far.

    `phase` is the session phase (infusing, paused, recovery); overdue rules count from the last reading of
    the vital or from `phase_start_min`, whichever is later. Readings after `now` are ignored.
    """
    if phase not in PHASES:
        raise InvalidValue("phase", f"phase must be one of {', '.join(PHASES)}")
    readings = sorted((r for r in readings_so_far if r.t_min <= now), key=lambda r: r.t_min)
    by_id = {r.id: r for r in rules}
    active = [a for a in active_alerts if a.active]

    resolved: list[Alert] = []
    for a in active:
        rule = by_id.get(a.rule_id)
        reason = (
            "rule no longer configured"
            if rule is None
            else _clear_reason(rule, readings, baseline, now, phase, phase_start_min)
        )
        # A late reading older than the alert cannot clear it (the reading is still stored).
        if reason and now >= a.raised_at_min:
            resolved.append(a.resolve(at_min=now, reason=reason))
    resolved_ids = {a.id for a in resolved}
    remaining = [a for a in active if a.id not in resolved_ids]

    candidates: dict[str, tuple[AlertRule, str]] = {}
    for rule in rules:
        if not rule.enabled or phase not in rule.phases:
            continue
        trigger = _firing(rule, readings, baseline, now, phase_start_min)
        if trigger is None:
            continue
        best = candidates.get(rule.group)
        if best is None or rule.rank > best[0].rank:
            candidates[rule.group] = (rule, trigger)

    raised: list[Alert] = []
    for group, (rule, trigger) in candidates.items():
        in_group = [a for a in remaining if a.group == group]
        if any(a.rank >= rule.rank or a.raised_at_min > now for a in in_group):
            continue  # the condition is already alerting at this level or higher: no repeat
        for a in in_group:
            resolved.append(a.resolve(at_min=now, reason=f"superseded by {rule.id}"))
        raised.append(
            Alert(
                id=f"{rule.id}@{now:g}",
                rule_id=rule.id,
                group=rule.group,
                rank=rule.rank,
                priority=rule.priority,
                title=rule.title,
                advice=rule.advice,
                actions=rule.actions,
                source=rule.source,
                raised_at_min=now,
                trigger=trigger,
            )
        )
    order = {p: i for i, p in enumerate(PRIORITIES)}
    raised.sort(key=lambda a: (order[a.priority], a.rule_id))
    return AlertChanges(tuple(raised), tuple(resolved))


def reference_series(readings, baseline, rules, steps, active, *, phase, phase_start_min, window_min):
    """Evaluate reading by reading with the original engine, as the service did before the batch path."""
    ordered = sorted(readings, key=lambda r: r.t_min)
    active = tuple(active)
    out = []
    for now in steps:
        lo = float("-inf") if window_min is None else now - window_min
        window = [r for r in ordered if lo <= r.t_min <= now]
        ch = reference_evaluate(
            window, baseline, rules, now, active, phase=phase, phase_start_min=phase_start_min
        )
        active = apply_changes(active, ch)
        out.append(ch)
    return tuple(out)


def _outcome(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except InvalidValue as e:  # e.g. an alert resolved before it was raised: both must refuse alike
        return ("refused", e.field, e.message)


# ---- strategies ----

_TIMES = st.one_of(st.integers(0, 40), st.integers(0, 160).map(lambda q: q / 4))
_SBP = st.one_of(st.none(), st.sampled_from([85, 89, 90, 94, 95, 150, 160, 165, 170, 171, 179, 180, 185, 200]),
                 st.integers(60, 230))  # fmt: skip
_DBP = st.one_of(
    st.none(), st.sampled_from([60, 90, 95, 99, 100, 105, 109, 110, 115, 120]), st.integers(40, 130)
)
_HR = st.one_of(st.none(), st.sampled_from([45, 49, 50, 55, 110, 119, 120, 121, 125, 140, 150, 151, 160]))
_SPO2 = st.one_of(st.none(), st.sampled_from([88, 90, 91, 92, 93, 94, 95, 98]), st.floats(85, 100).map(round))
_RR = st.one_of(st.none(), st.sampled_from([6, 8, 9, 10, 11, 12, 14, 20]))


@st.composite
def readings(draw, max_size=40):
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        sbp, dbp = draw(_SBP), draw(_DBP)
        if sbp is not None and dbp is not None and dbp >= sbp:
            dbp = None
        t = draw(_TIMES)
        out.append(VitalReading(t_min=t, sbp=sbp, dbp=dbp, hr=draw(_HR), spo2=draw(_SPO2), rr=draw(_RR)))
    return out


baselines = st.one_of(
    st.none(),
    st.builds(
        VitalSigns,
        sbp=st.one_of(st.none(), st.sampled_from([110, 118, 125, 130, 140])),
        dbp=st.one_of(st.none(), st.sampled_from([70, 74, 80, 85])),
        hr=st.one_of(st.none(), st.just(72)),
        spo2=st.one_of(st.none(), st.just(98)),
        rr=st.one_of(st.none(), st.just(14)),
    ),
)


@st.composite
def rule_variant(draw, rule: AlertRule) -> AlertRule:
    if not draw(st.booleans()):
        return rule
    changes = {
        "enabled": draw(st.booleans()) or draw(st.booleans()),
        "phases": tuple(draw(st.sets(st.sampled_from(PHASES), min_size=1))),
    }
    if rule.kind == "overdue":
        changes["max_gap_min"] = draw(st.sampled_from([1.0, 2.5, 5.0, 10.0, 15.0]))
    else:
        changes["sustained_min"] = draw(st.sampled_from([0.0, 0.0, 1.0, 2.0, 5.0, 7.5]))
        changes["match"] = draw(st.sampled_from(["any", "all"]))
        changes["conditions"] = tuple(
            Condition(c.vital, draw(st.sampled_from([c.op, ">=", "<="] if c.high else [c.op, "<=", "<"])),
                      c.value, draw(st.sampled_from([0.0, c.resolve_margin])))
            for c in rule.conditions
        )  # fmt: skip
    return replace(rule, **changes)


@st.composite
def rule_sets(draw):
    rules = [draw(rule_variant(r)) for r in draw(st.permutations(RULES))]
    keep = draw(st.integers(1, len(rules)))
    return tuple(rules[:keep])


@st.composite
def prior_alerts(draw, rules):
    out = []
    for k in range(draw(st.integers(0, 3))):
        rule = draw(st.sampled_from(list(rules) + list(RULES)))
        out.append(
            Alert(
                id=f"old-{k}",
                rule_id=draw(st.sampled_from([rule.id, rule.id, "retired_rule"])),
                group=rule.group,
                rank=rule.rank,
                priority=draw(st.sampled_from(PRIORITIES)),
                title=rule.title,
                advice=rule.advice,
                actions=rule.actions,
                source=rule.source,
                raised_at_min=draw(st.sampled_from([0.0, 0.0, 5.0, 30.0])),
                trigger="earlier",
                status=draw(st.sampled_from(["raised", "raised", "acknowledged", "resolved"])),
            )
        )
    return out


common = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(data=st.data())
def test_batch_path_matches_reading_by_reading(data):
    rs = data.draw(readings())
    rules = data.draw(rule_sets())
    baseline = data.draw(baselines)
    phase = data.draw(st.sampled_from(PHASES))
    phase_start = data.draw(st.sampled_from([0.0, 3.0, 12.5]))
    window = data.draw(st.sampled_from([None, 20.0, 5.0, 0.25]))
    prior = data.draw(prior_alerts(rules))
    # as the service does: a step at every new reading, in charted order; some readings were there before
    ordered = sorted(rs, key=lambda r: r.t_min)
    new = data.draw(st.lists(st.booleans(), min_size=len(ordered), max_size=len(ordered)))
    steps = [r.t_min for r, is_new in zip(ordered, new, strict=True) if is_new]
    steps += data.draw(st.lists(_TIMES, max_size=2))  # and a step or two with no reading (overdue checks)
    kw = {"phase": phase, "phase_start_min": phase_start, "window_min": window}
    fast = _outcome(evaluate_series, rs, baseline, rules, steps, prior, **kw)
    slow = _outcome(reference_series, rs, baseline, rules, steps, prior, **kw)
    assert fast == slow


@common
@given(data=st.data())
def test_single_evaluation_matches_the_original(data):
    rs = data.draw(readings())
    rules = data.draw(rule_sets())
    baseline = data.draw(baselines)
    now = data.draw(_TIMES)
    phase = data.draw(st.sampled_from(PHASES))
    prior = data.draw(prior_alerts(rules))
    kw = {"phase": phase, "phase_start_min": data.draw(st.sampled_from([0.0, 7.0]))}
    assert _outcome(evaluate, rs, baseline, rules, now, prior, **kw) == _outcome(
        reference_evaluate, rs, baseline, rules, now, prior, **kw
    )


def test_a_long_batch_raises_once_per_condition_like_the_original():
    """1,000 readings at a 15-second cadence with a hypertensive stretch, a sustained tachycardia and a gap."""
    rs = []
    for k in range(1000):
        t = k / 4
        if 300 <= k < 320:
            continue  # a five-minute gap in the monitor feed
        sbp = 186 if 100 <= k < 140 else 132
        hr = 128 if 500 <= k < 560 else 78
        rs.append(VitalReading(t_min=t, sbp=sbp, dbp=96, hr=hr, spo2=97, rr=14))
    base = VitalSigns(sbp=125, dbp=80, hr=72, spo2=98, rr=14)
    steps = [r.t_min for r in rs]
    kw = {"phase": "infusing", "phase_start_min": 0.0, "window_min": 20.0}
    fast = evaluate_series(rs, base, RULES, steps, [], **kw)
    assert fast == reference_series(rs, base, RULES, steps, [], **kw)
    raised = [a.rule_id for ch in fast for a in ch.raised]
    assert raised.count("bp_severe") == 1 and raised.count("hr_high_sustained") == 1


def test_a_late_reading_older_than_an_open_alert_leaves_it_open():
    """A monitor that delivers an old normal reading late must not clear, or fail on, a newer alert."""
    from ketacare.domain.sessions.alerts import evaluate, load_alert_rules
    from ketacare.domain.sessions.vitals import VitalReading

    rules = load_alert_rules()
    high = [VitalReading(t_min=20.0, sbp=186, dbp=104)]
    raised = evaluate(high, None, rules, 20.0, (), phase="infusing").raised
    assert raised
    late_normal = [VitalReading(t_min=10.0, sbp=120, dbp=80), *high]
    changes = evaluate(late_normal, None, rules, 10.0, raised, phase="infusing")
    assert changes.resolved == () and changes.raised == ()
