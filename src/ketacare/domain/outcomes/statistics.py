"""Pure statistics for outcome rates and trajectories (numpy/scipy only): Wilson intervals, means with bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Rate:
    """k of n with its Wilson score interval (proportions 0-1); None bounds when n is 0."""

    k: int
    n: int
    proportion: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class MeanBand:
    """Mean of n values (points) with a t-based confidence band; None bounds when n < 2."""

    n: int
    mean: float | None
    low: float | None
    high: float | None


def wilson(k: int, n: int, confidence: float = 0.95) -> Rate:
    """Return k/n with the Wilson score interval at `confidence` (Wilson 1927; proportions 0-1)."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Rate(k, n, None, None, None)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exact at the ends (no rounding residue)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Rate(k, n, p, low, high)


def mean_band(values: Sequence[float], confidence: float = 0.95) -> MeanBand:
    """Return the mean of `values` with a Student-t confidence band (needs 2 or more values for the band)."""
    n = len(values)
    if n == 0:
        return MeanBand(0, None, None, None)
    mean = math.fsum(values) / n
    if n < 2:
        return MeanBand(n, mean, None, None)
    import numpy as np
    from scipy import stats  # imported on use: scipy.stats is slow to import and most pages never need it

    dev = np.asarray(values, dtype=float) - mean  # squared in numpy (the dashboard bands 100,000 values at once)
    sd = math.sqrt(math.fsum((dev * dev).tolist()) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return MeanBand(n, mean, mean - half, mean + half)


def sample_sd(values: Sequence[float]) -> float | None:
    """Return the sample standard deviation (n - 1); None for fewer than two values."""
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def per_100(events: int, sessions: int) -> float | None:
    """Return events per 100 sessions; None without sessions."""
    return None if sessions == 0 else 100.0 * events / sessions
