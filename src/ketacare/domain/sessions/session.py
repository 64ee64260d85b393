"""Infusion-session state machine (pure): states, events, guards from `SessionFacts`, recorded overrides.

States: scheduled -> checked_in -> prechecks_passed -> infusing <-> paused -> recovery -> discharged, or
aborted from any non-final state with a reason. Transitions, guard messages, sources, override roles and
clinic settings live in `data/session.toml`; this module holds only the guard predicates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.formatting import duration
from ketacare.domain.sessions.vitals import LABELS, UNITS, VitalSigns

_DATA = "ketacare.domain.sessions.data"


class State(StrEnum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    PRECHECKS_PASSED = "prechecks_passed"
    INFUSING = "infusing"
    PAUSED = "paused"
    RECOVERY = "recovery"
    DISCHARGED = "discharged"
    ABORTED = "aborted"


class Event(StrEnum):
    CHECK_IN = "check_in"
    PASS_PRECHECKS = "pass_prechecks"  # noqa: S105 - a session transition, not a password
    START_INFUSION = "start_infusion"
    PAUSE = "pause"
    RESUME = "resume"
    END_INFUSION = "end_infusion"
    DISCHARGE = "discharge"
    ABORT = "abort"


Product = Literal["racemic_ketamine", "esketamine"]


class InvalidTransition(InvalidValue):
    """The event makes no sense in the current state (e.g. discharge before check-in)."""


@dataclass(frozen=True)
class SessionFacts:
    """What the service knows about the session at the moment of the event (all times in minutes).

    Pre-infusion facts feed the pre-check and start guards; discharge facts feed the discharge guard.
    `minutes_since_last_session` is None for a first session. `observation_min` is minutes since the end of
    the infusion (racemic ketamine) or since administration (esketamine, as the REMS counts it).
    `unresolved_high_alerts` counts active high-priority alerts (acknowledged or not); `unacknowledged_high_alerts`
    counts high-priority alerts nobody acknowledged, resolved or not. `latest_spo2_*` / `latest_rr_*` are the
    newest reading of that vital in the session (age in minutes; `latest_spo2_on_oxygen` None when not recorded).
    `aldrete_respiration_spo2_full` says whether the modified Aldrete gave 2 points to both respiration and SpO2.
    """

    product: Product = "racemic_ketamine"
    consent_on_file: bool = False
    eligibility_current: bool = False
    dose_order_signed: bool = False
    dose_order_double_checked: bool = False
    baseline_vitals: VitalSigns | None = None
    minutes_since_last_food: float | None = None
    minutes_since_last_liquid: float | None = None
    escort_confirmed: bool = False
    pregnancy_test_applicable: bool = False
    pregnancy_test_negative: bool | None = None
    course_safety_holds: int = 0  # course-safety checks that hold the session (cumulative dose, PUF, misuse, tox)
    anxiety_scale_done: bool = False
    cssrs_done: bool = False
    minutes_since_last_session: float | None = None
    unresolved_high_alerts: int = 0
    unacknowledged_high_alerts: int = 0
    observation_min: float | None = None
    current_vitals: VitalSigns | None = None
    latest_spo2_pct: float | None = None
    latest_spo2_age_min: float | None = None
    latest_spo2_on_oxygen: bool | None = None
    latest_rr_per_min: float | None = None
    latest_rr_age_min: float | None = None
    aldrete_score: int | None = None
    aldrete_respiration_spo2_full: bool | None = None
    dissociation_resolved: bool = False
    sedation_resolved: bool = False
    escort_present: bool = False
    instructions_acknowledged: bool = False  # the patient and the escort acknowledged the written instructions


@dataclass(frozen=True)
class ClinicSettings:
    """Numeric settings the guards read (units in the names); defaults and sources in `data/session.toml`."""

    baseline_sbp_max_mmhg: float
    baseline_dbp_max_mmhg: float
    baseline_sbp_min_mmhg: float
    baseline_hr_min_bpm: float
    baseline_hr_max_bpm: float
    baseline_spo2_min_pct: float
    baseline_rr_min_per_min: float
    baseline_rr_max_per_min: float
    min_interval_between_sessions_min: float
    esketamine_fasting_food_min: float
    esketamine_fasting_liquid_min: float
    iv_fasting_food_min: float
    iv_fasting_liquid_min: float
    esketamine_observation_min: float
    iv_observation_min: float
    discharge_bp_margin_mmhg: float
    discharge_hr_margin_bpm: float
    aldrete_min_score: float
    discharge_spo2_min_pct: float
    discharge_rr_min_per_min: float
    discharge_rr_max_per_min: float
    discharge_vitals_max_age_min: float
    aldrete_full_respiration_spo2: bool


@dataclass(frozen=True)
class GuardSpec:
    """A guard as data: id, failure message, who may override it, its source, and whether it is overridable."""

    id: str
    message: str
    override_roles: tuple[str, ...]
    source: str
    overridable: bool = False


@dataclass(frozen=True)
class Override:
    """A request to proceed despite failed guards: who, in what role, why, and which guards."""

    by: str
    role: str
    reason: str
    guard_ids: frozenset[str]

    def __post_init__(self) -> None:
        if not self.by.strip():
            raise InvalidValue("override.by", "an override must name the person who made it")
        if not self.reason.strip():
            raise InvalidValue("override.reason", "an override needs a reason")
        if not self.guard_ids:
            raise InvalidValue("override.guard_ids", "an override must name the checks it overrides")
        object.__setattr__(self, "guard_ids", frozenset(self.guard_ids))


@dataclass(frozen=True)
class FailedGuard:
    """A guard that did not pass: its id, a plain message with the failing values, and its source."""

    id: str
    message: str
    source: str


@dataclass(frozen=True)
class OverrideRecord:
    """A guard that failed but was overridden: recorded with who, role and reason."""

    guard_id: str
    message: str
    by: str
    role: str
    reason: str


@dataclass(frozen=True)
class TransitionResult:
    """Outcome of an event: the new state (unchanged if refused), failed guards and overrides used."""

    previous_state: State
    event: Event
    new_state: State
    failed_guards: tuple[FailedGuard, ...] = ()
    overrides_used: tuple[OverrideRecord, ...] = ()
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        """Return True when the transition happened."""
        return not self.failed_guards

    def raise_if_refused(self) -> TransitionResult:
        """Return self, or raise `TransitionRefused` naming each failed guard."""
        if self.failed_guards:
            raise TransitionRefused(self)
        return self


class TransitionRefused(InvalidValue):
    """Raised by `TransitionResult.raise_if_refused`; carries the refused result."""

    def __init__(self, result: TransitionResult) -> None:
        msg = "; ".join(f"[{g.id}] {g.message}" for g in result.failed_guards)
        super().__init__(str(result.event), f"cannot {result.event} from {result.previous_state}: {msg}")
        self.result = result


@dataclass(frozen=True)
class _Transition:
    event: Event
    sources: frozenset[State]
    target: State
    guards: tuple[str, ...]


@dataclass(frozen=True)
class SessionRules:
    """The state machine as loaded from data, plus the clinic's settings."""

    transitions: tuple[_Transition, ...]
    guards: Mapping[str, GuardSpec]
    settings: ClinicSettings
    final_states: frozenset[State] = field(default=frozenset({State.DISCHARGED, State.ABORTED}))

    def find(self, state: State, event: Event) -> _Transition | None:
        """Return the transition for (state, event), or None when the pair is not allowed."""
        for tr in self.transitions:
            if tr.event == event and state in tr.sources:
                return tr
        return None


