"""Dosing regimens (IV boluses, constant-rate infusions), compiled to piecewise-constant input."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ketacare.domain.errors import InvalidValue


@dataclass(frozen=True)
class Bolus:
    """An IV bolus of `dose_mg` given at `t_min` (minutes from the start of the session)."""

    t_min: float
    dose_mg: float


@dataclass(frozen=True)
class Infusion:
    """A constant-rate IV infusion of `rate_mg_per_min` from `t_start_min` to `t_end_min`."""

    t_start_min: float
    t_end_min: float
    rate_mg_per_min: float


def _finite_nonneg(value: float, field: str) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise InvalidValue(field, f"{value} must be a finite number >= 0")
    return v


@dataclass(frozen=True)
class Regimen:
    """An immutable list of dosing events; `.bolus(...)` and `.infusion(...)` return extended copies."""

    events: tuple[Bolus | Infusion, ...] = ()

    def bolus(self, t_min: float, dose_mg: float) -> Regimen:
        """Return this regimen plus an IV bolus of `dose_mg` at `t_min`."""
        ev = Bolus(_finite_nonneg(t_min, "t_min"), _finite_nonneg(dose_mg, "dose_mg"))
        return Regimen(self.events + (ev,))

    def infusion(self, t_start_min: float, t_end_min: float, rate_mg_per_min: float) -> Regimen:
        """Return this regimen plus a constant infusion of `rate_mg_per_min` over [t_start_min, t_end_min)."""
        s = _finite_nonneg(t_start_min, "t_start_min")
        e = _finite_nonneg(t_end_min, "t_end_min")
        if e <= s:
            raise InvalidValue("t_end_min", f"infusion end {e:g} min must be after its start {s:g} min")
        return Regimen(self.events + (Infusion(s, e, _finite_nonneg(rate_mg_per_min, "rate_mg_per_min")),))

    @classmethod
    def constant_infusion(cls, dose_mg: float, duration_min: float, t_start_min: float = 0.0) -> Regimen:
        """Return a regimen giving `dose_mg` as one constant infusion over `duration_min`."""
        d = _finite_nonneg(duration_min, "duration_min")
        if d <= 0:
            raise InvalidValue("duration_min", "infusion duration must be > 0 min")
        return cls().infusion(t_start_min, t_start_min + d, _finite_nonneg(dose_mg, "dose_mg") / d)

    def scaled(self, factor: float) -> Regimen:
        """Return the regimen with every dose and rate multiplied by `factor`."""
        f = _finite_nonneg(factor, "factor")
        return Regimen(
            tuple(
                Bolus(e.t_min, e.dose_mg * f)
                if isinstance(e, Bolus)
                else Infusion(e.t_start_min, e.t_end_min, e.rate_mg_per_min * f)
                for e in self.events
            )
        )

    def __add__(self, other: Regimen) -> Regimen:
        return Regimen(self.events + other.events)

    @property
    def total_dose_mg(self) -> float:
        """Return the total drug given, in mg."""
        return sum(
            e.dose_mg if isinstance(e, Bolus) else e.rate_mg_per_min * (e.t_end_min - e.t_start_min)
            for e in self.events
        )


@dataclass(frozen=True)
class Schedule:
    """Compiled input: at `t_min[k]` a bolus `bolus_mg[k]`, then `rate_mg_per_min[k]` until the next point."""

    t_min: np.ndarray
    bolus_mg: np.ndarray
    rate_mg_per_min: np.ndarray


def compile_schedule(regimen: Regimen) -> Schedule:
    """Return the breakpoints, boluses and piecewise-constant rates of `regimen` (breakpoints start at 0)."""
    pts = {0.0}
    for e in regimen.events:
        if isinstance(e, Bolus):
            pts.add(e.t_min)
        else:
            pts.update((e.t_start_min, e.t_end_min))
    t = np.array(sorted(pts), dtype=float)
    bolus = np.zeros_like(t)
    rate = np.zeros_like(t)
    for e in regimen.events:
        if isinstance(e, Bolus):
            bolus[np.searchsorted(t, e.t_min)] += e.dose_mg
        else:
            rate[(t >= e.t_start_min) & (t < e.t_end_min)] += e.rate_mg_per_min
    return Schedule(t, bolus, rate)
