"""Plan templates as data (`data/plan_templates/*.toml`): a course's phases, reviews, stop rules and assessments.

A template names the dosing protocol it uses (`domain/dosing/protocols/`), its phases (induction, titration,
maintenance) with a session count and a spacing (sessions per week or days between sessions), the points where the
course is re-evaluated, the rules that stop it and the assessment schedule of its primary instrument. Every number
carries a `source` (bibliography keys, or "clinic-default" where no published value exists). A file that breaks a
rule is refused when loaded, so a slip fails the tests instead of reaching a plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.dosing import protocol_ids
from ketacare.domain.plans.datacheck import DataFileError, check_source, check_table

_PACKAGE = "ketacare.domain.plans.data.plan_templates"

PhaseKind = Literal["induction", "titration", "maintenance"]
StopKind = Literal["no-response", "intolerable", "patient-choice"]
PHASE_KINDS: tuple[PhaseKind, ...] = ("induction", "titration", "maintenance")
STOP_KINDS: tuple[StopKind, ...] = ("no-response", "intolerable", "patient-choice")


@dataclass(frozen=True)
class Phase:
    """One phase of a course: how many sessions (None: open-ended until a review) and how far apart."""

    id: str
    kind: PhaseKind
    name: str
    sessions: int | None
    sessions_per_week: float | None
    every_days: float | None
    weeks: float | None
    spaces_out_to_days: float | None  # while response holds, the interval may lengthen up to this
    responders_only: bool
    note: str
    source: str

    @property
    def interval_days(self) -> float:
        """Return the days between sessions (7 / sessions per week when the phase is given per week)."""
        if self.every_days is not None:
            return self.every_days
        return 7.0 / (self.sessions_per_week or 1.0)  # one of the two is required at load time


@dataclass(frozen=True)
class Review:
    """A point where the prescriber re-evaluates the course: after a phase ends, or at a week of the course."""

    id: str
    name: str
    after_phase: str | None
    week: float | None
    text: str
    source: str


@dataclass(frozen=True)
class StopRule:
    """When the course stops: no response after N sessions, intolerable effects, or the patient's choice."""

    id: str
    kind: StopKind
    text: str
    after_sessions: int | None
    source: str


@dataclass(frozen=True)
class AssessmentSchedule:
    """When the primary instrument is taken: before each session and at the given hours after it."""

    primary: str
    before_each_session: bool
    after_hours: tuple[float, ...]
    note: str
    source: str


@dataclass(frozen=True)
class TherapyPairing:
    """Psychotherapy paired with the dosing sessions (e.g. trauma-focused therapy for PTSD)."""

    modality: str
    sessions: int | None
    timing: str
    text: str
    source: str


