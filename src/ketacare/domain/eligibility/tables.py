"""Typed access to the eligibility data files (rules, conditions, drugs, treatment-resistance tables)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml

Severity = Literal["exclude", "caution", "info"]
SEVERITIES: tuple[str, ...] = ("exclude", "caution", "info")
_PKG = "ketacare.domain.eligibility.data"


def _data(name: str) -> dict[str, Any]:
    return load_toml(_PKG, name)


@dataclass(frozen=True)
class Rule:
    """One catalogue rule: a stable id, a plain statement, its inputs, severity, action and source."""

    id: str
    statement: str
    kind: str
    inputs: tuple[str, ...]
    severity: str
    message: str
    action: str
    source: str
    verified: bool
    params: dict[str, Any]
    suppressed_by: tuple[str, ...] = ()
    note: str | None = None


@cache
def rules() -> tuple[Rule, ...]:
    """Return the rule catalogue in file order."""
    out = []
    for r in _data("rules.toml")["rule"]:
        out.append(
            Rule(
                id=r["id"],
                statement=r["statement"],
                kind=r["kind"],
                inputs=tuple(r["inputs"]),
                severity=r["severity"],
                message=r["message"],
                action=r["action"],
                source=r["source"],
                verified=bool(r["verified"]),
                params=dict(r.get("params", {})),
                suppressed_by=tuple(r.get("suppressed_by", ())),
                note=r.get("note"),
            )
        )
    return tuple(out)


def catalogue_version() -> str:
    """Return the version string of the rule catalogue (stored with every evaluation)."""
    return str(_data("rules.toml")["version"])


def rule(rule_id: str) -> Rule:
    """Return the catalogue rule with this id (KeyError if unknown)."""
    for r in rules():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)


# --- conditions and diagnoses ---------------------------------------------------------------------


def condition_labels() -> dict[str, str]:
    """Return condition code -> label for the screening vocabulary."""
    return {code: c["label"] for code, c in _data("conditions.toml")["condition"].items()}


# Code systems a diagnosis may be recorded in, and the key of their mapping lists in conditions.toml.
CODE_SYSTEMS: dict[str, str] = {"ICD-10": "icd10", "ICD-10-CM": "icd10", "ICD-11": "icd11", "ICD-11-MMS": "icd11"}


def code_system_key(system: str) -> str | None:
    """Return "icd10" or "icd11" for a code-system name (case-insensitive), None when it is not one of them."""
    return CODE_SYSTEMS.get((system or "").strip().upper())


def _norm(code: str) -> str:
    return code.upper().replace(" ", "")


def _matches(code: str, prefixes: list[str], exceptions: list[str]) -> bool:
    return any(code.startswith(p) for p in prefixes) and not any(code.startswith(e) for e in exceptions)


def conditions_for_code(code: str, system: str = "ICD-10") -> list[str]:
    """Return the vocabulary conditions an ICD-10 or ICD-11 code implies (prefix match within its own system)."""
    key = code_system_key(system)
    if key is None:
        return []
    norm = _norm(code)
    return [
        name
        for name, c in _data("conditions.toml")["condition"].items()
        if _matches(norm, c.get(key, []), c.get(f"{key}_except", []))
    ]


def conditions_for_icd10(code: str) -> list[str]:
    """Return the vocabulary conditions an ICD-10 code implies (prefix match, mapping is Ketacare's own)."""
    return conditions_for_code(code, "ICD-10")


def scope_diagnoses(system: str = "ICD-10", *, include_complex_ptsd: bool = False) -> dict[str, str]:
    """Return the in-scope code prefixes -> label in one code system (GAD, SAD, panic disorder, PTSD)."""
    key = code_system_key(system)
    if key is None:
        return {}
    scope = _data("conditions.toml")["scope"]
    out = dict(scope[key])
    if include_complex_ptsd:
        out.update(scope.get("complex_ptsd", {}).get(key, {}))
    return out


def in_scope(code: str, system: str = "ICD-10", *, include_complex_ptsd: bool = False) -> bool:
    """Return whether a diagnosis code is one of the programme's disorders (ICD-10 or ICD-11)."""
    norm = _norm(code)
    return any(norm.startswith(p) for p in scope_diagnoses(system, include_complex_ptsd=include_complex_ptsd))


def code_matches(code: str, system: str, prefixes_by_system: dict[str, Any]) -> bool:
    """Return whether `code` starts with one of the prefixes listed for its own system ({"icd10": [...], ...})."""
    key = code_system_key(system)
    return key is not None and any(_norm(code).startswith(p) for p in prefixes_by_system.get(key, ()))


def substance_name(raw: str) -> str:
    """Return the canonical substance name for a typed one (lower-case, synonyms applied)."""
    key = " ".join(raw.lower().split())
    synonyms: dict[str, str] = _data("conditions.toml")["substance_synonyms"]
    return synonyms.get(key, key.replace(" ", "_"))


# --- medications ----------------------------------------------------------------------------------


def _meds() -> dict[str, Any]:
    return _data("medications.toml")


def generic_name(raw: str) -> str:
    """Return the generic drug name for a typed name: case-insensitive, salts/forms dropped, brands mapped."""
    text = raw.lower().replace("’", "'")
    text = re.sub(r"\d+(\.\d+)?\s*(mg|mcg|g|µg|ug)\b", " ", text)
    words = [w for w in re.split(r"[\s,/()]+", text) if w and w not in set(_meds()["strip_words"])]
    name = " ".join(words)
    synonyms: dict[str, str] = _meds()["synonyms"]
    if name in synonyms:
        return synonyms[name]
    if name.replace(" ", "_") in _meds()["drug"]:
        return name.replace(" ", "_")
    if words and words[0] in synonyms:
        return synonyms[words[0]]
    return words[0] if words and words[0] in _meds()["drug"] else name


def drug_classes(generic: str) -> tuple[str, ...]:
    """Return the interaction classes of a generic drug name (empty if the drug is not in the table)."""
    return tuple(_meds()["drug"].get(generic, ()))


def is_known_drug(generic: str) -> bool:
    """Return True if the generic name is in the drug table."""
    return generic in _meds()["drug"]


def class_label(cls: str) -> str:
    """Return the display label of a drug class."""
    labels: dict[str, str] = _meds()["class_labels"]
    return labels.get(cls, cls)


@dataclass(frozen=True)
class BzdEquivalent:
    """Oral dose (mg) approximately equivalent to 10 mg oral diazepam, with its source."""

    drug: str
    mg_per_10mg_diazepam: float
    source: str
    verified: bool


def diazepam_equivalent(generic: str) -> BzdEquivalent | None:
    """Return the diazepam-equivalence entry for a benzodiazepine, or None if the table has none."""
    table = _meds()["benzodiazepine_equivalents"]
    entry = table["drug"].get(generic)
    if entry is None:
        return None
    return BzdEquivalent(
        generic, float(entry["mg"]), str(entry["source"]), bool(entry["verified"])
    )


def diazepam_equivalent_mg_per_day(generic: str, dose_mg_per_day: float) -> float | None:
    """Convert a benzodiazepine dose (mg/day) to diazepam-equivalents (mg/day); None if not in the table."""
    eq = diazepam_equivalent(generic)
    return None if eq is None else dose_mg_per_day * 10.0 / eq.mg_per_10mg_diazepam


# --- treatment resistance -------------------------------------------------------------------------


def _tr() -> dict[str, Any]:
    return _data("treatment_resistance.toml")


@dataclass(frozen=True)
class DrugDose:
    """Minimum effective daily dose of a drug for an adequate trial, its guideline line and source."""

    drug: str
    min_mg_per_day: float
    line: str
    source: str
    verified: bool


def min_effective_dose(generic: str) -> DrugDose | None:
    """Return the minimum-effective-dose entry for a drug, or None if the table has none."""
    doses = _tr()["doses"]
    entry = doses["drug"].get(generic)
    if entry is None:
        return None
    return DrugDose(
        generic,
        float(entry["min_mg_per_day"]),
        entry["line"],
        str(entry["source"]),
        bool(entry["verified"]),
    )


def psychotherapy_types() -> dict[str, dict[str, Any]]:
    """Return psychotherapy type -> {label, min_sessions, cbt, evidence_based}."""
    return dict(_tr()["psychotherapy"]["type"])


def outcome_table() -> dict[str, Any]:
    """Return the trial-outcome table (which outcomes count as failure, adherence that counts)."""
    return dict(_tr()["outcome"])


def instruments() -> dict[str, dict[str, Any]]:
    """Return instrument id -> {label, max, threshold, source, verified}."""
    return dict(_tr()["instrument"])


def instrument_maxima() -> dict[str, float]:
    """Return instrument id -> highest possible total (for input checks)."""
    return {k: float(v["max"]) for k, v in instruments().items()}


def rule_sets() -> dict[str, dict[str, Any]]:
    """Return the selectable treatment-resistance definitions by id (bokma2019, delphi2024)."""
    return dict(_tr()["rule_set"])


def tr_version() -> str:
    """Return the version of the treatment-resistance tables."""
    return str(_tr()["version"])


# --- settings -------------------------------------------------------------------------------------


def settings_defaults() -> dict[str, Any]:
    """Return the shipped clinic defaults (rule set, vitals and score max age)."""
    return dict(_data("settings.toml")["defaults"])


def missing_prompt(key: str) -> dict[str, str]:
    """Return {label, where} for a missing fact key."""
    return dict(_data("settings.toml")["missing"][key])
