"""Check clinic settings against their safe bounds (data: `data/threshold_bounds.toml`) and read phone numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue, InvalidValues

_DATA = "ketacare.domain.clinic.data"


@dataclass(frozen=True)
class ThresholdBound:
    """How far the clinic may move one alert threshold (`rule`, `vital`) and what it must stay below."""

    rule: str
    vital: str
    min: float
    max: float
    unit: str
    source: str
    below: str | None = None

    @property
    def key(self) -> str:
        """Return "rule.vital", the name of the setting."""
        return f"{self.rule}.{self.vital}"


@dataclass(frozen=True)
class WeightPolicyBounds:
    """The BMI threshold range and the bases a clinic may choose for its weight-basis policy."""

    bmi_threshold_min: float
    bmi_threshold_max: float
    bases: tuple[str, ...]
    source: str


@cache
def threshold_bounds() -> tuple[ThresholdBound, ...]:
    """Return the bounds of every alert threshold a clinic may set, in file order."""
    raw = load_toml(_DATA, "threshold_bounds.toml")
    return tuple(
        ThresholdBound(
            rule=str(b["rule"]),
            vital=str(b["vital"]),
            min=float(b["min"]),
            max=float(b["max"]),
            unit=str(b["unit"]),
            source=str(b["source"]),
            below=b.get("below"),
        )
        for b in raw["bounds"]
    )


@cache
def weight_policy_bounds() -> WeightPolicyBounds:
    """Return the range of the weight-basis policy a clinic may set."""
    w = load_toml(_DATA, "threshold_bounds.toml")["weight_policy"]
    return WeightPolicyBounds(
        bmi_threshold_min=float(w["bmi_threshold_min"]),
        bmi_threshold_max=float(w["bmi_threshold_max"]),
        bases=tuple(w["bases"]),
        source=str(w["source"]),
    )


def _num(v: float) -> str:
    return f"{v:g}"


def check_thresholds(values: Mapping[str, float], defaults: Mapping[str, float]) -> dict[str, float]:
    """Return the thresholds ("rule.vital" -> value) when each lies within its bounds and below the threshold it
    must stay below (`defaults` fill what `values` leaves out); InvalidValue naming every refused one."""
    bounds = {b.key: b for b in threshold_bounds()}
    unknown = sorted(set(values) - set(bounds))
    if unknown:
        raise InvalidValue(f"threshold.{unknown[0]}", f"no alert threshold called {unknown[0]!r}")
    merged = {**defaults, **values}
    errors: dict[str, str] = {}
    for key, b in bounds.items():
        v = merged.get(key)
        if v is None:
            continue
        if not b.min <= v <= b.max:
            errors[f"threshold.{key}"] = f"enter a value from {_num(b.min)} to {_num(b.max)} {b.unit}"
        elif b.below is not None:
            upper = merged.get(f"{b.below}.{b.vital}")
            if upper is not None and v >= upper:
                errors[f"threshold.{key}"] = (
                    f"must stay below the more severe alarm's threshold ({_num(upper)} {b.unit})"
                )
    if errors:
        raise InvalidValues(errors)
    return {k: float(v) for k, v in values.items()}


_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{1,30}$")


def check_phone(text: str, field: str) -> str:
    """Return a phone number as people write it ("+49 30 1234 5678", "988", "112"); InvalidValue otherwise."""
    t = text.strip()
    if not _PHONE.match(t) or sum(c.isdigit() for c in t) < 2:
        raise InvalidValue(field, "enter a number to dial, digits with spaces, e.g. 112 or +49 30 1234 5678")
    return t


def dial_href(number: str) -> str:
    """Return the tel: link that dials exactly `number` ("+49 30 1234" -> "tel:+49301234")."""
    return "tel:" + "".join(c for c in number if c.isdigit() or c == "+")
