"""PK core benchmarks: population fast path, one patient's curve, and a side-by-side with opentiva."""

from __future__ import annotations

import time

import numpy as np

from ketacare.domain.pk import Regimen, individualize, simulate
from ketacare.domain.pk.population import sample_parameters
from ketacare.domain.pk.solver import simulate_batch

REGIMEN = Regimen.constant_infusion(35.0, 40.0)  # 0.5 mg/kg over 40 min at 70 kg
IIV = {
    "CL": 30.0,
    "V1": 40.0,
    "V2": 40.0,
    "V3": 40.0,
}  # assumption for timing only (Kamp has no published IIV)


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _opentiva_rows(quick: bool, ours_per_patient_s: float) -> list[dict]:
    try:
        from opentiva import ketamine, pkpd
    except ImportError:
        return [
            {
                "name": "opentiva side-by-side",
                "value": "n/a",
                "unit": "",
                "target": "",
                "ok": None,
                "note": "opentiva not installed (pip install cython setuptools wheel && "
                "pip install --no-build-isolation opentiva)",
            }
        ]
    n = 20 if quick else 100
    weights = np.round(np.linspace(50.0, 110.0, n), 2)  # individualize() stores weight to 0.01 kg
    t_s = np.arange(0, 6 * 3600 + 1, 60)  # 1-min grid in integer seconds (opentiva's time unit)
    # infusion_list rows: [start s, dose per s (mg/s), duration s, end s]
    inf = np.array([[0.0, 35.0 / 2400.0, 2400.0, 2400.0]])

    def theirs():
        out = np.empty((n, t_s.size))
        for i, w in enumerate(weights):
            m = pkpd.PkPdModel(ketamine.Klamp(0, 40, float(w), 175))
            row = out[i]
            for j, t in enumerate(t_s):
                row[j] = m.calculate_cp(inf * np.array([[1, w / 70.0, 1, 1]]), int(t))
        return out

    t_theirs = _best(theirs, 1 if quick else 2)
    ref = theirs() * 1000.0  # opentiva returns mg/L (dose in mg, V1 in L); x1000 -> ng/mL
    ours = np.vstack(
        [
            simulate(
                individualize("kamp2020", float(w)), REGIMEN.scaled(w / 70.0), t_s / 60.0
            ).plasma_ng_per_ml
            for w in weights
        ]
    )
    rel = float(np.max(np.abs(ours[:, 1:] - ref[:, 1:]) / ours[:, 1:]))
    theirs_pp = t_theirs / n
    return [
        {
            "name": "opentiva Klamp, 1 patient x 361 times (calculate_cp loop)",
            "value": theirs_pp * 1e3,
            "unit": "ms",
            "target": "",
            "ok": None,
            "note": f"{n} patients of distinct weight",
        },
        {
            "name": "throughput ratio ours (vectorised) / opentiva",
            "value": theirs_pp / ours_per_patient_s,
            "unit": "x",
            "target": ">= 10 x",
            "ok": theirs_pp / ours_per_patient_s >= 10,
        },
        {
            "name": "max relative difference vs opentiva (Kamp, t > 0)",
            "value": rel,
            "unit": "",
            "target": "<= 1e-9",
            "ok": rel <= 1e-9,
        },
    ]


def run(quick: bool) -> list[dict]:
    """Return benchmark rows for the PK core."""
    typical = individualize("kamp2020", 70.0)
    rng = np.random.default_rng(0)
    n = 10_000
    t_pop = np.arange(0.0, 361.0)  # 6 h at 1-min resolution
    pop = sample_parameters(typical, n, rng, IIV)
    simulate_batch(pop, REGIMEN, t_pop)
    repeats = 3 if quick else 7
    t_batch = _best(lambda: simulate_batch(pop, REGIMEN, t_pop), repeats)
    t_sample_and_batch = _best(
        lambda: simulate_batch(sample_parameters(typical, n, rng, IIV), REGIMEN, t_pop), repeats
    )
    t_one = _best(lambda: simulate(typical, REGIMEN, t_pop), 50 if quick else 300)
    t_one_ind = _best(lambda: simulate(individualize("kamp2020", 70.0), REGIMEN, t_pop), 50 if quick else 300)
    rows = [
        {
            "name": "population 10,000 x 361 times (Kamp, 3.6 M conc.)",
            "value": t_batch * 1e3,
            "unit": "ms",
            "target": "<= 100 ms",
            "ok": t_batch <= 0.100,
        },
        {
            "name": "  same incl. sampling log-normal IIV",
            "value": t_sample_and_batch * 1e3,
            "unit": "ms",
            "target": "<= 100 ms",
            "ok": t_sample_and_batch <= 0.100,
        },
        {
            "name": "one patient, 361 times",
            "value": t_one * 1e3,
            "unit": "ms",
            "target": "<= 1 ms",
            "ok": t_one <= 0.001,
        },
        {
            "name": "  same incl. individualize() from the data file",
            "value": t_one_ind * 1e3,
            "unit": "ms",
            "target": "",
            "ok": None,
        },
    ]
    rows += _opentiva_rows(quick, t_batch / n)
    return rows
