"""Structured side effects with a CTCAE-like 1-5 grade; a clinic-defined rescue formulary with dose limits.

Types and the grading scale live in `data/side_effects.toml` (grades: NCI CTCAE v5.0 generic definitions,
shown as mild / moderate / severe / life-threatening / death). Rescue doses have no citable psychiatric
guideline, so Ketacare ships none: the clinic's own entries live in its database (issue #12,
configured by prescribers) and reach this module as plain values. `clinic_entry` validates an entry (range with
unit, doses and total per session, approver, source) and `check_rescue_dose` refuses a dose outside it.
`data/rescue_formulary.toml` only names, with sources, drugs the sources we reviewed list (disabled, no doses;
`load_formulary`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue, InvalidValues

_DATA = "ketacare.domain.sessions.data"


class SideEffectType(StrEnum):
    DISSOCIATION = "dissociation"
    DIZZINESS = "dizziness"
    NAUSEA = "nausea"
    VOMITING = "vomiting"
    HEADACHE = "headache"
    RAISED_BP = "raised_bp"
    ANXIETY_AGITATION = "anxiety_agitation"
    BLURRED_VISION = "blurred_vision"
    SEDATION = "sedation"
    OTHER = "other"


def grading_scale() -> dict[str, Any]:
    """Return the grading scale (id, name, source, grades) from the data file."""
    scale: dict[str, Any] = load_toml(_DATA, "side_effects.toml")["scale"]
    return scale


def grade_label(grade: int) -> str:
    """Return the word for a CTCAE-like grade: 1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death."""
    for g in grading_scale()["grades"]:
        if g["grade"] == grade:
            return str(g["label"])
    raise InvalidValue("grade", "grade must be 1 (mild) to 5 (death)")


@dataclass(frozen=True)
class SideEffect:
    """A side effect seen in a session: type, CTCAE-like grade 1-5, onset and resolution (minutes)."""

    type: SideEffectType
    grade: int
    onset_min: float
    resolved_min: float | None = None
    description: str = ""
    scale: str = "ctcae_like_1_5"

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "type", SideEffectType(self.type))
        except ValueError as exc:
            raise InvalidValue("type", f"unknown side effect {self.type!r}") from exc
        if isinstance(self.grade, bool) or not isinstance(self.grade, int) or not 1 <= self.grade <= 5:
            raise InvalidValue("grade", "grade must be a whole number from 1 (mild) to 5 (death)")
        if not math.isfinite(self.onset_min):
            raise InvalidValue("onset_min", "onset time must be a number of minutes")
        if self.resolved_min is not None and self.resolved_min < self.onset_min:
            raise InvalidValue("resolved_min", "resolved before it started")
        if self.type is SideEffectType.OTHER and not self.description.strip():
            raise InvalidValue("description", "describe the side effect when the type is 'other'")

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)

    @property
    def resolved(self) -> bool:
        return self.resolved_min is not None


def side_effect_types() -> dict[str, dict[str, str]]:
    """Return the side-effect types with label, incidence context and source."""
    types: dict[str, dict[str, str]] = load_toml(_DATA, "side_effects.toml")["types"]
    return types


# ---- rescue formulary ----


@dataclass(frozen=True)
class RescueEntry:
    """A rescue medication the clinic allows, with its own per-dose and per-session limits (mg)."""

    id: str
    drug: str
    indications: tuple[str, ...]
    routes: tuple[str, ...]
    max_single_dose_mg: float | None = None
    min_single_dose_mg: float | None = None
    max_doses_per_session: int | None = None
    max_total_mg_per_session: float | None = None
    enabled: bool = False
    defined_by: str = ""
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class RescueGiven:
    """A rescue dose given: drug entry id, mg, route, for which side effect, when and by whom."""

    entry_id: str
    dose_mg: float
    route: str
    indication: str
    t_min: float
    given_by: str


def _positive(field: str, v: Any) -> None:
    if v is None or isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise InvalidValue(field, "must be a number above 0")


def load_formulary(clinic_entries: Sequence[Mapping[str, Any]] = ()) -> dict[str, RescueEntry]:
    """Return the formulary: shipped templates (disabled, no doses) completed or extended by clinic entries.

    A clinic entry that is enabled must give max_single_dose_mg, max_doses_per_session and defined_by.
    """
    raw = load_toml(_DATA, "rescue_formulary.toml")
    entries: dict[str, RescueEntry] = {}
    for t in raw["templates"]:
        entries[t["id"]] = RescueEntry(
            id=t["id"],
            drug=t["drug"],
            indications=tuple(t["indications"]),
            routes=tuple(t["routes"]),
            source=t["source"],
            note=t.get("note", ""),
        )
    valid_types = {t.value for t in SideEffectType}
    for i, ce in enumerate(clinic_entries):
        f = f"formulary[{i}]"
        eid = str(ce.get("id", "")).strip()
        if not eid:
            raise InvalidValue(f + ".id", "each formulary entry needs an id")
        base = entries.get(eid)
        drug = str(ce.get("drug", base.drug if base else "")).strip()
        indications = tuple(ce.get("indications", base.indications if base else ()))
        routes = tuple(ce.get("routes", base.routes if base else ()))
        if not drug or not indications or not routes:
            raise InvalidValue(f, "a formulary entry needs a drug, indications and routes")
        if not set(indications) <= valid_types:
            raise InvalidValue(
                f + ".indications", f"indications must be side-effect types: {sorted(valid_types)}"
            )
        enabled = bool(ce.get("enabled", False))
        entry = RescueEntry(
            id=eid,
            drug=drug,
            indications=indications,
            routes=routes,
            max_single_dose_mg=ce.get("max_single_dose_mg"),
            max_doses_per_session=ce.get("max_doses_per_session"),
            max_total_mg_per_session=ce.get("max_total_mg_per_session"),
            enabled=enabled,
            defined_by=str(ce.get("defined_by", "")).strip(),
            source=f"clinic-defined (approved by {ce.get('defined_by', '?')}); not from a guideline",
            note=str(ce.get("note", base.note if base else "")),
        )
        if enabled:
            _positive(f + ".max_single_dose_mg", entry.max_single_dose_mg)
            md = entry.max_doses_per_session
            if not isinstance(md, int) or isinstance(md, bool) or md < 1:
                raise InvalidValue(
                    f + ".max_doses_per_session", "must be a whole number of doses, at least 1"
                )
            if entry.max_total_mg_per_session is not None:
                _positive(f + ".max_total_mg_per_session", entry.max_total_mg_per_session)
            if not entry.defined_by:
                raise InvalidValue(f + ".defined_by", "say who approved this clinic order set")
        entries[eid] = entry
    return entries


def check_rescue_dose(
    formulary: Mapping[str, RescueEntry],
    given: RescueGiven,
    given_earlier: Sequence[RescueGiven] = (),
) -> RescueGiven:
    """Return `given` if it is within the clinic's configured limits, else raise InvalidValue."""
    entry = formulary.get(given.entry_id)
    if entry is None:
        raise InvalidValue("entry_id", f"{given.entry_id!r} is not in the clinic's rescue formulary")
    if not entry.enabled or entry.max_single_dose_mg is None:
        raise InvalidValue(
            "entry_id", f"{entry.drug} has no clinic-defined dose limits; the clinic must configure it first"
        )
    if not given.given_by.strip():
        raise InvalidValue("given_by", "say who gave the dose")
    _positive("dose_mg", given.dose_mg)
    if given.route not in entry.routes:
        raise InvalidValue(
            "route", f"{entry.drug} route {given.route!r} not allowed (allowed: {', '.join(entry.routes)})"
        )
    if given.indication not in entry.indications:
        raise InvalidValue(
            "indication",
            f"{entry.drug} is not set up for {given.indication} (for: {', '.join(entry.indications)})",
        )
    if entry.min_single_dose_mg is not None and given.dose_mg < entry.min_single_dose_mg:
        raise InvalidValue(
            "dose_mg",
            f"{given.dose_mg:g} mg is below the clinic's dose range "
            f"({entry.min_single_dose_mg:g}-{entry.max_single_dose_mg:g} mg)",
        )
    if given.dose_mg > entry.max_single_dose_mg:
        raise InvalidValue(
            "dose_mg",
            f"{given.dose_mg:g} mg is above the clinic's single-dose limit "
            f"of {entry.max_single_dose_mg:g} mg",
        )
    earlier = [g for g in given_earlier if g.entry_id == given.entry_id]
    if entry.max_doses_per_session is not None and len(earlier) + 1 > entry.max_doses_per_session:
        raise InvalidValue(
            "dose_mg",
            f"{entry.drug}: already {len(earlier)} dose(s) this session; limit {entry.max_doses_per_session}",
        )
    total = sum(g.dose_mg for g in earlier) + given.dose_mg
    if entry.max_total_mg_per_session is not None and total > entry.max_total_mg_per_session:
        raise InvalidValue(
            "dose_mg",
            f"{entry.drug}: {total:g} mg this session would exceed the limit of "
            f"{entry.max_total_mg_per_session:g} mg",
        )
    return given


