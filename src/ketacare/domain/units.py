"""Quantities a clinic types: parse to SI (kg, cm), check plausibility, format back for display.

SI is stored; other units exist only at input and display. Unknown or missing units are refused,
never assumed (a weight-unit slip that printed doses ten times too high is a documented EHR failure).
Conversion factors and ranges live in `domain/data/units.toml` with their sources.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from ketacare.domain.datafiles import domain_data
from ketacare.domain.errors import InvalidValue

WeightUnit = Literal["kg", "lb"]
HeightUnit = Literal["cm", "in", "ft_in"]

_WEIGHT_UNITS = {
    "kg": "kg",
    "kgs": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "kilo": "kg",
    "kilos": "kg",
    "lb": "lb",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "#": "lb",
}
_HEIGHT_UNITS = {
    "cm": "cm",
    "centimetre": "cm",
    "centimetres": "cm",
    "centimeter": "cm",
    "centimeters": "cm",
    "m": "m",
    "metre": "m",
    "metres": "m",
    "meter": "m",
    "meters": "m",
    "in": "in",
    "inch": "in",
    "inches": "in",
    '"': "in",
    "''": "in",
    "ft": "ft",
    "foot": "ft",
    "feet": "ft",
    "'": "ft",
}
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_SIMPLE = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>[^\d\s.+-][^\d]*?)?\s*$")
_FEET_INCHES = re.compile(
    rf"^\s*(?P<ft>{_NUMBER})\s*(?:ft|foot|feet|')\s*(?P<inch>{_NUMBER})\s*(?:in|inch|inches|\"|'')?\s*$"
)


@dataclass(frozen=True)
class Range:
    """An inclusive plausibility range in SI units, with the source that set it."""

    min: float
    max: float
    source: str


def lb_to_kg() -> float:
    """Return kilograms per pound (exact, NIST SP 811)."""
    return float(domain_data("units.toml")["conversion"]["lb_to_kg"]["factor"])


def in_to_cm() -> float:
    """Return centimetres per inch (exact, NIST SP 811)."""
    return float(domain_data("units.toml")["conversion"]["in_to_cm"]["factor"])


def plausible_range(quantity: Literal["weight_kg", "height_cm"]) -> Range:
    """Return the adult plausibility range for `quantity` from the units data file."""
    r = domain_data("units.toml")["plausible"][quantity]
    return Range(float(r["min"]), float(r["max"]), str(r["source"]))


def _storage_decimals(key: str) -> int:
    return int(domain_data("units.toml")["storage"][key])


def _number(text: str, field: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidValue(field, f"'{text}' is not a number")
    return value


def _split(text: str, field: str, noun: str, allowed: str) -> tuple[float, str]:
    if text is None or not str(text).strip():
        raise InvalidValue(field, f"{noun} is required, with a unit: {allowed}")
    raw = str(text).strip()
    if "," in raw:
        raise InvalidValue(field, f"'{raw}': use a decimal point, not a comma (for example 82.5 kg)")
    m = _SIMPLE.match(raw)
    if not m:
        raise InvalidValue(
            field, f"'{raw}' is not a {noun} we can read; write a number and a unit: {allowed}"
        )
    unit = (m.group("unit") or "").strip().lower().rstrip(".")
    if not unit:
        raise InvalidValue(
            field, f"{noun} needs a unit: {allowed} ('{raw}' has none, and Ketacare never guesses)"
        )
    return _number(m.group("num"), field), unit


def _check_range(value: float, quantity: Literal["weight_kg", "height_cm"], field: str, shown: str) -> None:
    r = plausible_range(quantity)
    unit = "kg" if quantity == "weight_kg" else "cm"
    if not (r.min <= value <= r.max):
        raise InvalidValue(
            field,
            f"{shown} is {value:.1f} {unit}, outside the plausible adult range {r.min:g}-{r.max:g} {unit}; "
            "check the number and the unit",
        )


def parse_weight(text: str, field: str = "weight") -> float:
    """Parse a typed body weight ("82 kg", "180 lb") and return kilograms, rounded for storage."""
    value, unit = _split(text, field, "weight", "kg or lb")
    canonical = _WEIGHT_UNITS.get(unit)
    if canonical is None:
        raise InvalidValue(field, f"unknown weight unit '{unit}': use kg or lb")
    kg = value if canonical == "kg" else value * lb_to_kg()
    _check_range(kg, "weight_kg", field, f"'{str(text).strip()}'")
    return round(kg, _storage_decimals("weight_kg_decimals"))


def parse_height(text: str, field: str = "height") -> float:
    """Parse a typed body height ("175 cm", "1.75 m", "69 in", "5 ft 9 in") and return centimetres."""
    if text is not None:
        m = _FEET_INCHES.match(str(text).strip().lower())
        if m:
            inches = _number(m.group("ft"), field) * 12 + _number(m.group("inch"), field)
            cm = inches * in_to_cm()
            _check_range(cm, "height_cm", field, f"'{str(text).strip()}'")
            return round(cm, _storage_decimals("height_cm_decimals"))
    value, unit = _split(text, field, "height", "cm, m, in, or ft and in (5 ft 9 in)")
    canonical = _HEIGHT_UNITS.get(unit)
    if canonical is None:
        raise InvalidValue(field, f"unknown height unit '{unit}': use cm, m, in, or ft and in (5 ft 9 in)")
    cm = {"cm": value, "m": value * 100.0, "in": value * in_to_cm(), "ft": value * 12 * in_to_cm()}[canonical]
    _check_range(cm, "height_cm", field, f"'{str(text).strip()}'")
    return round(cm, _storage_decimals("height_cm_decimals"))


def check_weight_kg(kg: float, field: str = "weight_kg") -> float:
    """Check a weight already in kilograms (from a device or API) and return it rounded for storage."""
    if kg is None or not math.isfinite(float(kg)):
        raise InvalidValue(field, "weight in kg is required")
    _check_range(float(kg), "weight_kg", field, "weight")
    return round(float(kg), _storage_decimals("weight_kg_decimals"))


def check_height_cm(cm: float, field: str = "height_cm") -> float:
    """Check a height already in centimetres and return it rounded for storage."""
    if cm is None or not math.isfinite(float(cm)):
        raise InvalidValue(field, "height in cm is required")
    _check_range(float(cm), "height_cm", field, "height")
    return round(float(cm), _storage_decimals("height_cm_decimals"))


def format_weight(kg: float, unit: WeightUnit = "kg") -> str:
    """Format kilograms for display in the clinic's preferred unit ("81.65 kg" or "180.0 lb")."""
    if unit == "kg":
        return f"{kg:.2f} kg"
    if unit == "lb":
        return f"{kg / lb_to_kg():.1f} lb"
    raise InvalidValue("weight_unit", f"unknown display unit '{unit}': use kg or lb")


def format_height(cm: float, unit: HeightUnit = "cm") -> str:
    """Format centimetres for display in the clinic's preferred unit ("175.0 cm", "68.9 in", "5 ft 8.9 in")."""
    if unit == "cm":
        return f"{cm:.1f} cm"
    inches = cm / in_to_cm()
    if unit == "in":
        return f"{inches:.1f} in"
    if unit == "ft_in":
        feet = int(inches // 12)
        return f"{feet} ft {inches - feet * 12:.1f} in"
    raise InvalidValue("height_unit", f"unknown display unit '{unit}': use cm, in or ft_in")


def bmi(weight_kg: float, height_cm: float) -> float:
    """Return body-mass index in kg/m^2 (Quetelet index: weight / height^2; WHO TRS 894, 2000)."""
    metres = height_cm / 100.0
    return weight_kg / (metres * metres)
