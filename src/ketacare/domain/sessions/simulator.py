"""Synthetic vitals during a ketamine infusion and recovery (pure; the caller passes a seeded Generator).

For the demo clinic and benchmarks only. Each simulated patient (`ChairPlan`) draws a peak BP/HR rise (means
+12.6/+8.5 mmHg and +4.1 bpm [vankawala2021], SDs from the Yale series [ghp2024]); the rise follows a
gamma-shaped curve peaking near 40 min [ghp2024] and fading over ~1.5 h [szarmach2020]. One demo chair may carry
a high-BP episode that builds while the pump runs and falls back when it is paused or stopped.

Values come from a mean-reverting process, never a random walk: each reading is the expected value (baseline +
rise + episode) plus an AR(1) deviation that decays back to 0 with `noise.correlation_min`, plus transient
spikes and SpO2 dips that fade within minutes, and each value is clamped to `[range]` in the data file, which
lies inside the plausibility ranges of the vitals intake (`vitals.PLAUSIBLE`). So the simulator cannot emit a
reading the intake would refuse, however long it runs. `step` advances one chair by any time step (seconds for
the live demo, 5 min for a history); `simulate_vitals` returns a whole session at a fixed cadence.
Parameters and sources: `data/vitals_simulation.toml`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.vitals import PLAUSIBLE, VitalReading, VitalSigns

_DATA = "ketacare.domain.sessions.data"
Pump = Literal["running", "paused", "stopped"]
_EVENT_WINDOW_MIN = 5.0  # the spike/dip probabilities in the data file are per 5 minutes


def _data() -> dict[str, Any]:
    return load_toml(_DATA, "vitals_simulation.toml")


def _values(section: str) -> dict[str, Any]:
    return {k: v["value"] for k, v in _data()[section].items()}


@dataclass(frozen=True)
class SimulationParams:
    """Simulator parameters (units in names); defaults from `data/vitals_simulation.toml`."""

    sbp_peak_mean_mmhg: float
    sbp_peak_sd_mmhg: float
    dbp_peak_mean_mmhg: float
    dbp_peak_sd_mmhg: float
    sbp_dbp_correlation: float
    hr_peak_mean_bpm: float
    hr_peak_sd_bpm: float
    peak_min: float
    exponent: float
    sbp_sd_mmhg: float
    dbp_sd_mmhg: float
    hr_sd_bpm: float
    spo2_sd_pct: float
    rr_sd_per_min: float
    correlation_min: float
    bp_spike_prob: float
    bp_spike_mmhg: float
    spo2_dip_prob: float
    transient_min: float
    missing_prob: float
    # (low, high) per vital, inside the intake's plausibility ranges; minimum pulse pressure.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    pulse_pressure_min_mmhg: float = 20.0

    @classmethod
    def from_data(cls, **overrides: Any) -> SimulationParams:
        """Return the shipped parameters with any keyword overrides (e.g. missing_prob=0)."""
        values: dict[str, float] = {}
        for section in ("rise", "shape", "noise", "events"):
            values.update({k: float(v) for k, v in _values(section).items()})
        r = _values("range")
        names = {"sbp": "sbp_mmhg", "dbp": "dbp_mmhg", "hr": "hr_bpm", "spo2": "spo2_pct", "rr": "rr_per_min"}
        ranges = {}
        for vital, key in names.items():
            lo, hi = (float(x) for x in r[key])
            plo, phi = PLAUSIBLE[vital]
            ranges[vital] = (max(lo, plo), min(hi, phi))  # never wider than the intake accepts
        p = cls(**values, ranges=ranges, pulse_pressure_min_mmhg=float(r["pulse_pressure_min_mmhg"]))
        return replace(p, **overrides) if overrides else p


@dataclass(frozen=True)
class Episode:
    """A high-BP surge: BP climbs toward `sbp_mmhg`/`dbp_mmhg` from `onset_min` while the pump runs
    (time constant `rise_min`) and falls back once the pump is paused or stopped (time constant `fall_min`)."""

    sbp_mmhg: float
    dbp_mmhg: float
    onset_min: float
    rise_min: float
    fall_min: float

    @classmethod
    def from_data(cls) -> Episode:
        return cls(**{k: float(v) for k, v in _values("episode").items()})


@dataclass(frozen=True)
class ChairPlan:
    """One simulated patient in a chair: baseline vitals, peak rises at ~40 min, an optional BP episode."""

    baseline: VitalSigns
    sbp_rise_mmhg: float
    dbp_rise_mmhg: float
    hr_rise_bpm: float
    episode: Episode | None = None

    def __post_init__(self) -> None:
        if None in (self.baseline.sbp, self.baseline.dbp, self.baseline.hr):
            raise InvalidValue("baseline", "the simulator needs baseline BP and heart rate")


@dataclass(frozen=True)
class ChairState:
    """Where one chair's process stands: minutes since the infusion started, the AR(1) deviation per vital
    (order of `VITALS`), transient spike/dip still fading, the episode's surge (0-1) and whether a pause or stop
    has answered it."""

    t_min: float = 0.0
    deviation: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    spike_mmhg: float = 0.0
    dip_pct: float = 0.0
    surge: float = 0.0
    answered: bool = False


def rise_shape(t_min: float | np.ndarray, peak_min: float, exponent: float) -> np.ndarray:
    """Return the fraction (0-1) of the peak rise at `t_min` after start: (t/peak)^a * exp(a(1 - t/peak))."""
    x = np.clip(np.asarray(t_min, dtype=float) / peak_min, 0.0, None)
    return x**exponent * np.exp(exponent * (1.0 - x))


def simulate_baseline(rng: np.random.Generator) -> VitalSigns:
    """Return a plausible synthetic baseline (simulation defaults)."""
    b = {k: float(v) for k, v in _values("baseline").items()}
    sbp = round(float(rng.normal(b["sbp_mean_mmhg"], b["sbp_sd_mmhg"])))
    dbp = round(float(rng.normal(b["dbp_mean_mmhg"], b["dbp_sd_mmhg"])))
    return VitalSigns(
        sbp=float(min(max(sbp, 95), 170)),
        dbp=float(min(max(dbp, 55), max(sbp, 95) - 25, 100)),
        hr=float(min(max(round(float(rng.normal(b["hr_mean_bpm"], b["hr_sd_bpm"]))), 50), 110)),
        spo2=b["spo2_mean_pct"],
        rr=b["rr_mean_per_min"],
    )


def draw_plan(
    rng: np.random.Generator,
    *,
    baseline: VitalSigns,
    params: SimulationParams | None = None,
    sbp_rise_bounds_mmhg: tuple[float, float] | None = None,
    episode: Episode | None = None,
) -> ChairPlan:
    """Draw one patient's peak rises from the published distribution (optionally truncated to
    `sbp_rise_bounds_mmhg`, e.g. the demo's 10-30 mmHg) and return the plan."""
    p = params or SimulationParams.from_data()
    cov = p.sbp_dbp_correlation * p.sbp_peak_sd_mmhg * p.dbp_peak_sd_mmhg
    mean = [p.sbp_peak_mean_mmhg, p.dbp_peak_mean_mmhg]
    covm = [[p.sbp_peak_sd_mmhg**2, cov], [cov, p.dbp_peak_sd_mmhg**2]]
    d_sbp, d_dbp = rng.multivariate_normal(mean, covm)
    if sbp_rise_bounds_mmhg is not None:
        lo, hi = sbp_rise_bounds_mmhg
        for _ in range(100):  # rejection sampling; P(accept) is about 0.5 for 10-30 mmHg
            if lo <= d_sbp <= hi:
                break
            d_sbp, d_dbp = rng.multivariate_normal(mean, covm)
        d_sbp = min(max(d_sbp, lo), hi)
        d_dbp = min(max(d_dbp, 0.0), d_sbp)
    d_hr = rng.normal(p.hr_peak_mean_bpm, p.hr_peak_sd_bpm)
    return ChairPlan(baseline, float(d_sbp), float(d_dbp), float(d_hr), episode)


