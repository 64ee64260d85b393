"""Evaluate screening facts against the rule catalogue and decide eligibility; diff two evaluations.

Decision (monotone by construction): any `exclude` finding -> not_eligible; else any missing fact ->
insufficient_information; else any `caution` -> eligible_with_cautions; else eligible. Every check only adds
findings when a fact is present or a value crosses a threshold upward, so adding a contraindication
can only add findings and can never raise the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ketacare.domain.eligibility import tables
from ketacare.domain.eligibility.facts import ScreeningFacts, facts_to_dict
from ketacare.domain.eligibility.model import (
    SEVERITY_ORDER,
    EligibilitySettings,
    Evaluation,
    Finding,
    MissingFact,
    TreatmentResistance,
)
from ketacare.domain.eligibility.resistance import assess_treatment_resistance, missing, rule_set_config
from ketacare.domain.eligibility.tables import SEVERITIES, Rule
from ketacare.domain.errors import InvalidValue

Hit = tuple[str, dict[str, Any]]  # (subject, values for the message template)


@dataclass(frozen=True)
class _Context:
    facts: ScreeningFacts
    tr: TreatmentResistance
    conditions: dict[str, list[tuple[str, Any]]]  # condition code -> [(origin text, date or None)]
    meds: tuple[tuple[int, str, tuple[str, ...], float | None], ...]  # (index, generic, classes, mg/day)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _condition_hits(facts: ScreeningFacts) -> dict[str, list[tuple[str, Any]]]:
    hits: dict[str, list[tuple[str, Any]]] = {}
    for c in facts.conditions or ():
        hits.setdefault(c.code, []).append(("recorded condition", c.date))
    for d in facts.diagnoses or ():
        for code in tables.conditions_for_code(d.code, d.system):
            hits.setdefault(code, []).append((f"diagnosis {d.code}", None))
    return hits


def _context(facts: ScreeningFacts, tr: TreatmentResistance) -> _Context:
    meds = tuple(
        (i, g, tables.drug_classes(g), m.dose_mg_per_day)
        for i, m in enumerate(facts.medications or ())
        for g in [tables.generic_name(m.name)]
    )
    return _Context(facts, tr, _condition_hits(facts), meds)


# --- checks by kind: each yields (subject, values) ------------------------------------------------


def _check_condition(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    labels = tables.condition_labels()
    for code in p["conditions"]:
        if code in ctx.conditions:
            origins = "; ".join(sorted({o for o, _ in ctx.conditions[code]}))
            yield f"condition:{code}", {"condition": labels.get(code, code), "origin": origins}


def _check_condition_recent(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    labels = tables.condition_labels()
    window = int(p["window_days"])
    for code in p["conditions"]:
        entries = ctx.conditions.get(code, [])
        if not entries:
            continue
        undated = [o for o, d in entries if d is None]
        dated = [(o, (ctx.facts.screening_date - d).days) for o, d in entries if d is not None]
        recent = [(o, days) for o, days in dated if days <= window]
        if undated:
            when = f"has no date recorded and is treated as recent (window {window} days)"
            origin = "; ".join(sorted(set(undated)))
        elif recent:
            origin, days = min(recent, key=lambda x: x[1])
            when = f"was {days} days before screening (window {window} days)"
        else:
            continue
        yield f"condition:{code}", {"condition": labels.get(code, code), "origin": origin, "when": when}


def _check_allergy(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    for i, a in enumerate(ctx.facts.allergies or ()):
        name = tables.substance_name(a.substance)
        generic = tables.generic_name(a.substance)
        hit = next((s for s in p["substances"] if s in (name, generic) or s in a.substance.lower()), None)
        if hit:
            reaction = f" ({a.reaction})" if a.reaction else ""
            yield f"allergies[{i}]", {"substance": a.substance, "reaction": reaction}


def _check_bp(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    bp = ctx.facts.blood_pressure
    if bp and (bp.systolic_mmhg > p["systolic_gt"] or bp.diastolic_mmhg > p["diastolic_gt"]):
        yield (
            "blood_pressure",
            {
                "systolic": _fmt(bp.systolic_mmhg),
                "diastolic": _fmt(bp.diastolic_mmhg),
                "date": bp.date.isoformat(),
                "limit": f"{_fmt(p['systolic_gt'])}/{_fmt(p['diastolic_gt'])}",
            },
        )


def _check_hr(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    hr = ctx.facts.heart_rate
    if hr and hr.bpm > p["bpm_gt"]:
        yield "heart_rate", {"bpm": _fmt(hr.bpm), "date": hr.date.isoformat(), "limit": _fmt(p["bpm_gt"])}


def _check_age_below(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    age = ctx.facts.age_years
    if age is not None and age < p["years_lt"]:
        yield "age_years", {"age": age, "limit": p["years_lt"]}


def _check_age_at_least(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    age = ctx.facts.age_years
    if age is not None and age >= p["years_ge"]:
        yield "age_years", {"age": age, "limit": p["years_ge"]}


def _check_pregnancy(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    origins = ["pregnant = true"] if ctx.facts.pregnant else []
    origins += [o for o, _ in ctx.conditions.get("pregnancy", [])]
    if origins:
        yield "pregnancy", {"origin": "; ".join(origins)}


def _check_breastfeeding(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    if ctx.facts.breastfeeding:
        yield "breastfeeding", {}


def _status_text(status: str) -> str:
    return status.replace("_", " ")


def _check_substance(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    wanted = set(p["substances"])
    overrides = p.get("status_overrides", {})
    for i, s in enumerate(ctx.facts.substance_use or ()):
        name = tables.substance_name(s.substance)
        if "*" not in wanted and name not in wanted:
            continue
        if s.status in overrides.get(name, p["statuses"]):
            yield f"substance_use[{i}]", {"substance": s.substance, "status": _status_text(s.status)}
    labels = tables.condition_labels()
    for code in p.get("conditions", ()):
        if code in ctx.conditions:
            origins = "; ".join(sorted({o for o, _ in ctx.conditions[code]}))
            yield f"condition:{code}", {"substance": labels.get(code, code), "status": origins}


def _dose_text(dose: float | None) -> str:
    return "" if dose is None else f" {_fmt(dose)} mg/day"


def _check_medication_class(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    for i, generic, classes, dose in ctx.meds:
        matched = [c for c in p["classes"] if c in classes]
        if matched:
            yield (
                f"medications[{i}]",
                {
                    "drug": generic,
                    "dose": _dose_text(dose),
                    "drug_class": ", ".join(tables.class_label(c) for c in matched),
                },
            )


def _check_unrecognised(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    listed = ctx.facts.medications or ()
    for i, generic, _classes, _dose in ctx.meds:
        if not tables.is_known_drug(generic):
            yield f"medications[{i}]", {"drug": listed[i].name}


def _check_benzodiazepine(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    threshold = float(p["threshold_mg_per_day"])
    parts: list[str] = []
    total = 0.0
    complete = True
    found = False
    for _i, generic, classes, dose in ctx.meds:
        if "benzodiazepine" not in classes:
            continue
        found = True
        eq = tables.diazepam_equivalent(generic)
        if dose is None:
            complete = False
            parts.append(f"{generic}: dose not recorded")
        elif eq is None:
            complete = False
            parts.append(f"{generic} {_fmt(dose)} mg/day: no diazepam equivalent in the table")
        else:
            de = dose * 10.0 / eq.mg_per_10mg_diazepam
            total += de
            parts.append(
                f"{generic} {_fmt(dose)} mg/day = {de:.1f} mg/day diazepam-equivalents "
                f"({_fmt(eq.mg_per_10mg_diazepam)} mg ~ 10 mg diazepam)"
            )
    if not found:
        return
    if complete:
        shown, comparison = f"{total:.1f}", ("above" if total > threshold else "at or below")
    else:
        shown = f"at least {total:.1f}" if total > 0 else "unknown"
        comparison = "above" if total > threshold else "not comparable with"
    yield (
        "medications:benzodiazepines",
        {
            "detail": "; ".join(parts),
            "total": shown,
            "total_mg_per_day": round(total, 3),
            "complete": complete,
            "comparison": comparison,
            "threshold": _fmt(threshold),
        },
    )


def _check_scope(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    dx = ctx.facts.diagnoses
    if not dx:
        return  # missing, not out of scope
    cptsd = bool(p.get("include_complex_ptsd", False))
    if not any(tables.in_scope(d.code, d.system, include_complex_ptsd=cptsd) for d in dx):
        yield "diagnoses", {"recorded": ", ".join(f"{d.code} ({d.system})" for d in dx)}


def _check_panic(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    for d in ctx.facts.diagnoses or ():
        if tables.code_matches(d.code, d.system, p):
            yield f"diagnosis:{d.code}", {"code": d.code}
            return


def _check_tr_not_met(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    if ctx.tr.status == "not_met":
        yield "treatment_resistance", {"rule_set": ctx.tr.rule_set_label, "reason": ctx.tr.reason}


def _check_tr_pseudo(ctx: _Context, p: dict[str, Any]) -> Iterator[Hit]:
    for t in ctx.tr.trials:
        details = [d for r, d in t.reasons if r == p["reason"]]
        if details:
            trial = f"Trial {t.index + 1} ({t.name})"
            yield f"prior_trials[{t.index}]", {"trial": trial, "detail": "; ".join(details)}


CHECKS: dict[str, Callable[[_Context, dict[str, Any]], Iterator[Hit]]] = {
    "condition": _check_condition,
    "condition_recent": _check_condition_recent,
    "allergy": _check_allergy,
    "bp": _check_bp,
    "hr": _check_hr,
    "age_below": _check_age_below,
    "age_at_least": _check_age_at_least,
    "pregnancy": _check_pregnancy,
    "breastfeeding": _check_breastfeeding,
    "substance": _check_substance,
    "medication_class": _check_medication_class,
    "unrecognised_medication": _check_unrecognised,
    "benzodiazepine": _check_benzodiazepine,
    "scope_diagnosis": _check_scope,
    "panic": _check_panic,
    "tr_not_met": _check_tr_not_met,
    "tr_pseudo": _check_tr_pseudo,
}


# --- missing facts --------------------------------------------------------------------------------


def _missing_facts(facts: ScreeningFacts, ctx: _Context, vitals_max_age_days: int) -> list[MissingFact]:
    out = _missing_history(facts)
    out += _missing_or_stale_vitals(facts, vitals_max_age_days)
    for i, generic, classes, dose in ctx.meds:
        if "benzodiazepine" in classes and dose is None:
            out.append(
                missing(
                    f"medications[{i}].dose_mg_per_day",
                    "medication_dose",
                    f"needed to compute diazepam-equivalents for {generic}",
                )
            )
    out.extend(ctx.tr.missing)
    return out


def _missing_history(facts: ScreeningFacts) -> list[MissingFact]:
    """Return the unanswered demographic and history facts (pregnancy questions unless the patient is male)."""
    out: list[MissingFact] = []
    if facts.age_years is None:
        out.append(missing("age_years", "age_years"))
    if facts.sex != "male":
        if facts.pregnant is None:
            out.append(missing("pregnant", "pregnant"))
        if facts.breastfeeding is None:
            out.append(missing("breastfeeding", "breastfeeding"))
    if not facts.diagnoses:
        out.append(missing("diagnoses", "diagnoses"))
    for key in ("conditions", "medications", "allergies", "substance_use"):
        if getattr(facts, key) is None:
            out.append(missing(key, key))
    return out


def _missing_or_stale_vitals(facts: ScreeningFacts, vitals_max_age_days: int) -> list[MissingFact]:
    """Return blood pressure and heart rate when not recorded or recorded too long before screening."""
    out: list[MissingFact] = []
    for key, measured in (("blood_pressure", facts.blood_pressure), ("heart_rate", facts.heart_rate)):
        if measured is None:
            out.append(missing(key, key))
            continue
        age = (facts.screening_date - measured.date).days
        if age > vitals_max_age_days:
            out.append(
                missing(
                    key,
                    key,
                    f"last recorded {measured.date.isoformat()}, "
                    f"{age} days before screening (limit {vitals_max_age_days} days)",
                )
            )
    return out


# --- evaluation -----------------------------------------------------------------------------------


def _resolve(settings: EligibilitySettings | None) -> tuple[EligibilitySettings, str, int, int]:
    s = settings or EligibilitySettings()
    defaults = tables.settings_defaults()
    rule_set = s.rule_set or defaults["rule_set"]
    rule_set_config(rule_set)
    known = {r.id for r in tables.rules()}
    for rid, sev in s.severity_overrides.items():
        if rid not in known:
            _unknown_rule(rid, "severity_overrides")
        if sev not in SEVERITIES:
            raise InvalidValue(f"severity_overrides.{rid}", f"must be one of {', '.join(SEVERITIES)}")
    for rid in s.params:
        if rid not in known:
            _unknown_rule(rid, "params")
    vitals = (
        s.vitals_max_age_days
        if s.vitals_max_age_days is not None
        else defaults["vitals_max_age_days"]["value"]
    )
    scores = (
        s.score_max_age_days if s.score_max_age_days is not None else defaults["score_max_age_days"]["value"]
    )
    return s, rule_set, int(vitals), int(scores)


def _unknown_rule(rid: str, where: str) -> None:
    raise InvalidValue(f"{where}.{rid}", f"unknown rule id '{rid}'")


def _format(template: str, values: dict[str, Any]) -> str:
    return template.format(**values)


def evaluate(facts: ScreeningFacts, settings: EligibilitySettings | None = None) -> Evaluation:
    """Evaluate screening facts under the clinic's settings; return the decision with its reasons."""
    s, rule_set, vitals_age, score_age = _resolve(settings)
    tr = assess_treatment_resistance(facts, rule_set, score_age)
    ctx = _context(facts, tr)
    fired: list[tuple[Rule, str, Finding]] = []
    for r in tables.rules():
        params = {**r.params, **s.params.get(r.id, {})}
        severity = s.severity_overrides.get(r.id, r.severity)
        for subject, values in CHECKS[r.kind](ctx, params):
            fired.append(
                (
                    r,
                    subject,
                    Finding(
                        rule_id=r.id,
                        severity=severity,
                        message=_format(r.message, values),
                        action=r.action,
                        source=r.source,
                        verified=r.verified,
                        subject=subject,
                        values=values,
                    ),
                )
            )
    present = {(f.rule_id, f.subject) for _, _, f in fired}
    findings = [f for r, subject, f in fired if not any((sup, subject) in present for sup in r.suppressed_by)]
    order = {r.id: n for n, r in enumerate(tables.rules())}
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], order[f.rule_id], f.subject))
    missing_facts = _missing_facts(facts, ctx, vitals_age)
    return Evaluation(
        decision=decide(findings, missing_facts),
        findings=tuple(findings),
        missing=tuple(missing_facts),
        treatment_resistance=tr,
        rule_set=rule_set,
        catalogue_version=tables.catalogue_version(),
        tables_version=tables.tr_version(),
        screening_date=facts.screening_date.isoformat(),
        settings={
            **s.to_dict(),
            "rule_set": rule_set,
            "vitals_max_age_days": vitals_age,
            "score_max_age_days": score_age,
        },
        facts=facts_to_dict(facts),
    )


def decide(
    findings: list[Finding] | tuple[Finding, ...], missing_facts: list[MissingFact] | tuple[MissingFact, ...]
) -> str:
    """Return the decision from findings and missing facts (exclude > missing > caution > eligible)."""
    severities = {f.severity for f in findings}
    if "exclude" in severities:
        return "not_eligible"
    if missing_facts:
        return "insufficient_information"
    if "caution" in severities:
        return "eligible_with_cautions"
    return "eligible"
