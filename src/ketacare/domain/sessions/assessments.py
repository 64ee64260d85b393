"""Assessments scheduled around an infusion session and the discharge facts their results give (pure).

The schedule and the thresholds live in `data/discharge_assessments.toml` with their sources. The modified
Aldrete threshold itself stays in `data/session.toml` (settings.aldrete_min_score), read by the discharge guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ketacare.domain.datafiles import load_toml

_DATA = "ketacare.domain.sessions.data"


@dataclass(frozen=True)
class ScheduledAssessment:
    """One assessment due around a session: any of `instruments` answered in `context` for the session."""

    id: str
    label: str
    stage: str
    context: str
    instruments: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class DischargeCriteria:
    """When instrument results count as resolved: MOAA/S at least `moaas_min`, CADSS-6 at most `cadss6_max`."""

    moaas_min: float
    cadss6_max: float
    sedation_source: str
    dissociation_source: str


@cache
def _raw() -> dict[str, Any]:
    return load_toml(_DATA, "discharge_assessments.toml")


@cache
def session_assessments() -> tuple[ScheduledAssessment, ...]:
    """Return the assessments scheduled around each session, in the order they fall due."""
    return tuple(
        ScheduledAssessment(
            id=str(a["id"]),
            label=str(a["label"]),
            stage=str(a["stage"]),
            context=str(a["context"]),
            instruments=tuple(a["instruments"]),
            source=str(a["source"]),
        )
        for a in _raw()["assessments"]
    )


@cache
def discharge_criteria() -> DischargeCriteria:
    """Return the instrument thresholds that count as sedation and dissociation resolved."""
    raw = _raw()
    return DischargeCriteria(
        moaas_min=float(raw["sedation_resolved"]["min_score"]),
        cadss6_max=float(raw["dissociation_resolved"]["max_total"]),
        sedation_source=str(raw["sedation_resolved"]["source"]),
        dissociation_source=str(raw["dissociation_resolved"]["source"]),
    )


def sedation_resolved(moaas_score: float | None, criteria: DischargeCriteria) -> bool | None:
    """Return whether a MOAA/S score (0-5, 5 fully alert) shows sedation resolved; None without a score."""
    return None if moaas_score is None else moaas_score >= criteria.moaas_min


def dissociation_resolved(cadss6_total: float | None, criteria: DischargeCriteria) -> bool | None:
    """Return whether a CADSS-6 total (0-24) shows dissociation resolved; None without a total."""
    return None if cadss6_total is None else cadss6_total <= criteria.cadss6_max


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the discharge checklist: a discharge guard id (or `instructions_given`) and its label."""

    id: str
    label: str
    source: str


@dataclass(frozen=True)
class DischargeInstructions:
    """The written discharge instructions the clinic gives, with their sources."""

    items: tuple[str, ...]
    source: str


@cache
def _checklist_raw() -> dict[str, Any]:
    return load_toml(_DATA, "discharge_checklist.toml")


@cache
def discharge_checklist_items() -> tuple[ChecklistItem, ...]:
    """Return the discharge checklist lines in the order the record prints them."""
    return tuple(
        ChecklistItem(id=str(i["id"]), label=str(i["label"]), source=str(i["source"]))
        for i in _checklist_raw()["items"]
    )


@cache
def discharge_instructions() -> DischargeInstructions:
    """Return the written discharge instructions (data/discharge_checklist.toml)."""
    raw = _checklist_raw()["instructions"]
    return DischargeInstructions(items=tuple(str(x) for x in raw["items"]), source=str(raw["source"]))