def initial_state(plan: ChairPlan, t_min: float, pump: Pump) -> ChairState:
    """Return the state of a chair first seen at `t_min` (e.g. after a restart of the demo server), assuming
    the pump ran from 0 to now (or, if it is not running now, that the episode has been answered)."""
    e = plan.episode
    surge = 0.0
    if e is not None and pump == "running" and t_min > e.onset_min:
        surge = 1.0 - math.exp(-(t_min - e.onset_min) / e.rise_min)
    return ChairState(t_min=float(t_min), surge=surge, answered=e is not None and pump != "running")


def expected(plan: ChairPlan, state: ChairState, params: SimulationParams) -> dict[str, float]:
    """Return the expected (noise-free) value of each vital for `state`: baseline + rise + episode."""
    b = plan.baseline
    if b.sbp is None or b.dbp is None or b.hr is None:  # ChairPlan refuses such a baseline
        raise InvalidValue("baseline", "the simulated patient needs a baseline BP and heart rate")
    f = float(rise_shape(state.t_min, params.peak_min, params.exponent))
    sbp = b.sbp + plan.sbp_rise_mmhg * f
    dbp = b.dbp + plan.dbp_rise_mmhg * f
    if plan.episode is not None and state.surge > 0:
        sbp += state.surge * max(0.0, plan.episode.sbp_mmhg - sbp)
        dbp += state.surge * max(0.0, plan.episode.dbp_mmhg - dbp)
    return {
        "sbp": sbp,
        "dbp": dbp,
        "hr": b.hr + plan.hr_rise_bpm * f,
        "spo2": b.spo2 if b.spo2 is not None else 98.0,
        "rr": b.rr if b.rr is not None else 14.0,
    }