@cache
def default_session_rules() -> SessionRules:
    """Return the session rules with the shipped defaults (cached)."""
    return load_session_rules()


def load_session_rules(
    settings_overrides: Mapping[str, float] | None = None,
    override_roles: Mapping[str, list[str]] | None = None,
    override_by: Sequence[str] = (),
) -> SessionRules:
    """Return the session rules from `data/session.toml` with a clinic's settings and override roles.

    `override_by`: the roles that may override any overridable guard (the services pass the access policy's
    `override_guard` roles; without them nobody may override). `override_roles` narrows or names them per guard.
    """
    raw = load_toml(_DATA, "session.toml")
    guards = _guard_specs(raw["guards"], override_by)
    for gid, roles in (override_roles or {}).items():
        if gid not in guards:
            raise InvalidValue("override_roles", f"unknown guard {gid!r}")
        if not guards[gid].overridable and roles:
            raise InvalidValue("override_roles", f"guard {gid!r} cannot be made overridable")
        guards[gid] = replace(guards[gid], override_roles=tuple(roles))
    settings = _clinic_settings(raw["settings"], settings_overrides or {})
    transitions = _transitions(raw["transitions"], guards)
    final = frozenset(State(s) for s in raw["final_states"])
    abort = _Transition(Event.ABORT, frozenset(State) - final, State.ABORTED, ())
    return SessionRules(transitions + (abort,), guards, settings, final)


