"""The clinic's drug list: recognise a medication name, suggest the intended one, check a daily dose."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.patients.names import normalize_name

# Dose units the daily-dose check can convert to mg; other units (mL, puff, patch, ...) are not checked.
_TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}


@dataclass(frozen=True)
class Drug:
    """One drug of the list with its names and the usual adult daily dose range (mg/day)."""

    name: str
    also: tuple[str, ...]
    min_mg_per_day: float
    max_mg_per_day: float
    source: str


@cache
def _raw() -> dict[str, object]:
    return load_toml("ketacare.domain.patients", "drugs.toml")


@cache
def drug_list() -> tuple[Drug, ...]:
    """Return every drug of the shipped list, in file order."""
    raw = _raw()
    return tuple(
        Drug(
            name=d["name"],
            also=tuple(d.get("also", ())),
            min_mg_per_day=float(d["min_mg_per_day"]),
            max_mg_per_day=float(d["max_mg_per_day"]),
            source=d["source"],
        )
        for d in raw["drug"]  # type: ignore[attr-defined]
    )


@cache
def _index() -> dict[str, Drug]:
    out: dict[str, Drug] = {}
    for d in drug_list():
        for n in (d.name, *d.also):
            out[normalize_name(n)] = d
    return out


def _key(name: str) -> str:
    strip_words: list[str] = _raw()["strip_words"]  # type: ignore[assignment]
    strip = set(strip_words)
    words = [w for w in normalize_name(name).replace("-", " ").split() if w not in strip]
    words = [w for w in words if not any(ch.isdigit() for ch in w) and w not in ("mg", "mcg", "g")]
    return " ".join(words)


def find_drug(name: str) -> Drug | None:
    """Return the drug `name` means (generic or brand, any case, salt words ignored), or None."""
    return _index().get(_key(name))


def suggestions(name: str, n: int = 3) -> list[str]:
    """Return up to `n` generic names close to `name` ("sertralin" -> ["sertraline"])."""
    key = _key(name)
    hits = difflib.get_close_matches(key, list(_index()), n=n * 2, cutoff=0.8)
    out: list[str] = []
    for h in hits:
        generic = _index()[h].name
        if generic not in out:
            out.append(generic)
    return out[:n]


def _fmt(mg: float) -> str:
    return f"{mg:,.4g}" if mg < 1000 else f"{mg:,.0f}"


def check_daily_dose(
    drug: Drug, dose_value: float, dose_unit: str, times_per_day: float | None, field: str = "dose_value"
) -> float | None:
    """Return the daily dose in mg (None when the unit is not a mass); refuse one above the usual maximum."""
    factor = _TO_MG.get(dose_unit)
    if factor is None:
        return None
    daily = dose_value * factor * (times_per_day or 1.0)
    if daily > drug.max_mg_per_day + 1e-9:
        raise InvalidValue(
            field,
            f"{_fmt(daily)} mg a day is above the usual maximum for {drug.name}: the usual range is "
            f"{_fmt(drug.min_mg_per_day)}–{_fmt(drug.max_mg_per_day)} mg a day. Check the dose and the unit.",
        )
    return daily
