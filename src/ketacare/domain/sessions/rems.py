"""Esketamine (Spravato) REMS Patient Monitoring Form completeness: which required fields are missing.

Times are minutes from the first nasal device (t = 0). Field list, messages and sources: `data/rems.toml`
([spravato-label, spravato-hcp, spravato-rems-form]); the windows that match BP readings to the form's three
BP boxes are clinic-configurable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ketacare.domain.datafiles import load_toml
from ketacare.domain.sessions.vitals import VitalReading

_DATA = "ketacare.domain.sessions.data"


@dataclass(frozen=True)
class EventRecord:
    """Whether an event (sedation, dissociation, respiratory depression) occurred and, if so, resolved."""

    occurred: bool | None = None
    resolved: bool | None = None

    @property
    def complete(self) -> bool:
        return self.occurred is False or (self.occurred is True and self.resolved is not None)


@dataclass(frozen=True)
class RemsSessionRecord:
    """What the session recorded for the REMS form; None means not recorded."""

    readings: tuple[VitalReading, ...] = ()
    monitoring_end_min: float | None = None
    sedation: EventRecord | None = None
    dissociation: EventRecord | None = None
    respiratory_depression: EventRecord | None = None
    vitals_acceptable_before_administration: bool | None = None
    vitals_acceptable_before_completion: bool | None = None
    dose_mg: float | None = None
    lot_number: str | None = None
    could_have_left_min: float | None = None
    enrolled: bool | None = None
    first_treatment: bool | None = None
    concomitant_benzodiazepines: bool | None = None
    concomitant_non_benzodiazepine_hypnotics: bool | None = None
    concomitant_psychostimulants: bool | None = None
    concomitant_maois: bool | None = None
    concomitant_opioids: bool | None = None


# The form's yes/no questions: recorded when answered either way.
YES_NO_FIELDS: tuple[str, ...] = (
    "first_treatment",
    "concomitant_benzodiazepines",
    "concomitant_non_benzodiazepine_hypnotics",
    "concomitant_psychostimulants",
    "concomitant_maois",
    "concomitant_opioids",
)


@dataclass(frozen=True)
class MissingField:
    """A REMS form field that is missing or does not meet the REMS rule."""

    field: str
    message: str
    source: str


def _bp_times(record: RemsSessionRecord) -> list[float]:
    return sorted(r.t_min for r in record.readings if r.sbp is not None and r.dbp is not None)


def rems_missing_fields(record: RemsSessionRecord) -> list[MissingField]:
    """Return the REMS Patient Monitoring Form fields that are missing, in form order (empty = complete)."""
    data = load_toml(_DATA, "rems.toml")
    w = {k: float(v["value"]) for k, v in data["windows"].items()}
    times = _bp_times(record)
    end = record.monitoring_end_min
    at40_lo, at40_hi = 40 - w["at_40_tolerance_min"], 40 + w["at_40_tolerance_min"]
    ok = {name: getattr(record, name) is not None for name in YES_NO_FIELDS}
    ok |= {
        "enrolled": record.enrolled is True,
        "bp_before_dosing": any(-w["before_dosing_max_min"] <= t <= 0 for t in times),
        "bp_at_40_min": any(at40_lo <= t <= at40_hi for t in times),
        "bp_before_discharge": end is not None
        and any(max(at40_hi, end - w["before_discharge_max_min"]) < t <= end for t in times),
        "observation_2h": end is not None and end >= 120,
        "sedation": record.sedation is not None and record.sedation.complete,
        "dissociation": record.dissociation is not None and record.dissociation.complete,
        "respiratory_depression": record.respiratory_depression is not None
        and record.respiratory_depression.complete,
        "vitals_acceptable_before_administration": record.vitals_acceptable_before_administration is not None,
        "vitals_acceptable_before_completion": record.vitals_acceptable_before_completion is not None,
        "dose_mg": record.dose_mg is not None and record.dose_mg > 0,
        "lot_number": bool(record.lot_number and record.lot_number.strip()),
        "could_have_left_min": record.could_have_left_min is not None,
    }
    out = []
    for name, spec in data["fields"].items():
        if ok[name]:
            continue
        message = spec["message"]
        if name == "enrolled" and record.enrolled is False:
            message = spec["message_not_enrolled"]
        out.append(MissingField(name, message, spec["source"]))
    return out


def concomitant_hints(medications: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, list[str]]:
    """Return, per concomitant-medication question, the listed medications of its classes (a hint, not an answer).

    `medications` are (name as shown, drug classes) pairs from the patient's active medication list.
    """
    mapping = load_toml(_DATA, "rems.toml")["concomitant_classes"]
    out: dict[str, list[str]] = {}
    for name, classes in medications:
        for question, wanted in mapping.items():
            if question != "source" and set(wanted) & set(classes):
                out.setdefault(question, []).append(name)
    return out