def _guard_specs(raw_guards: dict[str, Any], override_by: Sequence[str]) -> dict[str, GuardSpec]:
    """Return the guards of the data file; an overridable one may be overridden by the `override_by` roles."""
    guards: dict[str, GuardSpec] = {}
    for gid, g in raw_guards.items():
        if gid not in _PREDICATES:
            raise InvalidValue("guards", f"guard {gid!r} in session.toml has no predicate")
        overridable = bool(g["overridable"])
        who = tuple(override_by) if overridable else ()
        guards[gid] = GuardSpec(gid, g["message"], who, g["source"], overridable)
    return guards


def _clinic_settings(raw_settings: dict[str, Any], overrides: Mapping[str, float]) -> ClinicSettings:
    """Return the data-file settings with a clinic's overrides (an on/off setting stays a bool)."""
    # keyword arguments for ClinicSettings: floats, and bools for its on/off fields
    values: dict[str, Any] = {
        k: v["value"] if isinstance(v["value"], bool) else float(v["value"]) for k, v in raw_settings.items()
    }
    for key, val in overrides.items():
        if key not in values:
            raise InvalidValue("settings", f"unknown clinic setting {key!r}")
        if isinstance(values[key], bool):
            if not isinstance(val, bool):
                raise InvalidValue(key, "this clinic setting is on or off (true or false)")
            values[key] = val
        else:
            values[key] = float(val)
    if values["esketamine_observation_min"] < 120:
        raise InvalidValue("esketamine_observation_min", "the esketamine REMS requires at least 120 minutes")
    return ClinicSettings(**values)


def _transitions(
    raw_transitions: list[dict[str, Any]], guards: dict[str, GuardSpec]
) -> tuple[_Transition, ...]:
    """Return the transitions of the data file; refuse one naming an unknown guard."""
    transitions = []
    for t in raw_transitions:
        for gid in t["guards"]:
            if gid not in guards:
                raise InvalidValue("transitions", f"transition {t['event']} names unknown guard {gid!r}")
        transitions.append(
            _Transition(
                Event(t["event"]), frozenset(State(s) for s in t["from"]), State(t["to"]), tuple(t["guards"])
            )
        )
    return tuple(transitions)


# ---- guard predicates: None when passed, else a detail string appended to the guard's message ----

_Check = Callable[[SessionFacts, ClinicSettings], str | None]


def _flag(value: bool) -> str | None:
    return None if value else ""


