"""Treatment-resistance staging from prior trials and current severity (Bokma 2019 or Delphi 2024 rule set).

A failed trial counts only when it is adequate: a counted drug at or above its minimum effective daily dose
(mg/day) for at least the rule set's minimum weeks with good adherence, or a counted psychotherapy with
at least its minimum sessions (and weeks, where the rule set asks). Anything short of that is
pseudo-resistance and is reported, not counted.
Sources: Bokma 2019 [bokma2019]; Domschke 2024 [domschke2024]; pseudo-resistance [roybyrne2015].
"""

from __future__ import annotations

from typing import Any

from ketacare.domain.eligibility import tables
from ketacare.domain.eligibility.facts import PriorTrial, ScreeningFacts, SeverityScore
from ketacare.domain.eligibility.model import MissingFact, TreatmentResistance, TrialAssessment
from ketacare.domain.errors import InvalidValue


def missing(key: str, prompt: str, reason: str | None = None) -> MissingFact:
    """Return a MissingFact for `key` using the prompt wording in settings.toml."""
    p = tables.missing_prompt(prompt)
    return MissingFact(key=key, label=p["label"], where=p["where"], reason=reason)


def rule_set_config(rule_set: str) -> dict[str, Any]:
    """Return the configuration of a treatment-resistance rule set, refusing an unknown id."""
    sets = tables.rule_sets()
    if rule_set not in sets:
        raise InvalidValue("rule_set", f"unknown rule set '{rule_set}': use {' or '.join(sorted(sets))}")
    return sets[rule_set]


def _failed(trial: PriorTrial) -> bool | None:
    """Return True if the trial failed, False if it worked or is not assessable, None if unknown."""
    table = tables.outcome_table()
    if trial.outcome in table["failed"]:
        return True
    if trial.outcome in table["not_failed"] or trial.outcome in table["not_assessable"]:
        return False
    if trial.reduction_pct is not None:
        return trial.reduction_pct < float(table["non_response_max_reduction_pct"])
    return None


def _fmt(x: float) -> str:
    return f"{x:g}"


def _worked(t: PriorTrial) -> bool:
    return _failed(t) is False and t.outcome not in tables.outcome_table()["not_assessable"]


def _assess_medication(i: int, t: PriorTrial, cfg: dict[str, Any]) -> TrialAssessment:
    generic = tables.generic_name(t.drug or "")
    dose = tables.min_effective_dose(generic)
    name = generic if dose else (t.drug or "?")
    if _worked(t):
        return TrialAssessment(i, "medication", name, False)
    reasons: list[tuple[str, str]] = []
    pending: list[str] = []
    if dose is None:
        return TrialAssessment(
            i, "medication", name, False, (("not_counted", f"{name} is not in the minimum-dose table"),)
        )
    if dose.line not in cfg["counted_lines"]:
        return TrialAssessment(
            i,
            "medication",
            name,
            False,
            (
                (
                    "not_counted",
                    f"{name} is not a {'/'.join(cfg['counted_lines'])}-line drug under {cfg['label']}",
                ),
            ),
        )
    if t.dose_mg_per_day is None:
        pending.append(f"prior_trials[{i}].dose_mg_per_day")
    elif t.dose_mg_per_day < dose.min_mg_per_day:
        reasons.append(
            (
                "dose",
                f"{_fmt(t.dose_mg_per_day)} mg/day is below the minimum effective "
                f"{_fmt(dose.min_mg_per_day)} mg/day",
            )
        )
    min_weeks = float(cfg["pharm_min_weeks"])
    if t.weeks is None:
        pending.append(f"prior_trials[{i}].weeks")
    elif t.weeks < min_weeks:
        reasons.append(
            ("duration", f"{_fmt(t.weeks)} weeks is shorter than the {_fmt(min_weeks)} weeks required")
        )
    return _finish(i, "medication", name, t, reasons, pending)


