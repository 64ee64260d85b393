"""Relapse after response, as data (`data/relapse.toml`, clinic defaults labelled UNVERIFIED): from the baseline
and the later scores of the primary instrument (lower is better), say whether a response held, is weakening or
was lost, and propose the action (booster, review, re-induction) with the rules that fired and their sources."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.plans.titration import FiredRule

State = Literal["unknown", "not-yet-responded", "holding", "weakening", "relapse"]
Action = Literal["none", "booster", "review", "re-induction"]


@dataclass(frozen=True)
class RelapseCheck:
    """Whether a response holds, and what the prescriber is asked to consider."""

    state: State
    action: Action
    action_text: str
    best_change_pct: float | None  # the largest fall from baseline so far (negative = fewer symptoms)
    latest_change_pct: float | None
    rules: tuple[FiredRule, ...]
    note: str

    @property
    def flagged(self) -> bool:
        """Return True when the prescriber should act (weakening or relapse)."""
        return self.state in ("weakening", "relapse")


@cache
def relapse_rules() -> dict[str, Any]:
    """Return the relapse thresholds and actions (with sources) from `data/relapse.toml`."""
    return load_toml("ketacare.domain.plans.data", "relapse.toml")


def _pct(baseline: float, score: float) -> float:
    return (score - baseline) / baseline * 100.0


def check_relapse(
    baseline: float | None, scores: list[float], days_since_last_session: float | None
) -> RelapseCheck:
    """Judge the response over `scores` (primary instrument totals after baseline, oldest first)."""
    r = relapse_rules()
    note = str(r["note"])
    if baseline is None or baseline <= 0 or not scores:
        return RelapseCheck("unknown", "none", "", None, None, (), note)
    changes = [_pct(baseline, x) for x in scores]
    resp = float(r["response"]["response_pct"])
    first = next((i for i, c in enumerate(changes) if -c >= resp), None)
    latest = changes[-1]
    best = min(changes)
    if first is None:
        return RelapseCheck("not-yet-responded", "none", "", best, latest, (), note)
    responded = FiredRule(
        "relapse.responded",
        f"the primary score fell {-changes[first]:.0f} % below baseline (a response: at least {resp:.0f} %)",
        r["response"]["source"],
    )
    w = r["weakening"]
    floor = float(w["min_reduction_pct"])
    after = changes[first + 1 :]
    n = int(r["relapse"]["confirm_assessments"])
    tail = after[-n:]
    if len(tail) == n and all(-c < floor for c in tail):
        rel = r["relapse"]
        lost = FiredRule(
            "relapse.lost_response",
            f"the last {n} scores are less than {floor:.0f} % below baseline after a response",
            rel["source"],
        )
        within = float(rel["in_course"]["within_days"])
        part = (
            rel["in_course"]
            if days_since_last_session is not None and days_since_last_session <= within
            else (rel["after_course"])
        )
        when = FiredRule(
            "relapse.in_course" if part is rel["in_course"] else "relapse.after_course",
            f"the last session was {days_since_last_session:.0f} days ago"
            + (
                f" (at most {within:.0f}: during the course)"
                if part is rel["in_course"]
                else f" (more than {within:.0f})"
            )
            if days_since_last_session is not None
            else "no session is recorded",
            part["action_source"],
        )
        return RelapseCheck(
            "relapse", part["action"], str(part["action_text"]), best, latest, (responded, lost, when), note
        )
    if after and -latest < resp:
        weak = FiredRule(
            "relapse.weakening",
            f"the latest score is {-latest:.0f} % below baseline: less than the {resp:.0f} % of a response",
            w["source"],
        )
        return RelapseCheck(
            "weakening", w["action"], str(w["action_text"]), best, latest, (responded, weak), note
        )
    return RelapseCheck("holding", "none", "", best, latest, (responded,), note)
