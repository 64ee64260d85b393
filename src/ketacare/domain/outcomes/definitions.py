"""Load the outcome definitions (`data/definitions.toml`): rules per instrument, windows, bands and defaults."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import instrument_ids

_DATA = "ketacare.domain.outcomes.data"
_ON = ("percent_reduction", "total", "point_reduction")
_OPS = (">=", ">", "<=", "<")


def compare(left: Fraction, op: str, right: Fraction) -> bool:
    """Return `left op right` for op in >=, >, <=, < (exact fractions, so 50.0 % meets ">= 50")."""
    return {">=": left >= right, ">": left > right, "<=": left <= right, "<": left < right}[op]


_FAST: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}  # fmt: skip
_EXACT_BELOW = 2.0**30  # |x| * 100 * |value| stays far below 2**53: products of whole numbers are exact


def _small_integer(v: float | None) -> bool:
    # called for every score of every patient when the dashboard digests a clinic: no generator, no tuple
    if v is None:
        return True
    f = float(v)
    return f.is_integer() and -_EXACT_BELOW < f < _EXACT_BELOW


@dataclass(frozen=True)
class Rule:
    """One threshold rule: `on` the total or the reduction from baseline, `op` `value`, with its source."""

    on: str
    op: str
    value: float
    source: str

    def met(self, baseline: float | None, score: float) -> bool | None:
        """Return whether `score` meets the rule against `baseline` (points); None if it cannot be judged."""
        if _small_integer(score) and _small_integer(baseline) and _small_integer(self.value):
            return self._met_integers(baseline, score)
        value = Fraction(self.value)
        if self.on == "total":
            return compare(Fraction(score), self.op, value)
        if baseline is None:
            return None
        reduction = Fraction(baseline) - Fraction(score)
        if self.on == "point_reduction":
            return compare(reduction, self.op, value)
        if baseline == 0:
            return None  # a percentage of a zero baseline is undefined
        return compare(100 * reduction / Fraction(baseline), self.op, value)

    def _met_integers(self, baseline: float | None, score: float) -> bool | None:
        # whole-point totals: float products below 2**53 are exact, so this equals the Fraction path (and is fast)
        if self.on == "total":
            return _FAST[self.op](score, self.value)
        if baseline is None:
            return None
        reduction = baseline - score
        if self.on == "point_reduction":
            return _FAST[self.op](reduction, self.value)
        if baseline == 0:
            return None
        if baseline > 0:
            return _FAST[self.op](100 * reduction, self.value * baseline)
        return _FAST[self.op](self.value * baseline, 100 * reduction)  # dividing by a negative turns the order

    def describe(self) -> str:
        """Return the rule in words ("50 % or more reduction from baseline", "total below 5")."""
        v = f"{self.value:g}"
        words = {">=": "or more", ">": "more than", "<=": "or less", "<": "below"}[self.op]
        if self.on == "total":
            return f"total {v} {words}" if self.op in (">=", "<=") else f"total {words} {v}"
        unit = " %" if self.on == "percent_reduction" else " points"
        if self.op in (">=", "<="):
            return f"{v}{unit} {words} reduction from baseline"
        return f"reduction from baseline {words} {v}{unit}"


@dataclass(frozen=True)
class InstrumentOutcomes:
    """Outcome rules of one instrument: response, remission, meaningful change, reliability."""

    instrument_id: str
    response: Rule
    remission: Rule
    mcic_points: float | None
    mcic_source: str | None
    reliability: float
    reliability_source: str
    unverified: tuple[str, ...]


@dataclass(frozen=True)
class FixedPoint:
    """A follow-up point (e.g. week 4): target days after the first session and the window around it."""

    id: str
    label: str
    days: float
    window_days_before: float
    window_days_after: float


@dataclass(frozen=True)
class DoseBand:
    """A band of delivered dose per kilogram, lower bound inclusive, upper bound exclusive (mg/kg)."""

    id: str
    label: str
    min_mg_per_kg: float
    max_mg_per_kg: float


@dataclass(frozen=True)
class Definitions:
    """Every outcome definition in force (shipped data, with a clinic's primary instruments applied)."""

    instruments: Mapping[str, InstrumentOutcomes]
    baseline_max_days: float
    rapid_hours: float
    rapid_window_before_h: float
    rapid_window_after_h: float
    rapid_source: str
    relapse_confirmations: int
    relapse_source: str
    rci_z: float
    rci_se_formula: str
    rci_min_baselines: int
    rci_source: str
    fixed_points: tuple[FixedPoint, ...]
    dose_bands: tuple[DoseBand, ...]
    primary_default: str
    primary_by_diagnosis: Mapping[str, str]

    def outcomes_for(self, instrument_id: str) -> InstrumentOutcomes:
        """Return the rules of `instrument_id`; InvalidValue when none are defined."""
        try:
            return self.instruments[instrument_id]
        except KeyError:
            raise InvalidValue("instrument", f"no outcome definitions for {instrument_id!r}") from None

    def primary_instrument(self, diagnosis: str | None) -> str:
        """Return the primary instrument for a diagnosis concept (the default for others or none)."""
        return self.primary_by_diagnosis.get(diagnosis or "", self.primary_default)

    def dose_band(self, mg_per_kg: float | None) -> DoseBand | None:
        """Return the band a delivered dose (mg/kg) falls in; None when the dose is unknown."""
        if mg_per_kg is None:
            return None
        for band in self.dose_bands:
            if band.min_mg_per_kg <= mg_per_kg < band.max_mg_per_kg:
                return band
        return None


def _rule(raw: Mapping[str, Any], where: str) -> Rule:
    on, op = str(raw["on"]), str(raw["op"])
    if on not in _ON or op not in _OPS:
        raise ValueError(f"{where}: on must be one of {_ON} and op one of {_OPS}")
    return Rule(on=on, op=op, value=float(raw["value"]), source=str(raw["source"]))


@cache
def shipped() -> Definitions:
    """Return the shipped outcome definitions."""
    return parse(load_toml(_DATA, "definitions.toml"))


def parse(raw: Mapping[str, Any]) -> Definitions:
    """Return definitions parsed from the TOML document `raw`; ValueError on an unknown instrument or rule."""
    known = set(instrument_ids())
    instruments: dict[str, InstrumentOutcomes] = {}
    for iid, r in raw["instruments"].items():
        if iid not in known:
            raise ValueError(f"instruments.{iid}: no such instrument in the catalogue")
        mcic = r.get("mcic")
        instruments[iid] = InstrumentOutcomes(
            instrument_id=iid,
            response=_rule(r["response"], f"{iid}.response"),
            remission=_rule(r["remission"], f"{iid}.remission"),
            mcic_points=float(mcic["points"]) if mcic else None,
            mcic_source=str(mcic["source"]) if mcic else None,
            reliability=float(r["reliability"]["r"]),
            reliability_source=str(r["reliability"]["source"]),
            unverified=tuple(r.get("unverified", ())),
        )
    primary = raw["primary_instrument"]
    for concept, iid in {"default": primary["default"], **primary["by_diagnosis"]}.items():
        if iid not in instruments:
            raise ValueError(f"primary_instrument.{concept}: {iid!r} has no outcome definitions")
    rr, rel, rci = raw["rapid_response"], raw["relapse"], raw["reliable_change"]
    return Definitions(
        instruments=instruments,
        baseline_max_days=float(raw["baseline"]["max_days_before_first_session"]),
        rapid_hours=float(rr["hours_after_first_session"]),
        rapid_window_before_h=float(rr["window_hours_before"]),
        rapid_window_after_h=float(rr["window_hours_after"]),
        rapid_source=str(rr["source"]),
        relapse_confirmations=int(rel["confirmations"]),
        relapse_source=str(rel["source"]),
        rci_z=float(rci["z"]),
        rci_se_formula=str(rci["se_formula"]),
        rci_min_baselines=int(rci["min_baselines"]),
        rci_source=str(rci["source"]),
        fixed_points=tuple(FixedPoint(**p) for p in raw["fixed_points"]["points"]),
        dose_bands=tuple(DoseBand(**b) for b in raw["dose_bands"]["bands"]),
        primary_default=str(primary["default"]),
        primary_by_diagnosis=dict(primary["by_diagnosis"]),
    )


def with_primary_instruments(base: Definitions, chosen: Mapping[str, str]) -> Definitions:
    """Return `base` with a clinic's choice of primary instrument per diagnosis ("default" for the rest)."""
    by_dx = dict(base.primary_by_diagnosis)
    default = base.primary_default
    for concept, iid in chosen.items():
        if iid not in base.instruments:
            raise InvalidValue(
                f"outcome_primary_instruments.{concept}", f"{iid!r} has no response and remission definitions"
            )
        if concept == "default":
            default = iid
        else:
            by_dx[concept] = iid
    return Definitions(**{**base.__dict__, "primary_by_diagnosis": by_dx, "primary_default": default})