def _assess_psychotherapy(i: int, t: PriorTrial, cfg: dict[str, Any]) -> TrialAssessment:
    types = tables.psychotherapy_types()
    therapy = t.therapy or "?"
    entry = types.get(therapy)
    if _worked(t):
        return TrialAssessment(i, "psychotherapy", entry["label"] if entry else therapy, False)
    if entry is None:
        return TrialAssessment(
            i,
            "psychotherapy",
            therapy,
            False,
            (
                (
                    "not_counted",
                    f"psychotherapy type '{therapy}' is not in the table ({', '.join(sorted(types))})",
                ),
            ),
        )
    label = entry["label"]
    if not entry[cfg["psychotherapy_counts"]]:
        what = "CBT" if cfg["psychotherapy_counts"] == "cbt" else "an evidence-based psychological treatment"
        return TrialAssessment(
            i,
            "psychotherapy",
            label,
            False,
            (("not_counted", f"{label} does not count as {what} under {cfg['label']}"),),
        )
    reasons: list[tuple[str, str]] = []
    pending: list[str] = []
    if t.sessions is None:
        pending.append(f"prior_trials[{i}].sessions")
    elif t.sessions < int(entry["min_sessions"]):
        reasons.append(
            ("duration", f"{t.sessions} sessions is fewer than the {entry['min_sessions']} required")
        )
    min_weeks = float(cfg["psych_min_weeks"])
    if min_weeks > 0:
        if t.weeks is None:
            pending.append(f"prior_trials[{i}].weeks")
        elif t.weeks < min_weeks:
            reasons.append(
                ("duration", f"{_fmt(t.weeks)} weeks is shorter than the {_fmt(min_weeks)} weeks required")
            )
    return _finish(i, "psychotherapy", label, t, reasons, pending)


def _finish(
    i: int, kind: str, name: str, t: PriorTrial, reasons: list[tuple[str, str]], pending: list[str]
) -> TrialAssessment:
    adequate = tables.outcome_table()["adequate_adherence"]
    if t.adherence == "unknown":
        pending.append(f"prior_trials[{i}].adherence")
    elif t.adherence not in adequate:
        reasons.append(("adherence", f"adherence was {t.adherence}"))
    failed = _failed(t)
    if failed is None:
        pending.append(f"prior_trials[{i}].outcome")
    elif not failed:
        if t.outcome in tables.outcome_table()["not_assessable"]:
            return TrialAssessment(
                i,
                kind,
                name,
                False,
                (("not_counted", f"stopped ({t.outcome.replace('_', ' ')}): not a failed adequate trial"),),
            )
        return TrialAssessment(i, kind, name, False)  # it worked: nothing to flag
    if reasons:
        return TrialAssessment(i, kind, name, False, tuple(reasons))
    if pending:
        return TrialAssessment(i, kind, name, False, (), tuple(pending))
    return TrialAssessment(i, kind, name, True)


_PENDING_PROMPT = {
    "dose_mg_per_day": "trial_dose",
    "weeks": "trial_weeks",
    "sessions": "trial_sessions",
    "adherence": "trial_adherence",
    "outcome": "trial_outcome",
}


def _stage(cfg: dict[str, Any], pharm: int, psych: int) -> tuple[int, str]:
    best, label = 0, f"not treatment-resistant under {cfg['label']}"
    for s in cfg["stage"]:
        if any(pharm >= alt["pharm"] and psych >= alt["psych"] for alt in s["any_of"]) and s["stage"] > best:
            best, label = int(s["stage"]), s["label"]
    return best, label


def _latest_scores(scores: tuple[SeverityScore, ...]) -> dict[str, SeverityScore]:
    latest: dict[str, SeverityScore] = {}
    for s in scores:
        if s.instrument not in latest or s.date > latest[s.instrument].date:
            latest[s.instrument] = s
    return latest


def _severity(
    facts: ScreeningFacts, max_age_days: int
) -> tuple[tuple[dict[str, Any], ...], bool | None, str | None]:
    """Return (rows, met, stale-reason) for the current severity requirement."""
    known = tables.instruments()
    rows: list[dict[str, Any]] = []
    stale: list[str] = []
    for inst, s in sorted(_latest_scores(facts.severity_scores or ()).items()):
        if inst not in known:
            continue
        age = (facts.screening_date - s.date).days
        threshold = float(known[inst]["threshold"])
        row = {
            "instrument": inst,
            "label": known[inst]["label"],
            "total": s.total,
            "threshold": threshold,
            "date": s.date.isoformat(),
            "days_before_screening": age,
            "current": age <= max_age_days,
            "above_threshold": s.total >= threshold,
            "source": known[inst]["source"],
            "verified": bool(known[inst]["verified"]),
        }
        rows.append(row)
        if age > max_age_days:
            stale.append(f"{row['label']} dated {row['date']} is older than {max_age_days} days")
    current = [r for r in rows if r["current"]]
    if not current:
        return tuple(rows), None, "; ".join(stale) or None
    return tuple(rows), any(r["above_threshold"] for r in current), None


