"""The titration advisor: from a course's sessions (dose in mg/kg, primary-instrument scores, tolerability) and the
protocol's limits, propose the next dose (mg/kg) and interval (days), or a stop, with every rule that fired and its
source. It never proposes above the hard limit and never escalates after an intolerable session. Rules and
thresholds: `data/titration.toml` (Glue 2017a for the ascending design; Bandelow 2006 for response)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml

Kind = Literal["escalate", "hold", "reduce", "stop", "review"]


@dataclass(frozen=True)
class SessionOutcome:
    """One given session: dose (mg/kg), scores of the primary instrument (lower is better) and tolerability."""

    number: int
    day: float  # days since the first session of the course
    dose_mg_per_kg: float
    score_before: float | None = None
    score_24h: float | None = None
    peak_sbp_rise_mmhg: float | None = None
    cadss6_total: float | None = None
    max_side_effect_grade: int = 0
    rescue_given: bool = False
    judged_intolerable: bool = False  # the clinician said so (e.g. stopped early because of effects)


@dataclass(frozen=True)
class DoseLimits:
    """The protocol's dose range (mg/kg): its steps when it has them, the hard maximum never to exceed."""

    hard_max_mg_per_kg: float
    min_mg_per_kg: float
    steps_mg_per_kg: tuple[float, ...] = ()
    interval_days: float = 7.0


@dataclass(frozen=True)
class FiredRule:
    id: str
    text: str
    source: str


@dataclass(frozen=True)
class Proposal:
    """What the advisor proposes; a prescriber accepts, edits or rejects it."""

    kind: Kind
    dose_mg_per_kg: float | None
    interval_days: float | None
    response: str  # "response", "partial", "none" or "unknown" (no baseline or no score)
    change_pct: float | None  # change from baseline at the latest score (negative = better)
    rules: tuple[FiredRule, ...]
    evidence_note: str
    cautions: tuple[str, ...] = field(default=())


@cache
def titration_rules() -> dict[str, Any]:
    """Return the advisor's rules and thresholds (with sources) from `data/titration.toml`."""
    return load_toml("ketacare.domain.plans.data", "titration.toml")


def _change_pct(baseline: float | None, score: float | None) -> float | None:
    """Percent change from baseline (negative = fewer symptoms); None without both, or with a zero baseline."""
    if baseline is None or score is None or baseline <= 0:
        return None
    return (score - baseline) / baseline * 100.0


def _latest_score(s: SessionOutcome) -> float | None:
    return s.score_24h if s.score_24h is not None else s.score_before


def _response(baseline: float | None, s: SessionOutcome, r: dict[str, Any]) -> tuple[str, float | None]:
    change = _change_pct(baseline, _latest_score(s))
    if change is None:
        return "unknown", None
    if -change >= r["response_pct"]:
        return "response", change
    if -change >= r["partial_pct"]:
        return "partial", change
    return "none", change


def _intolerable(s: SessionOutcome, t: dict[str, Any]) -> list[FiredRule]:
    fired = []
    if s.judged_intolerable:
        fired.append(
            FiredRule(
                "tolerability.clinician",
                "the clinician judged the last session intolerable",
                "clinic-default",
            )
        )
    if s.max_side_effect_grade >= t["max_side_effect_grade"]:
        fired.append(
            FiredRule(
                "tolerability.side_effect",
                f"a side effect of grade {s.max_side_effect_grade} "
                f"(grade {t['max_side_effect_grade']} or more)",
                t["side_effect_source"],
            )
        )
    if s.rescue_given and t["rescue_means_intolerable"]:
        fired.append(FiredRule("tolerability.rescue", "a rescue medicine was needed", t["rescue_source"]))
    if s.peak_sbp_rise_mmhg is not None and s.peak_sbp_rise_mmhg > t["sbp_rise_mmhg"]:
        fired.append(
            FiredRule(
                "tolerability.bp",
                f"systolic BP rose {s.peak_sbp_rise_mmhg:.0f} mmHg (more than {t['sbp_rise_mmhg']:.0f})",
                t["sbp_rise_source"],
            )
        )
    if s.cadss6_total is not None and s.cadss6_total > t["cadss6_total"]:
        fired.append(
            FiredRule(
                "tolerability.dissociation",
                f"dissociation CADSS-6 {s.cadss6_total:.0f} (more than {t['cadss6_total']:.0f})",
                t["cadss6_source"],
            )
        )
    return fired


def _step_up(dose: float, limits: DoseLimits, step: float) -> float:
    """The next dose up: the protocol's next step, else dose + step; never above the hard maximum."""
    higher = [x for x in limits.steps_mg_per_kg if x > dose + 1e-9]
    nxt = min(higher) if higher else round(dose + step, 4)
    return min(nxt, limits.hard_max_mg_per_kg)


def _step_down(dose: float, limits: DoseLimits, step: float) -> float:
    lower = [x for x in limits.steps_mg_per_kg if x < dose - 1e-9]
    nxt = max(lower) if lower else round(dose - step, 4)
    return max(nxt, limits.min_mg_per_kg)


def _at_top(dose: float, limits: DoseLimits) -> bool:
    return dose >= limits.hard_max_mg_per_kg - 1e-9


