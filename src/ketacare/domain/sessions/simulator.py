"""Synthetic vitals during a ketamine infusion and recovery (pure; the caller passes a seeded Generator).

For the demo clinic and benchmarks only. Each simulated patient draws a peak BP/HR rise (means +12.6/+8.5
mmHg and +4.1 bpm [vankawala2021], SDs from the Yale series [ghp2024]); the rise follows a gamma-shaped curve
peaking near 40 min [ghp2024] and fading over ~1.5 h [szarmach2020]. Readings carry measurement noise,
occasional BP spikes, SpO2 dips and missing readings. Parameters and sources: `data/vitals_simulation.toml`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.vitals import VitalReading, VitalSigns

_DATA = "ketacare.domain.sessions.data"


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
    bp_spike_prob: float
    bp_spike_mmhg: float
    spo2_dip_prob: float
    missing_prob: float

    @classmethod
    def from_data(cls, **overrides: float) -> SimulationParams:
        """Return the shipped parameters with any keyword overrides (e.g. missing_prob=0)."""
        raw = load_toml(_DATA, "vitals_simulation.toml")
        values: dict[str, float] = {}
        for section in ("rise", "shape", "noise", "events"):
            values.update({k: float(v["value"]) for k, v in raw[section].items()})
        p = cls(**values)
        return replace(p, **overrides) if overrides else p


def rise_shape(t_min: float | np.ndarray, peak_min: float, exponent: float) -> np.ndarray:
    """Return the fraction (0-1) of the peak rise at `t_min` after start: (t/peak)^a * exp(a(1 - t/peak))."""
    x = np.clip(np.asarray(t_min, dtype=float) / peak_min, 0.0, None)
    return x**exponent * np.exp(exponent * (1.0 - x))


def simulate_baseline(rng: np.random.Generator) -> VitalSigns:
    """Return a plausible synthetic baseline (simulation defaults)."""
    b = {k: float(v["value"]) for k, v in load_toml(_DATA, "vitals_simulation.toml")["baseline"].items()}
    sbp = round(float(rng.normal(b["sbp_mean_mmhg"], b["sbp_sd_mmhg"])))
    dbp = round(float(rng.normal(b["dbp_mean_mmhg"], b["dbp_sd_mmhg"])))
    return VitalSigns(
        sbp=float(max(sbp, 95)),
        dbp=float(min(max(dbp, 55), max(sbp, 95) - 25)),
        hr=float(round(float(rng.normal(b["hr_mean_bpm"], b["hr_sd_bpm"])))),
        spo2=b["spo2_mean_pct"],
        rr=b["rr_mean_per_min"],
    )


def simulate_vitals(
    rng: np.random.Generator,
    *,
    baseline: VitalSigns,
    infusion_min: float = 40.0,
    recovery_min: float = 80.0,
    cadence_min: float = 5.0,
    params: SimulationParams | None = None,
) -> tuple[VitalReading, ...]:
    """Return readings every `cadence_min` from 0 to infusion + recovery minutes for one simulated patient."""
    if cadence_min <= 0 or infusion_min <= 0 or recovery_min < 0:
        raise InvalidValue("cadence_min", "cadence and infusion time must be above 0, recovery 0 or more")
    if None in (baseline.sbp, baseline.dbp, baseline.hr):
        raise InvalidValue("baseline", "the simulator needs baseline BP and heart rate")
    p = params or SimulationParams.from_data()
    base_spo2 = baseline.spo2 if baseline.spo2 is not None else 98.0
    base_rr = baseline.rr if baseline.rr is not None else 14.0

    cov = p.sbp_dbp_correlation * p.sbp_peak_sd_mmhg * p.dbp_peak_sd_mmhg
    d_sbp, d_dbp = rng.multivariate_normal(
        [p.sbp_peak_mean_mmhg, p.dbp_peak_mean_mmhg],
        [[p.sbp_peak_sd_mmhg**2, cov], [cov, p.dbp_peak_sd_mmhg**2]],
    )
    d_hr = rng.normal(p.hr_peak_mean_bpm, p.hr_peak_sd_bpm)

    n = int(math.floor((infusion_min + recovery_min) / cadence_min + 1e-9)) + 1
    t = np.arange(n) * cadence_min
    f = rise_shape(t, p.peak_min, p.exponent)
    sbp = baseline.sbp + d_sbp * f + rng.normal(0, p.sbp_sd_mmhg, n)
    dbp = baseline.dbp + d_dbp * f + rng.normal(0, p.dbp_sd_mmhg, n)
    hr = baseline.hr + d_hr * f + rng.normal(0, p.hr_sd_bpm, n)
    spikes = rng.random(n) < p.bp_spike_prob
    sbp = sbp + spikes * p.bp_spike_mmhg * rng.uniform(0.6, 1.4, n)
    dbp = dbp + spikes * 0.5 * p.bp_spike_mmhg * rng.uniform(0.6, 1.4, n)
    dips = rng.random(n) < p.spo2_dip_prob
    spo2 = np.minimum(100.0, base_spo2 + rng.normal(0, p.spo2_sd_pct, n)) - dips * rng.uniform(4, 8, n)
    rr = base_rr + rng.normal(0, p.rr_sd_per_min, n)
    cuff_missing = rng.random(n) < p.missing_prob
    oxi_missing = rng.random(n) < p.missing_prob

    out = []
    for i in range(n):
        s, d = float(round(sbp[i])), float(round(dbp[i]))
        d = min(d, s - 10)
        out.append(
            VitalReading(
                t_min=float(t[i]),
                sbp=None if cuff_missing[i] else s,
                dbp=None if cuff_missing[i] else d,
                hr=None if (cuff_missing[i] and oxi_missing[i]) else float(round(hr[i])),
                spo2=None if oxi_missing[i] else float(np.clip(round(spo2[i]), 70, 100)),
                rr=float(max(4, round(rr[i]))),
            )
        )
    return tuple(out)