def assess_treatment_resistance(
    facts: ScreeningFacts, rule_set: str, score_max_age_days: int
) -> TreatmentResistance:
    """Stage treatment resistance from prior trials and current severity under `rule_set`."""
    cfg = rule_set_config(rule_set)
    label = cfg["label"]
    trials: list[TrialAssessment] = []
    for i, t in enumerate(facts.prior_trials or ()):
        trials.append(
            _assess_medication(i, t, cfg) if t.kind == "medication" else _assess_psychotherapy(i, t, cfg)
        )
    pharm = sum(1 for t in trials if t.counted and t.kind == "medication")
    psych = sum(1 for t in trials if t.counted and t.kind == "psychotherapy")
    opt_pharm = pharm + sum(1 for t in trials if t.pending and t.kind == "medication")
    opt_psych = psych + sum(1 for t in trials if t.pending and t.kind == "psychotherapy")
    stage, stage_label = _stage(cfg, pharm, psych)
    rows, severity_met, stale = _severity(facts, score_max_age_days)
    counts = (
        f"{pharm} failed adequate pharmacological and {psych} failed adequate psychological "
        f"trial{'s' if psych != 1 else ''}"
    )
    common = dict(
        rule_set=rule_set,
        rule_set_label=label,
        rule_set_version=str(cfg["version"]),
        failed_adequate_pharmacological=pharm,
        failed_adequate_psychological=psych,
        trials=tuple(trials),
        severity=rows,
        severity_met=severity_met,
    )
    if facts.prior_trials is None:
        return TreatmentResistance(
            status="undetermined",
            stage=None,
            stage_label="undetermined: prior trials not recorded",
            reason="prior treatment trials not recorded",
            missing=(missing("prior_trials", "prior_trials"),),
            **common,
        )
    if stage == 0:
        if _stage(cfg, opt_pharm, opt_psych)[0] > 0:
            pend = tuple(
                missing(
                    key,
                    _PENDING_PROMPT[key.rsplit(".", 1)[1]],
                    f"needed to judge trial {t.index + 1} ({t.name})",
                )
                for t in trials
                for key in t.pending
            )
            return TreatmentResistance(
                status="undetermined",
                stage=None,
                stage_label="undetermined: incomplete trial records",
                reason=f"{counts} so far; incomplete trial records could change this",
                missing=pend,
                **common,
            )
        needs = "; ".join(
            " or ".join(
                f">= {a['pharm']} pharmacological and >= {a['psych']} psychological" for a in s["any_of"]
            )
            for s in cfg["stage"]
            if s["stage"] == 1
        )
        return TreatmentResistance(
            status="not_met",
            stage=0,
            stage_label=stage_label,
            reason=f"{counts}; needs {needs}",
            **common,
        )
    if cfg["require_current_severity"]:
        if severity_met is None:
            return TreatmentResistance(
                status="undetermined",
                stage=None,
                stage_label="undetermined: no current severity score",
                reason=f"{counts}; no current severity score",
                missing=(missing("severity_scores", "severity_scores", stale),),
                **common,
            )
        if not severity_met:
            shown = ", ".join(
                f"{r['label']} {_fmt(r['total'])} < {_fmt(r['threshold'])} on {r['date']}"
                for r in rows
                if r["current"]
            )
            return TreatmentResistance(
                status="not_met",
                stage=0,
                stage_label=f"not treatment-resistant under {label}",
                reason=f"{counts}, but current severity is below threshold ({shown})",
                **common,
            )
    return TreatmentResistance(status="met", stage=stage, stage_label=stage_label, reason=counts, **common)
