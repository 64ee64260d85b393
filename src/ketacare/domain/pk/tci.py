"""Plasma target-controlled infusion (STANPUMP approach: Shafer & Gregg 1992; Jacobs 1990).

At each update step of length h the rate is chosen so that the predicted plasma concentration at the end of
the step equals the target: rate = (C_target - Cp_free(t + h)) / g(h), where Cp_free is the zero-input
prediction from the current state and g(h) the plasma response to a unit rate over h; the rate is clipped to
[0, max rate].
The first steps therefore deliver the loading dose. Prediction uses the exact modal solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk.catalogue import PkParameters
from ketacare.domain.pk.regimen import Regimen
from ketacare.domain.pk.solver import modes


@dataclass(frozen=True)
class TciStep:
    """One pump setting: `rate_mg_per_min` from `t_start_min` to `t_end_min`."""

    t_start_min: float
    t_end_min: float
    rate_mg_per_min: float


@dataclass(frozen=True)
class TciPlan:
    """A plasma-TCI rate schedule (consecutive equal rates merged) and the predicted plasma concentrations."""

    target_ng_per_ml: float
    steps: tuple[TciStep, ...]
    regimen: Regimen
    total_dose_mg: float
    end_ng_per_ml: float
    time_to_target_min: float | None


def plasma_tci(
    params: PkParameters,
    target_ng_per_ml: float,
    duration_min: float,
    step_min: float = 1.0 / 6.0,
    max_rate_mg_per_min: float | None = None,
    tolerance_fraction: float = 0.01,
) -> TciPlan:
    """Return the piecewise-constant rates (mg/min, every `step_min`) that reach and hold a plasma target
    (ng/mL).

    `max_rate_mg_per_min` is the pump limit (None: unlimited). `time_to_target_min` is the first step end
    at which
    the predicted Cp is within `tolerance_fraction` of the target.
    """
    _check_inputs(params, target_ng_per_ml, duration_min, step_min, max_rate_mg_per_min)
    m = modes(params)
    if not m.ok[0]:
        raise InvalidValue("params", "model is numerically ill-conditioned for TCI")
    lam, beta, c = m.lam[0], m.beta[0], m.coef["plasma"][0]
    n_steps = int(math.ceil(duration_min / step_min - 1e-9))
    e = np.exp(-lam * step_min)
    bg = beta * (-np.expm1(-lam * step_min) / lam)
    unit = float(c @ bg)
    z = np.zeros_like(lam)
    rates: list[float] = []
    reached = None
    cp = 0.0
    for k in range(n_steps):
        z_free = z * e
        rate = max(0.0, (target_ng_per_ml - float(c @ z_free)) / unit)
        if max_rate_mg_per_min is not None:
            rate = min(rate, max_rate_mg_per_min)
        z = z_free + bg * rate
        cp = float(c @ z)
        rates.append(rate)
        if reached is None and abs(cp - target_ng_per_ml) <= tolerance_fraction * target_ng_per_ml:
            reached = (k + 1) * step_min
    steps = _merged_steps(rates, step_min, duration_min)
    reg = Regimen()
    for s in steps:
        if s.rate_mg_per_min > 0:
            reg = reg.infusion(s.t_start_min, s.t_end_min, s.rate_mg_per_min)
    return TciPlan(target_ng_per_ml, tuple(steps), reg, reg.total_dose_mg, cp, reached)


def _check_inputs(
    params: PkParameters,
    target_ng_per_ml: float,
    duration_min: float,
    step_min: float,
    max_rate_mg_per_min: float | None,
) -> None:
    """Refuse a non-positive or non-finite target, duration, step or pump limit, and population parameters."""
    for name, val in (
        ("target_ng_per_ml", target_ng_per_ml),
        ("duration_min", duration_min),
        ("step_min", step_min),
    ):
        if not (math.isfinite(val) and val > 0):
            raise InvalidValue(name, f"{val} must be a finite number > 0")
    if max_rate_mg_per_min is not None and not (
        math.isfinite(max_rate_mg_per_min) and max_rate_mg_per_min > 0
    ):
        raise InvalidValue("max_rate_mg_per_min", "pump limit must be a finite number > 0")
    if np.ndim(params.v1_l) or np.ndim(params.cl_l_per_min):
        raise InvalidValue("params", "TCI is computed for one patient at a time")


def _merged_steps(rates: list[float], step_min: float, duration_min: float) -> list[TciStep]:
    """Return one step per rate, consecutive equal rates merged, the last step ending at `duration_min`."""
    steps: list[TciStep] = []
    for k, r in enumerate(rates):
        t0, t1 = k * step_min, min((k + 1) * step_min, duration_min)
        if steps and math.isclose(steps[-1].rate_mg_per_min, r, rel_tol=1e-12, abs_tol=0.0):
            steps[-1] = TciStep(steps[-1].t_start_min, t1, r)
        else:
            steps.append(TciStep(t0, t1, r))
    return steps
