"""The integration-therapy data file: modalities, note kinds, goal statuses, risk questions, the visit window."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ketacare.domain.datafiles import load_toml


@dataclass(frozen=True)
class VisitWindow:
    """When an integration visit after an infusion is due: hours after the infusion ended."""

    due_from_h: float
    due_by_h: float
    lookback_days: float
    source: str


@dataclass(frozen=True)
class RiskQuestion:
    key: str
    label: str
    answers: tuple[str, ...]
    escalate: frozenset[str]
    source: str


@cache
def _data() -> dict[str, Any]:
    return load_toml("ketacare.domain.therapy.data", "therapy.toml")


def _labels(table: str) -> dict[str, str]:
    return {k: v["label"] for k, v in _data()[table].items()}


def modalities() -> dict[str, str]:
    """Return modality key -> label, in the data file's order."""
    return _labels("modalities")


def note_kinds() -> dict[str, str]:
    """Return note kind key -> label (integration, preparation)."""
    return _labels("note_kinds")


def goal_statuses() -> dict[str, str]:
    """Return goal status key -> label."""
    return _labels("goal_statuses")


@cache
def visit_window() -> VisitWindow:
    """Return the clinic's integration-visit window (hours after an infusion ends; a clinic default)."""
    w = _data()["integration_window"]
    if not 0 <= w["due_from_h"] < w["due_by_h"]:
        raise ValueError("therapy.toml: integration_window needs 0 <= due_from_h < due_by_h")
    return VisitWindow(
        due_from_h=float(w["due_from_h"]),
        due_by_h=float(w["due_by_h"]),
        lookback_days=float(w["lookback_days"]),
        source=w["source"],
    )


@cache
def risk_questions() -> tuple[RiskQuestion, ...]:
    """Return the risk-check questions in the data file's order."""
    out = []
    for key, q in _data()["risk_questions"].items():
        escalate = frozenset(q["escalate"])
        if not escalate <= set(q["answers"]):
            raise ValueError(f"therapy.toml: risk question {key} escalates an answer it does not offer")
        out.append(RiskQuestion(key, q["label"], tuple(q["answers"]), escalate, q["source"]))
    return tuple(out)