# ---- the clinic's own formulary entries (configured in the database; Ketacare ships none) ----


def routes() -> dict[str, str]:
    """Return the routes a formulary entry may name: code -> label."""
    return dict(load_toml(_DATA, "side_effects.toml")["routes"])


def dose_units() -> dict[str, float]:
    """Return the dose units a formulary entry may use and how many mg one of them is."""
    return {k: float(v["mg"]) for k, v in load_toml(_DATA, "side_effects.toml")["dose_units"].items()}


def dose_to_mg(value: float | None, unit: str, field: str = "dose", unit_field: str = "dose_unit") -> float:
    """Return `value` given in `unit` (mg or microgram) as mg; refuse a missing unit or a non-positive value."""
    factors = dose_units()
    if unit not in factors:
        raise InvalidValue(unit_field, f"choose the dose unit: {' or '.join(factors)}")
    _positive(field, value)
    return float(value) * factors[unit]  # type: ignore[arg-type]


def clinic_entry(
    *,
    entry_id: str,
    drug: str,
    route: str,
    indications: Sequence[str],
    dose_min: float | None,
    dose_max: float | None,
    dose_unit: str,
    max_doses_per_session: int | None,
    max_total_per_session: float | None,
    approved_by: str,
    source: str,
    note: str = "",
) -> RescueEntry:
    """Return a clinic formulary entry (enabled, limits in mg) or raise InvalidValues naming every refused field.

    Doses are per single administration in `dose_unit`; the session total (optional) is in the same unit.
    Nothing is defaulted: the clinic gives the range, the number of doses per session, who approved it and a
    source for every entry (no citable guideline gives doses for rescue medicines).
    """
    errors: dict[str, str] = {}

    def check(field: str, fn: Any) -> Any:
        try:
            return fn()
        except InvalidValue as e:
            errors.setdefault(field, e.message)
            return None

    def need(ok: bool, field: str, message: str) -> None:
        if not ok:
            errors.setdefault(field, message)

    drug = drug.strip()
    need(bool(drug), "drug", "name the drug")
    need(route in routes(), "route", f"choose a route: {', '.join(routes())}")
    valid_types = {t.value for t in SideEffectType}
    need(bool(indications), "indications", "choose at least one side effect this medicine treats")
    need(set(indications) <= valid_types, "indications", "indications must be side-effect types from the list")
    need(dose_unit in dose_units(), "dose_unit", f"choose the dose unit: {' or '.join(dose_units())}")
    unit = dose_unit if dose_unit in dose_units() else "mg"  # so each dose is still checked for being a number
    lo = check("dose_min", lambda: dose_to_mg(dose_min, unit, "dose_min"))
    hi = check("dose_max", lambda: dose_to_mg(dose_max, unit, "dose_max"))
    if lo is not None and hi is not None:
        need(lo <= hi, "dose_max", "the highest dose must be at least the lowest dose")
    md = max_doses_per_session
    need(
        md is not None and not isinstance(md, bool) and isinstance(md, int) and md >= 1,
        "max_doses_per_session",
        "a whole number of doses per session, at least 1",
    )
    total = None
    if max_total_per_session is not None:
        total = check(
            "max_total_per_session", lambda: dose_to_mg(max_total_per_session, unit, "max_total_per_session")
        )
        if total is not None and hi is not None:
            need(total >= hi, "max_total_per_session", "the session maximum must be at least one highest dose")
    need(bool(approved_by.strip()), "approved_by", "say who approved this entry (name and role)")
    need(bool(source.strip()), "source", "give the source: a citation, the clinic's protocol or a bibliography key")
    if errors:
        raise InvalidValues(errors)
    return RescueEntry(
        id=entry_id,
        drug=drug,
        indications=tuple(indications),
        routes=(route,),
        max_single_dose_mg=hi,
        min_single_dose_mg=lo,
        max_doses_per_session=md,
        max_total_mg_per_session=total,
        enabled=True,
        defined_by=approved_by.strip(),
        source=source.strip(),
        note=note,
    )