def _limits(v: VitalSigns | None, s: ClinicSettings) -> str | None:
    if v is None:
        return "no baseline vitals recorded"
    limits = {
        "sbp": (s.baseline_sbp_min_mmhg, s.baseline_sbp_max_mmhg),
        "dbp": (None, s.baseline_dbp_max_mmhg),
        "hr": (s.baseline_hr_min_bpm, s.baseline_hr_max_bpm),
        "spo2": (s.baseline_spo2_min_pct, None),
        "rr": (s.baseline_rr_min_per_min, s.baseline_rr_max_per_min),
    }
    problems = []
    for name, (lo, hi) in limits.items():
        val = v.get(name)
        if val is None:
            problems.append(f"{LABELS[name]} missing")
        elif lo is not None and val < lo:
            problems.append(f"{LABELS[name]} {val:g} {UNITS[name]} below {lo:g}")
        elif hi is not None and val > hi:
            problems.append(f"{LABELS[name]} {val:g} {UNITS[name]} above {hi:g}")
    return "; ".join(problems) or None


def _fasting(f: SessionFacts, s: ClinicSettings) -> str | None:
    if f.product == "esketamine":
        food, liquid = s.esketamine_fasting_food_min, s.esketamine_fasting_liquid_min
    else:
        food, liquid = s.iv_fasting_food_min, s.iv_fasting_liquid_min
    problems = []
    for label, got, need in (
        ("food", f.minutes_since_last_food, food),
        ("liquids", f.minutes_since_last_liquid, liquid),
    ):
        if got is None:
            problems.append(f"time of last {label} not recorded")
        elif got < need:
            problems.append(f"last {label} {duration(got, rounding='down')} ago, needs {duration(need)}")
    return "; ".join(problems) or None


def _pregnancy(f: SessionFacts, s: ClinicSettings) -> str | None:
    if not f.pregnancy_test_applicable or f.pregnancy_test_negative is True:
        return None
    return "result missing" if f.pregnancy_test_negative is None else "test positive"


def _questionnaires(f: SessionFacts, s: ClinicSettings) -> str | None:
    missing = [
        n
        for n, done in (("anxiety scale", f.anxiety_scale_done), ("C-SSRS screener", f.cssrs_done))
        if not done
    ]
    return ("missing: " + ", ".join(missing)) if missing else None


def _interval(f: SessionFacts, s: ClinicSettings) -> str | None:
    if f.minutes_since_last_session is None:
        return None
    need = s.min_interval_between_sessions_min
    if f.minutes_since_last_session < need:
        return f"{f.minutes_since_last_session / 60:.1f} h since the last session, minimum {need / 60:g} h"
    return None


def _rems_obs(f: SessionFacts, s: ClinicSettings) -> str | None:
    if f.product != "esketamine":
        return None
    if f.observation_min is None:
        return "observation time not recorded"
    if f.observation_min < s.esketamine_observation_min:
        # rounded down: a shortfall never reads as enough ("59 min 59 s observed, needs 1 h")
        observed = duration(f.observation_min, rounding="down")
        return f"{observed} observed, needs {duration(s.esketamine_observation_min)}"
    return None


def _observation(f: SessionFacts, s: ClinicSettings) -> str | None:
    if f.product == "esketamine":
        return None  # the REMS guard covers esketamine
    if f.observation_min is None:
        return "observation time not recorded"
    if f.observation_min < s.iv_observation_min:
        # rounded down: a shortfall never reads as enough ("59 min 59 s observed, needs 1 h")
        observed = duration(f.observation_min, rounding="down")
        return f"{observed} observed, needs {duration(s.iv_observation_min)}"
    return None


def _near_baseline(f: SessionFacts, s: ClinicSettings) -> str | None:
    if f.baseline_vitals is None or f.current_vitals is None:
        return "baseline or current vitals not recorded"
    margins = {
        "sbp": s.discharge_bp_margin_mmhg,
        "dbp": s.discharge_bp_margin_mmhg,
        "hr": s.discharge_hr_margin_bpm,
    }
    problems = []
    for name, margin in margins.items():
        base, now = f.baseline_vitals.get(name), f.current_vitals.get(name)
        if base is None or now is None:
            problems.append(f"{LABELS[name]} missing")
        elif abs(now - base) > margin:
            problems.append(f"{LABELS[name]} {now:g} vs baseline {base:g} {UNITS[name]} (margin {margin:g})")
    return "; ".join(problems) or None