@dataclass(frozen=True)
class PlanTemplate:
    """A course template a prescriber starts an individual plan from."""

    id: str
    name: str
    protocol: str
    indications: tuple[str, ...]
    off_label: bool
    summary: str
    evidence: str
    phases: tuple[Phase, ...]
    reviews: tuple[Review, ...]
    stop_rules: tuple[StopRule, ...]
    assessments: AssessmentSchedule
    therapy: TherapyPairing | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    def phase(self, phase_id: str) -> Phase:
        """Return the phase `phase_id` of this template."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)

    @property
    def induction(self) -> Phase:
        """Return the first phase (the induction or titration that starts the course)."""
        return self.phases[0]


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _phase(raw: dict[str, Any], where: str) -> Phase:
    check_table(raw, where)
    if raw.get("kind") not in PHASE_KINDS:
        raise DataFileError(f"{where}: kind must be one of {', '.join(PHASE_KINDS)}")
    if ("sessions_per_week" in raw) == ("every_days" in raw):
        raise DataFileError(f"{where}: give exactly one of sessions_per_week and every_days")
    return Phase(
        id=str(raw["id"]),
        kind=raw["kind"],
        name=str(raw["name"]),
        sessions=_opt_int(raw.get("sessions")),
        sessions_per_week=_opt_float(raw.get("sessions_per_week")),
        every_days=_opt_float(raw.get("every_days")),
        weeks=_opt_float(raw.get("weeks")),
        spaces_out_to_days=_opt_float(raw.get("spaces_out_to_days")),
        responders_only=bool(raw.get("responders_only", False)),
        note=str(raw.get("note", "")),
        source=check_source(raw.get("source"), where),
    )


def _review(raw: dict[str, Any], where: str, phases: set[str]) -> Review:
    check_table(raw, where)
    after = raw.get("after_phase")
    if after is not None and after not in phases:
        raise DataFileError(f"{where}: after_phase {after!r} is not a phase of this template")
    if after is None and "week" not in raw:
        raise DataFileError(f"{where}: a review needs after_phase or week")
    return Review(
        id=str(raw["id"]),
        name=str(raw["name"]),
        after_phase=after,
        week=_opt_float(raw.get("week")),
        text=str(raw["text"]),
        source=check_source(raw.get("source"), where),
    )


def _stop(raw: dict[str, Any], where: str) -> StopRule:
    check_table(raw, where)
    if raw.get("kind") not in STOP_KINDS:
        raise DataFileError(f"{where}: kind must be one of {', '.join(STOP_KINDS)}")
    if raw["kind"] == "no-response" and "after_sessions" not in raw:
        raise DataFileError(f"{where}: a no-response stop rule needs after_sessions")
    return StopRule(
        id=str(raw["id"]),
        kind=raw["kind"],
        text=str(raw["text"]),
        after_sessions=_opt_int(raw.get("after_sessions")),
        source=check_source(raw.get("source"), where),
    )


def parse_plan_template(raw: dict[str, Any]) -> PlanTemplate:
    """Return the template in `raw` (a parsed TOML file), or refuse it naming what is wrong."""
    where = f"plan template {raw.get('id', '?')}"
    check_table(raw, where)
    if raw.get("protocol") not in protocol_ids():
        known_ids = ", ".join(protocol_ids())
        raise DataFileError(f"{where}: unknown protocol {raw.get('protocol')!r}: use one of {known_ids}")
    phases = tuple(_phase(p, f"{where} phase {p.get('id', i)}") for i, p in enumerate(raw.get("phase", [])))
    if not phases:
        raise DataFileError(f"{where}: a template needs at least one phase")
    ids = {p.id for p in phases}
    reviews = tuple(
        _review(r, f"{where} review {r.get('id', i)}", ids) for i, r in enumerate(raw.get("review", []))
    )
    stops = tuple(_stop(s, f"{where} stop {s.get('id', i)}") for i, s in enumerate(raw.get("stop", [])))
    missing = [k for k in STOP_KINDS if k not in {s.kind for s in stops}]
    if missing:
        raise DataFileError(f"{where}: stop rules missing for {', '.join(missing)}")
    a = raw.get("assessments")
    if not isinstance(a, dict):
        raise DataFileError(f"{where}: [assessments] is required")
    check_table(a, f"{where} assessments")
    therapy = raw.get("therapy")
    if therapy is not None:
        check_table(therapy, f"{where} therapy")
    return PlanTemplate(
        id=str(raw["id"]),
        name=str(raw["name"]),
        protocol=str(raw["protocol"]),
        indications=tuple(raw.get("indications", ())),
        off_label=bool(raw["off_label"]),
        summary=str(raw["summary"]),
        evidence=str(raw["evidence"]),
        phases=phases,
        reviews=reviews,
        stop_rules=stops,
        assessments=AssessmentSchedule(
            primary=str(a["primary"]),
            before_each_session=bool(a["before_each_session"]),
            after_hours=tuple(float(h) for h in a.get("after_hours", ())),
            note=str(a.get("note", "")),
            source=check_source(a.get("source"), f"{where} assessments"),
        ),
        therapy=None
        if therapy is None
        else TherapyPairing(
            modality=str(therapy["modality"]),
            sessions=_opt_int(therapy.get("sessions")),
            timing=str(therapy["timing"]),
            text=str(therapy["text"]),
            source=check_source(therapy.get("source"), f"{where} therapy"),
        ),
        raw=raw,
    )


def plan_template_ids() -> tuple[str, ...]:
    """Return the ids of every plan template shipped, sorted."""
    names = (p.name for p in resources.files(_PACKAGE).iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(n.removesuffix(".toml") for n in names))


@cache
def plan_templates() -> dict[str, PlanTemplate]:
    """Return every plan template by id (each checked: sources known, protocol in the library)."""
    out: dict[str, PlanTemplate] = {}
    for tid in plan_template_ids():
        t = parse_plan_template(load_toml(_PACKAGE, f"{tid}.toml"))
        if t.id != tid:
            raise DataFileError(f"plan template file {tid}.toml holds id {t.id!r}")
        out[tid] = t
    return out