def _spaced_interval(
    history: list[SessionOutcome], baseline: float | None, limits: DoseLimits, rules: dict[str, Any]
) -> tuple[float, FiredRule | None]:
    """Lengthen the interval while response held at the last `hold_assessments` sessions."""
    iv = rules["interval"]
    recent = history[-int(iv["hold_assessments"]) :]
    held = len(recent) == int(iv["hold_assessments"]) and all(
        _response(baseline, s, rules["response"])[0] == "response" for s in recent
    )
    gaps = [b.day - a.day for a, b in zip(history, history[1:], strict=False)]
    current = gaps[-1] if gaps else limits.interval_days
    if not held:
        return max(current, limits.interval_days), None
    longer = min(
        max(current, limits.interval_days) * float(iv["spacing_factor"]), float(iv["max_interval_days"])
    )
    return longer, FiredRule(
        "interval.spacing",
        f"response held at the last {int(iv['hold_assessments'])} "
        f"sessions: space the next one out to {longer:.0f} days",
        iv["spacing_source"],
    )


def propose_next(
    history: list[SessionOutcome], baseline: float | None, limits: DoseLimits, patient_stopped: bool = False
) -> Proposal:
    """Propose the next dose (mg/kg) and interval (days), or a stop, from the course so far (oldest first)."""
    rules = titration_rules()
    note = str(rules["evidence_note"])
    if not history:
        raise ValueError("the advisor needs at least one given session")
    last = history[-1]
    r = rules["response"]
    response, change = _response(baseline, last, r)
    fired: list[FiredRule] = []
    cautions: list[str] = []
    if baseline is None:
        cautions.append("no baseline score: response cannot be judged; record the primary instrument first")
    if patient_stopped:
        fired.append(FiredRule("stop.patient_choice", "the patient chose to stop", "clinic-default"))
        return Proposal("stop", None, None, response, change, tuple(fired), note, tuple(cautions))
    step = float(rules["escalation"]["step_mg_per_kg"])
    step_source = (
        rules["escalation"]["steps_source"] if limits.steps_mg_per_kg else rules["escalation"]["step_source"]
    )
    dose = min(last.dose_mg_per_kg, limits.hard_max_mg_per_kg)
    interval, spacing = _spaced_interval(history, baseline, limits, rules)
    bad = _intolerable(last, rules["tolerability"])
    if bad:
        fired += bad
        lower = min(_step_down(dose, limits, step), dose)  # never up, even from below the protocol's minimum
        kind: Kind = "reduce" if lower < dose else "review"
        fired.append(
            FiredRule(
                "tolerability.no_escalation",
                "after an intolerable session the dose is not raised"
                + (
                    f"; one step down to {lower:g} mg/kg"
                    if kind == "reduce"
                    else "; already at the lowest dose: review whether to continue"
                ),
                step_source,
            )
        )
        return Proposal(kind, lower, interval, response, change, tuple(fired), note, tuple(cautions))
    if response == "response":
        fired.append(
            FiredRule(
                "response.hold",
                f"response ({-(change or 0.0):.0f} % fewer symptoms, at least "
                f"{r['response_pct']:.0f} %): keep the dose that worked",
                r["response_source"],
            )
        )
        if spacing:
            fired.append(spacing)
        return Proposal("hold", dose, interval, response, change, tuple(fired), note, tuple(cautions))
    st = rules["stopping"]
    at_top = [s for s in history if _at_top(s.dose_mg_per_kg, limits)]
    no_resp = [s for s in history if _response(baseline, s, r)[0] in ("none", "unknown")]
    if len(at_top) >= int(st["sessions_at_top_without_response"]) and response != "partial":
        fired.append(
            FiredRule(
                "stop.no_response_at_top",
                f"no response after {len(at_top)} sessions at the "
                f"highest dose allowed ({limits.hard_max_mg_per_kg:g} mg/kg)",
                st["top_source"],
            )
        )
        return Proposal("stop", None, None, response, change, tuple(fired), note, tuple(cautions))
    if len(history) >= int(st["sessions_without_response"]) and len(no_resp) == len(history):
        fired.append(
            FiredRule(
                "review.course",
                f"no response after {len(history)} sessions: review the course "
                "(diagnosis, adherence, other treatments)",
                st["course_source"],
            )
        )
        return Proposal("review", dose, interval, response, change, tuple(fired), note, tuple(cautions))
    if response == "unknown":
        fired.append(
            FiredRule(
                "hold.unknown", "response cannot be judged without scores: keep the dose", "clinic-default"
            )
        )
        return Proposal("hold", dose, interval, response, change, tuple(fired), note, tuple(cautions))
    if _at_top(dose, limits):
        fired.append(
            FiredRule(
                "hold.at_top",
                f"already at the highest dose allowed ({limits.hard_max_mg_per_kg:g} mg/kg): keep it",
                step_source,
            )
        )
        return Proposal("hold", dose, interval, response, change, tuple(fired), note, tuple(cautions))
    up = _step_up(dose, limits, step)
    fired.append(
        FiredRule(
            "escalate.not_responding",
            f"{'partial' if response == 'partial' else 'no'} response "
            f"and tolerated: one step up to {up:g} mg/kg",
            step_source,
        )
    )
    return Proposal(
        "escalate", up, limits.interval_days, response, change, tuple(fired), note, tuple(cautions)
    )
