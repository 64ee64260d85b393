"""Exposure metrics of a concentration profile: Cmax, Tmax, AUC (ng*h/mL), time above a threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk.solver import ConcentrationProfile


@dataclass(frozen=True)
class Exposure:
    """Cmax (ng/mL) at Tmax (min), AUC over the profile (ng*h/mL) and minutes above `threshold_ng_per_ml`."""

    cmax_ng_per_ml: float
    tmax_min: float
    auc_ng_h_per_ml: float
    threshold_ng_per_ml: float | None
    time_above_threshold_min: float | None


def exposure(profile: ConcentrationProfile, threshold_ng_per_ml: float | None = None) -> Exposure:
    """Return plasma exposure metrics on the profile's own time grid (AUC by the linear trapezoid rule).

    Use a fine grid (e.g. 1 min) that contains the end of every infusion: Cmax is the grid maximum, and
    time above
    the threshold interpolates crossings linearly between grid points.
    """
    t = np.asarray(profile.times_min, dtype=float)
    c = np.asarray(profile.plasma_ng_per_ml, dtype=float)
    if c.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise InvalidValue("times_min", "exposure needs one patient and at least two increasing times")
    i = int(np.argmax(c))
    auc = float(np.sum((c[1:] + c[:-1]) * np.diff(t)) / 2.0 / 60.0)
    above = None
    if threshold_ng_per_ml is not None:
        d = c - threshold_ng_per_ml
        total = 0.0
        for k in range(t.size - 1):
            a, b, h = d[k], d[k + 1], t[k + 1] - t[k]
            if a >= 0 and b >= 0:
                total += h
            elif a >= 0 > b:
                total += h * a / (a - b)
            elif b >= 0 > a:
                total += h * b / (b - a)
        above = total
    return Exposure(float(c[i]), float(t[i]), auc, threshold_ng_per_ml, above)