def _aldrete(f: SessionFacts, s: ClinicSettings) -> str | None:
    if f.aldrete_score is None:
        return "discharge assessment not recorded"
    if not 0 <= f.aldrete_score <= 10:
        raise InvalidValue("aldrete_score", "the modified Aldrete score runs from 0 to 10")
    problems = []
    if f.aldrete_score < s.aldrete_min_score:
        problems.append(f"score {f.aldrete_score}, threshold {s.aldrete_min_score:g}")
    if s.aldrete_full_respiration_spo2:
        if f.aldrete_respiration_spo2_full is None:
            problems.append(
                "points for respiration and SpO2 not recorded; the clinic requires full points for both"
            )
        elif not f.aldrete_respiration_spo2_full:
            problems.append(
                "the clinic requires full points for respiration and SpO2 "
                "(breathes deeply and coughs freely; SpO2 above 92 % on room air)"
            )
    return "; ".join(problems) or None


def _fresh(value: float | None, age_min: float | None, name: str, s: ClinicSettings) -> str | None:
    if value is None:
        return f"no {LABELS[name]} reading recorded in this session"
    limit = s.discharge_vitals_max_age_min
    if age_min is None or age_min > limit:
        # rounded up: a reading past the limit never reads as within it
        old = "of unknown age" if age_min is None else f"{duration(age_min, rounding='up')} old"
        return f"the latest {LABELS[name]} reading is {old} (limit {duration(limit)}): take a new reading"
    return None


def _spo2_discharge(f: SessionFacts, s: ClinicSettings) -> str | None:
    if (stale := _fresh(f.latest_spo2_pct, f.latest_spo2_age_min, "spo2", s)) is not None:
        return stale
    assert f.latest_spo2_pct is not None  # noqa: S101 - narrows the type; ensured above
    problems = []
    if f.latest_spo2_pct < s.discharge_spo2_min_pct:
        problems.append(f"SpO2 {f.latest_spo2_pct:g} % is below {s.discharge_spo2_min_pct:g} %")
    if f.latest_spo2_on_oxygen:
        problems.append(
            "the latest SpO2 was measured on supplemental oxygen: a reading on room air is needed"
        )
    return "; ".join(problems) or None


def _rr_discharge(f: SessionFacts, s: ClinicSettings) -> str | None:
    if (stale := _fresh(f.latest_rr_per_min, f.latest_rr_age_min, "rr", s)) is not None:
        return stale
    assert f.latest_rr_per_min is not None  # noqa: S101 - narrows the type; ensured above
    rr, lo, hi = f.latest_rr_per_min, s.discharge_rr_min_per_min, s.discharge_rr_max_per_min
    if rr < lo:
        return f"respiratory rate {rr:g} /min is below {lo:g}"
    if rr > hi:
        return f"respiratory rate {rr:g} /min is above {hi:g}"
    return None


def _open_high_alerts(f: SessionFacts, s: ClinicSettings) -> str | None:
    problems = []
    if f.unresolved_high_alerts:
        problems.append(f"{f.unresolved_high_alerts} unresolved")
    if f.unacknowledged_high_alerts:
        problems.append(f"{f.unacknowledged_high_alerts} never acknowledged")
    return ", ".join(problems) or None