def _clamp(x: float, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return float(min(max(x, math.ceil(lo)), math.floor(hi)))


def step(
    plan: ChairPlan,
    state: ChairState,
    rng: np.random.Generator,
    *,
    t_min: float,
    pump: Pump,
    params: SimulationParams | None = None,
) -> tuple[ChairState, VitalReading]:
    """Advance one chair to `t_min` (minutes since the infusion started) with the pump as given; return the
    new state and the reading at `t_min`. Every value lies within `params.ranges` (hence plausible)."""
    p = params or SimulationParams.from_data()
    if not math.isfinite(t_min):
        raise InvalidValue("t_min", "reading time must be a number of minutes")
    dt = max(0.0, t_min - state.t_min)
    z = rng.standard_normal(5)
    u = rng.random(6)

    # AR(1) deviation from the expected value: decays toward 0, stationary SD = the noise SD of each vital.
    phi = math.exp(-dt / p.correlation_min)
    innov = math.sqrt(max(0.0, 1.0 - phi * phi))
    sds = (p.sbp_sd_mmhg, p.dbp_sd_mmhg, p.hr_sd_bpm, p.spo2_sd_pct, p.rr_sd_per_min)
    dev = tuple(phi * d + innov * sd * zi for d, sd, zi in zip(state.deviation, sds, z, strict=True))

    # Transient artefacts: fade with `transient_min`; new ones arrive at the data file's rate.
    fade = math.exp(-dt / p.transient_min)
    scale = dt / _EVENT_WINDOW_MIN
    spike = state.spike_mmhg * fade
    if u[0] < 1.0 - (1.0 - p.bp_spike_prob) ** scale:
        spike += p.bp_spike_mmhg * (0.6 + 0.8 * u[1])
    dip = state.dip_pct * fade
    if u[2] < 1.0 - (1.0 - p.spo2_dip_prob) ** scale:
        dip += 4.0 + 4.0 * u[3]

    # Episode: builds while the pump runs, falls back after a pause or stop and then stays answered.
    surge, answered = state.surge, state.answered
    e = plan.episode
    if e is not None:
        answered = answered or (pump != "running" and t_min > e.onset_min)
        if pump == "running" and not answered and t_min > e.onset_min:
            surge = 1.0 - (1.0 - surge) * math.exp(-dt / e.rise_min)
        else:
            surge = surge * math.exp(-dt / e.fall_min)

    new = ChairState(
        t_min=float(t_min), deviation=dev, spike_mmhg=spike, dip_pct=dip, surge=surge, answered=answered
    )
    mu = expected(plan, new, p)
    rg = p.ranges
    sbp = _clamp(round(mu["sbp"] + dev[0] + spike), rg["sbp"])
    dbp = _clamp(round(mu["dbp"] + dev[1] + 0.5 * spike), rg["dbp"])
    dbp = min(dbp, sbp - math.ceil(p.pulse_pressure_min_mmhg))  # rg lows keep this above rg["dbp"] low
    dbp = max(dbp, float(math.ceil(PLAUSIBLE["dbp"][0])))
    hr = _clamp(round(mu["hr"] + dev[2]), rg["hr"])
    spo2 = _clamp(round(min(100.0, mu["spo2"] + dev[3]) - dip), rg["spo2"])
    rr = _clamp(round(mu["rr"] + dev[4]), rg["rr"])
    cuff_missing, oxi_missing = u[4] < p.missing_prob, u[5] < p.missing_prob
    reading = VitalReading(
        t_min=float(t_min),
        sbp=None if cuff_missing else sbp,
        dbp=None if cuff_missing else dbp,
        hr=None if (cuff_missing and oxi_missing) else hr,
        spo2=None if oxi_missing else spo2,
        rr=rr,
    )
    return new, reading


def simulate_vitals(
    rng: np.random.Generator,
    *,
    baseline: VitalSigns | None = None,
    infusion_min: float = 40.0,
    recovery_min: float = 80.0,
    cadence_min: float = 5.0,
    params: SimulationParams | None = None,
    plan: ChairPlan | None = None,
) -> tuple[VitalReading, ...]:
    """Return readings every `cadence_min` from 0 to infusion + recovery minutes for one simulated patient
    (`plan`, or one drawn from the published distribution around `baseline`); the pump runs until
    `infusion_min` and is stopped after it."""
    if cadence_min <= 0 or infusion_min <= 0 or recovery_min < 0:
        raise InvalidValue("cadence_min", "cadence and infusion time must be above 0, recovery 0 or more")
    p = params or SimulationParams.from_data()
    if plan is None:
        if baseline is None or None in (baseline.sbp, baseline.dbp, baseline.hr):
            raise InvalidValue("baseline", "the simulator needs baseline BP and heart rate")
        plan = draw_plan(rng, baseline=baseline, params=p)
    n = int(math.floor((infusion_min + recovery_min) / cadence_min + 1e-9)) + 1
    state = ChairState()
    out = []
    for i in range(n):
        t = i * cadence_min
        state, reading = step(
            plan, state, rng, t_min=t, pump="running" if t < infusion_min else "stopped", params=p
        )
        out.append(reading)
    return tuple(out)


__all__ = [
    "ChairPlan",
    "ChairState",
    "Episode",
    "SimulationParams",
    "draw_plan",
    "expected",
    "initial_state",
    "rise_shape",
    "simulate_baseline",
    "simulate_vitals",
    "step",
]
