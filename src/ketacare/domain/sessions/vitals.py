"""Vital-sign values used across the session core: a set of vitals and a timed reading.

Units: blood pressure mmHg, heart rate and respiratory rate per minute, SpO2 percent; times in minutes from
the start of the session clock the caller chose (usually the start of dosing). LOINC codes per the FHIR R4
vital-signs value set [fhir-vitals].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ketacare.domain.errors import InvalidValue

Vital = Literal["sbp", "dbp", "hr", "spo2", "rr"]
VITALS: tuple[Vital, ...] = ("sbp", "dbp", "hr", "spo2", "rr")

UNITS: dict[str, str] = {"sbp": "mmHg", "dbp": "mmHg", "hr": "/min", "spo2": "%", "rr": "/min"}
LABELS: dict[str, str] = {
    "sbp": "systolic BP",
    "dbp": "diastolic BP",
    "hr": "heart rate",
    "spo2": "SpO2",
    "rr": "respiratory rate",
}
# FHIR R4 vital-signs / US Core [fhir-vitals].
LOINC: dict[str, str] = {"sbp": "8480-6", "dbp": "8462-4", "hr": "8867-4", "spo2": "59408-5", "rr": "9279-1"}

# Refuse typing slips only; real extremes must still pass so that they alarm.
_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "sbp": (30, 300),
    "dbp": (10, 200),
    "hr": (10, 300),
    "spo2": (30, 100),
    "rr": (0, 80),
}
PLAUSIBLE: dict[str, tuple[float, float]] = dict(_PLAUSIBLE)  # read-only copy for callers (e.g. the simulator)


def _check(name: str, value: float | None) -> None:
    if value is None:
        return
    lo, hi = _PLAUSIBLE[name]
    if not math.isfinite(value) or not lo <= value <= hi:
        raise InvalidValue(name, f"{LABELS[name]} {value} {UNITS[name]} is not a plausible reading")


@dataclass(frozen=True)
class VitalSigns:
    """One set of vitals (any may be missing): BP mmHg, HR /min, SpO2 %, RR /min."""

    sbp: float | None = None
    dbp: float | None = None
    hr: float | None = None
    spo2: float | None = None
    rr: float | None = None

    def __post_init__(self) -> None:
        for name in VITALS:
            _check(name, getattr(self, name))
        if self.sbp is not None and self.dbp is not None and self.dbp >= self.sbp:
            raise InvalidValue("dbp", f"diastolic {self.dbp:g} mmHg is not below systolic {self.sbp:g} mmHg")

    def get(self, name: str) -> float | None:
        """Return the value of vital `name` or None when it was not measured."""
        value: float | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class VitalReading(VitalSigns):
    """Vitals taken at `t_min` minutes on the session clock."""

    t_min: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not math.isfinite(self.t_min):
            raise InvalidValue("t_min", "reading time must be a number of minutes")