_PREDICATES: dict[str, _Check] = {
    "consent_on_file": lambda f, s: _flag(f.consent_on_file),
    "eligibility_current": lambda f, s: _flag(f.eligibility_current),
    "dose_order_signed": lambda f, s: _flag(f.dose_order_signed),
    "dose_order_double_checked": lambda f, s: _flag(f.dose_order_double_checked),
    "baseline_vitals_within_limits": lambda f, s: _limits(f.baseline_vitals, s),
    "fasting_confirmed": _fasting,
    "escort_confirmed": lambda f, s: _flag(f.escort_confirmed),
    "pregnancy_test_negative": _pregnancy,
    "course_safety_clear": lambda f, s: (
        None if f.course_safety_holds == 0 else f"{f.course_safety_holds} on hold"
    ),
    "questionnaires_done": _questionnaires,
    "min_interval_since_last_session": _interval,
    "no_unresolved_high_alert": lambda f, s: (
        None if f.unresolved_high_alerts == 0 else f"{f.unresolved_high_alerts} unresolved"
    ),
    "rems_observation_2h": _rems_obs,
    "observation_time_met": _observation,
    "vitals_near_baseline": _near_baseline,
    "aldrete_at_threshold": _aldrete,
    "no_open_high_alert": _open_high_alerts,
    "spo2_at_discharge": _spo2_discharge,
    "rr_at_discharge": _rr_discharge,
    "dissociation_resolved": lambda f, s: _flag(f.dissociation_resolved),
    "sedation_resolved": lambda f, s: _flag(f.sedation_resolved),
    "escort_present": lambda f, s: _flag(f.escort_present),
    "instructions_acknowledged": lambda f, s: _flag(f.instructions_acknowledged),
}


def check_guards(
    rules: SessionRules, guard_ids: tuple[str, ...], facts: SessionFacts
) -> tuple[FailedGuard, ...]:
    """Return the guards among `guard_ids` that fail for `facts`, each with a plain message."""
    failed = []
    for gid in guard_ids:
        detail = _PREDICATES[gid](facts, rules.settings)
        if detail is not None:
            spec = rules.guards[gid]
            msg = spec.message + (f" ({detail})" if detail else "")
            failed.append(FailedGuard(gid, msg, spec.source))
    return tuple(failed)


def allowed_events(state: State | str, rules: SessionRules | None = None) -> tuple[Event, ...]:
    """Return the events that are meaningful in `state` (guards not evaluated)."""
    rules = rules or default_session_rules()
    st = State(state)
    return tuple(e for e in Event if rules.find(st, e) is not None)


def transition(
    state: State | str,
    event: Event | str,
    facts: SessionFacts,
    *,
    override: Override | None = None,
    reason: str | None = None,
    rules: SessionRules | None = None,
) -> TransitionResult:
    """Apply `event` in `state`: return the new state, or a refusal listing every failed guard.

    Raises `InvalidTransition` when the event is not meaningful in the state, and `InvalidValue` when an abort
    has no reason. A failed guard is overridden only if `override` names it, the override role is allowed for
    that guard by the data, and a reason is given; each use is recorded in `overrides_used`.
    """
    rules = rules or default_session_rules()
    try:
        st, ev = State(state), Event(event)
    except ValueError as exc:
        raise InvalidValue("event", str(exc)) from exc
    tr = rules.find(st, ev)
    if tr is None:
        raise InvalidTransition("event", f"cannot {ev} when the session is {st}")
    if ev is Event.ABORT and not (reason and reason.strip()):
        raise InvalidValue("reason", "aborting a session needs a reason")
    failed = check_guards(rules, tr.guards, facts)
    still_failed: list[FailedGuard] = []
    used: list[OverrideRecord] = []
    for g in failed:
        if override is not None and g.id in override.guard_ids:
            roles = rules.guards[g.id].override_roles
            if override.role in roles:
                used.append(OverrideRecord(g.id, g.message, override.by, override.role, override.reason))
                continue
            who = ", ".join(roles) if roles else "nobody"
            g = replace(g, message=f"{g.message} Override by {override.role} not allowed (allowed: {who}).")
        still_failed.append(g)
    if still_failed:
        return TransitionResult(st, ev, st, tuple(still_failed), (), reason)
    return TransitionResult(st, ev, tr.target, (), tuple(used), reason)
