"""Instrument scoring benchmarks: 1,000,000 GAD-7 responses through the batch scorer vs the single scorer."""

from __future__ import annotations

import time

import numpy as np

from ketacare.domain.measurement import score, score_batch

N_BATCH = 1_000_000
N_SINGLE_SAMPLE = 20_000


def _responses(n: int, seed: int = 4) -> np.ndarray:
    """Random GAD-7 answers 0-3 with ~1% missing (NaN) and ~0.1% invalid (7) to exercise validation."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, 7)).astype(np.float64)
    x[rng.random((n, 7)) < 0.01] = np.nan
    x[rng.random((n, 7)) < 0.001] = 7.0
    return x


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _single(rows: np.ndarray) -> int:
    refused = 0
    for row in rows.tolist():
        try:
            score("gad7", [None if v != v else v for v in row])
        except ValueError:
            refused += 1
    return refused


def run(quick: bool) -> list[dict]:
    n_batch = 100_000 if quick else N_BATCH
    n_sample = 2_000 if quick else N_SINGLE_SAMPLE
    answers = _responses(n_batch)
    score_batch("gad7", answers[:1000])  # warm the definition cache
    t_batch = _best(lambda: score_batch("gad7", answers), 1 if quick else 3)
    sample = answers[:n_sample]
    t_sample = _best(lambda: _single(sample), 1)
    t_single_extrapolated = t_sample * (n_batch / n_sample)
    speedup = t_single_extrapolated / t_batch
    result = score_batch("gad7", answers)
    valid_share = float(result.valid.mean())
    batch_target_s = 0.5 * n_batch / N_BATCH
    return [
        {
            "name": f"GAD-7 batch score + validate, {n_batch:,} responses",
            "value": t_batch,
            "unit": "s",
            "target": f"<= {batch_target_s:g} s",
            "ok": t_batch <= batch_target_s,
            "note": f"best of {1 if quick else 3}; {valid_share:.1%} rows valid "
            "(1% missing, 0.1% invalid cells)",
        },
        {
            "name": f"GAD-7 single scorer, {n_batch:,} responses (extrapolated)",
            "value": t_single_extrapolated,
            "unit": "s",
            "target": "",
            "ok": None,
            "note": f"measured one by one on {n_sample:,} responses ({t_sample:.3f} s), "
            f"x{n_batch // n_sample} extrapolated",
        },
        {
            "name": "GAD-7 batch speed-up over single scorer",
            "value": speedup,
            "unit": "x",
            "target": ">= 20 x",
            "ok": speedup >= 20,
            "note": "same run, same data; single-scorer time extrapolated from the sample",
        },
    ]
