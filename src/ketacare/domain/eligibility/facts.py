"""A patient's screening facts for ketamine eligibility, and a strict parser from the JSON facts document.

The document is described by `facts.schema.json` beside this module. `None` for a whole section means
"not recorded" (it becomes a missing fact); an empty list means "reviewed, none".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from ketacare.domain.eligibility.tables import code_system_key, instrument_maxima
from ketacare.domain.errors import InvalidValue

Sex = Literal["female", "male", "intersex"]
Adherence = Literal["good", "partial", "poor", "unknown"]
Outcome = Literal[
    "non_response", "partial_response", "response", "remission", "intolerance", "stopped_early", "unknown"
]
SubstanceStatus = Literal["none", "past", "in_remission", "active_use", "active_disorder"]
TrialKind = Literal["medication", "psychotherapy"]

SEXES: tuple[str, ...] = ("female", "male", "intersex")
ADHERENCE: tuple[str, ...] = ("good", "partial", "poor", "unknown")
OUTCOMES: tuple[str, ...] = (
    "non_response",
    "partial_response",
    "response",
    "remission",
    "intolerance",
    "stopped_early",
    "unknown",
)
SUBSTANCE_STATUSES: tuple[str, ...] = ("none", "past", "in_remission", "active_use", "active_disorder")
TRIAL_KINDS: tuple[str, ...] = ("medication", "psychotherapy")
SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Diagnosis:
    """A diagnosis code in ICD-10 (e.g. "F41.1") or ICD-11 (e.g. "6B00"); `system` says which."""

    code: str
    system: str = "ICD-10"
    label: str | None = None


@dataclass(frozen=True)
class Condition:
    """A screening condition from the eligibility vocabulary (conditions.toml), with an optional date."""

    code: str
    date: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class BloodPressure:
    """Resting blood pressure at screening, mmHg, with the date it was measured."""

    systolic_mmhg: float
    diastolic_mmhg: float
    date: date


@dataclass(frozen=True)
class HeartRate:
    """Resting heart rate at screening, beats per minute, with its date."""

    bpm: float
    date: date


@dataclass(frozen=True)
class Medication:
    """A current medication by name with its total daily dose in mg (None = dose not recorded)."""

    name: str
    dose_mg_per_day: float | None = None
    as_needed: bool = False


@dataclass(frozen=True)
class Allergy:
    """A recorded allergy or hypersensitivity."""

    substance: str
    reaction: str | None = None


@dataclass(frozen=True)
class SubstanceUse:
    """Use of one substance and its current status."""

    substance: str
    status: str


@dataclass(frozen=True)
class PriorTrial:
    """A past trial: a medication (drug, mg/day, weeks) or a psychotherapy (type, sessions, weeks)."""

    kind: str
    drug: str | None = None
    therapy: str | None = None
    dose_mg_per_day: float | None = None
    weeks: float | None = None
    sessions: int | None = None
    adherence: str = "unknown"
    outcome: str = "unknown"
    reduction_pct: float | None = None
    reason_stopped: str | None = None


@dataclass(frozen=True)
class SeverityScore:
    """A total score on a named instrument (id lower-case without separators, e.g. "gad7") on a date."""

    instrument: str
    total: float
    date: date


@dataclass(frozen=True)
class ScreeningFacts:
    """Everything the eligibility core looks at for one patient on one screening date."""

    screening_date: date
    age_years: int | None = None
    sex: str | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    diagnoses: tuple[Diagnosis, ...] | None = None
    conditions: tuple[Condition, ...] | None = None
    blood_pressure: BloodPressure | None = None
    heart_rate: HeartRate | None = None
    medications: tuple[Medication, ...] | None = None
    allergies: tuple[Allergy, ...] | None = None
    substance_use: tuple[SubstanceUse, ...] | None = None
    prior_trials: tuple[PriorTrial, ...] | None = None
    severity_scores: tuple[SeverityScore, ...] | None = None


TOP_LEVEL_KEYS: frozenset[str] = frozenset(
    {
        "schema_version",
        "screening_date",
        "age_years",
        "sex",
        "pregnant",
        "breastfeeding",
        "diagnoses",
        "conditions",
        "blood_pressure",
        "heart_rate",
        "medications",
        "allergies",
        "substance_use",
        "prior_trials",
        "severity_scores",
        "notes",
    }
)
_DOSE_UNITS_TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "ug": 0.001, "µg": 0.001}


def normalise_instrument(name: str) -> str:
    """Return an instrument id lower-case without separators ("GAD-7" -> "gad7")."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


# --- small typed readers; each names the field it refuses -----------------------------------------


def _check_keys(d: dict[str, Any], allowed: set[str] | frozenset[str], path: str) -> None:
    for key in d:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise InvalidValue(
                where, f"unknown field '{key}' (check the spelling; allowed: {', '.join(sorted(allowed))})"
            )


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(path, "must be an object")
    return value


def _list(value: Any, path: str) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidValue(path, "must be a list (use [] for 'reviewed, none')")
    return value


def _number(value: Any, path: str, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(path, f"must be a number in {unit}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not lo <= number <= hi:
        raise InvalidValue(path, f"{value!r} {unit} is outside the plausible range {lo:g}-{hi:g} {unit}")
    return number


def _opt_number(value: Any, path: str, lo: float, hi: float, unit: str) -> float | None:
    return None if value is None else _number(value, path, lo, hi, unit)


def _int(value: Any, path: str, lo: int, hi: int, unit: str) -> int:
    number = _number(value, path, lo, hi, unit)
    if number != int(number):
        raise InvalidValue(path, f"must be a whole number of {unit}, got {value!r}")
    return int(number)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(path, "must be non-empty text")
    return value.strip()


def _opt_text(value: Any, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _bool(value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidValue(path, f"must be true, false or null (unknown), got {value!r}")


def _choice(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise InvalidValue(path, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value.strip().lower()


def _date(value: Any, path: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, str):
        raise InvalidValue(path, f"must be a date written YYYY-MM-DD, got {value!r}")
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise InvalidValue(path, f"'{text}' is not a date written YYYY-MM-DD") from None


def _not_after(d: date, screening: date, path: str) -> date:
    if d > screening:
        raise InvalidValue(path, f"{d.isoformat()} is after the screening date {screening.isoformat()}")
    return d


# --- sections -------------------------------------------------------------------------------------


def _diagnoses(raw: Any, path: str) -> tuple[Diagnosis, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if isinstance(item, str):
            item = {"code": item}
        item = _obj(item, p)
        _check_keys(item, {"code", "system", "label"}, p)
        code = _text(item.get("code"), f"{p}.code").upper().replace(" ", "")
        system = _text(item.get("system", "ICD-10"), f"{p}.system").upper()
        if code_system_key(system) is None:
            raise InvalidValue(f"{p}.system", f"'{system}' is not a code system Ketacare reads: use ICD-10 or ICD-11")
        out.append(Diagnosis(code=code, system=system, label=_opt_text(item.get("label"), f"{p}.label")))
    return tuple(out)


def _conditions(raw: Any, path: str, screening: date) -> tuple[Condition, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if isinstance(item, str):
            item = {"code": item}
        item = _obj(item, p)
        _check_keys(item, {"code", "date", "note"}, p)
        code = _text(item.get("code"), f"{p}.code").lower().replace(" ", "_").replace("-", "_")
        when = item.get("date")
        dated = None if when is None else _not_after(_date(when, f"{p}.date"), screening, f"{p}.date")
        out.append(Condition(code=code, date=dated, note=_opt_text(item.get("note"), f"{p}.note")))
    return tuple(out)


def _blood_pressure(raw: Any, path: str, screening: date) -> BloodPressure | None:
    if raw is None:
        return None
    d = _obj(raw, path)
    _check_keys(d, {"systolic_mmhg", "diastolic_mmhg", "date"}, path)
    systolic = _number(d.get("systolic_mmhg"), f"{path}.systolic_mmhg", 50, 300, "mmHg")
    diastolic = _number(d.get("diastolic_mmhg"), f"{path}.diastolic_mmhg", 20, 200, "mmHg")
    if diastolic >= systolic:
        raise InvalidValue(
            f"{path}.diastolic_mmhg", f"diastolic {diastolic:g} is not below systolic {systolic:g}"
        )
    when = _not_after(_date(d.get("date"), f"{path}.date"), screening, f"{path}.date")
    return BloodPressure(systolic, diastolic, when)


def _heart_rate(raw: Any, path: str, screening: date) -> HeartRate | None:
    if raw is None:
        return None
    d = _obj(raw, path)
    _check_keys(d, {"bpm", "date"}, path)
    bpm = _number(d.get("bpm"), f"{path}.bpm", 20, 250, "bpm")
    return HeartRate(bpm, _not_after(_date(d.get("date"), f"{path}.date"), screening, f"{path}.date"))


def _medications(raw: Any, path: str) -> tuple[Medication, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        item = _obj(item, p)
        _check_keys(
            item, {"name", "dose_mg_per_day", "dose", "unit", "times_per_day", "as_needed", "route"}, p
        )
        name = _text(item.get("name"), f"{p}.name")
        dose = _opt_number(item.get("dose_mg_per_day"), f"{p}.dose_mg_per_day", 0, 100_000, "mg/day")
        if item.get("dose") is not None:
            if dose is not None:
                raise InvalidValue(
                    f"{p}.dose", "give either dose_mg_per_day or dose + unit + times_per_day, not both"
                )
            unit = _text(item.get("unit"), f"{p}.unit").lower()
            if unit not in _DOSE_UNITS_TO_MG:
                raise InvalidValue(f"{p}.unit", f"unknown dose unit '{unit}': use mg, g or mcg")
            each = _number(item.get("dose"), f"{p}.dose", 0, 100_000, unit)
            times = _number(item.get("times_per_day"), f"{p}.times_per_day", 0, 24, "times per day")
            dose = each * _DOSE_UNITS_TO_MG[unit] * times
        as_needed = _bool(item.get("as_needed", False), f"{p}.as_needed") or False
        _opt_text(item.get("route"), f"{p}.route")
        out.append(Medication(name=name, dose_mg_per_day=dose, as_needed=as_needed))
    return tuple(out)


def _allergies(raw: Any, path: str) -> tuple[Allergy, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if isinstance(item, str):
            item = {"substance": item}
        item = _obj(item, p)
        _check_keys(item, {"substance", "reaction"}, p)
        out.append(
            Allergy(
                _text(item.get("substance"), f"{p}.substance"),
                _opt_text(item.get("reaction"), f"{p}.reaction"),
            )
        )
    return tuple(out)


def _substance_use(raw: Any, path: str) -> tuple[SubstanceUse, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        item = _obj(item, p)
        _check_keys(item, {"substance", "status", "note"}, p)
        substance = _text(item.get("substance"), f"{p}.substance").lower()
        out.append(SubstanceUse(substance, _choice(item.get("status"), f"{p}.status", SUBSTANCE_STATUSES)))
    return tuple(out)


def _prior_trials(raw: Any, path: str) -> tuple[PriorTrial, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    allowed = {
        "kind",
        "drug",
        "therapy",
        "dose_mg_per_day",
        "weeks",
        "sessions",
        "adherence",
        "outcome",
        "reduction_pct",
        "reason_stopped",
        "note",
    }
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        item = _obj(item, p)
        _check_keys(item, allowed, p)
        kind = _choice(item.get("kind"), f"{p}.kind", TRIAL_KINDS)
        drug = therapy = None
        if kind == "medication":
            drug = _text(item.get("drug"), f"{p}.drug")
            if item.get("therapy") is not None:
                raise InvalidValue(f"{p}.therapy", "a medication trial has a drug, not a therapy")
        else:
            therapy = _text(item.get("therapy"), f"{p}.therapy").lower().replace(" ", "_").replace("-", "_")
            if item.get("drug") is not None:
                raise InvalidValue(f"{p}.drug", "a psychotherapy trial has a therapy, not a drug")
        sessions = item.get("sessions")
        out.append(
            PriorTrial(
                kind=kind,
                drug=drug,
                therapy=therapy,
                dose_mg_per_day=_opt_number(
                    item.get("dose_mg_per_day"), f"{p}.dose_mg_per_day", 0, 100_000, "mg/day"
                ),
                weeks=_opt_number(item.get("weeks"), f"{p}.weeks", 0, 1040, "weeks"),
                sessions=None if sessions is None else _int(sessions, f"{p}.sessions", 0, 1000, "sessions"),
                adherence=_choice(item.get("adherence", "unknown"), f"{p}.adherence", ADHERENCE),
                outcome=_choice(item.get("outcome", "unknown"), f"{p}.outcome", OUTCOMES),
                reduction_pct=_opt_number(item.get("reduction_pct"), f"{p}.reduction_pct", -1000, 100, "%"),
                reason_stopped=_opt_text(item.get("reason_stopped"), f"{p}.reason_stopped"),
            )
        )
    return tuple(out)


def _severity_scores(
    raw: Any, path: str, screening: date, ranges: dict[str, float]
) -> tuple[SeverityScore, ...] | None:
    items = _list(raw, path)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        item = _obj(item, p)
        _check_keys(item, {"instrument", "total", "date"}, p)
        instrument = normalise_instrument(_text(item.get("instrument"), f"{p}.instrument"))
        if not instrument:
            raise InvalidValue(f"{p}.instrument", "must name an instrument, e.g. GAD-7")
        top = ranges.get(instrument, 10_000)
        total = _number(item.get("total"), f"{p}.total", 0, top, "points")
        when = _not_after(_date(item.get("date"), f"{p}.date"), screening, f"{p}.date")
        out.append(SeverityScore(instrument, total, when))
    return tuple(out)


def facts_from_dict(d: Any) -> ScreeningFacts:
    """Parse a facts document (decoded JSON) into ScreeningFacts; raise InvalidValue naming the field."""
    d = _obj(d, "facts")
    _check_keys(d, TOP_LEVEL_KEYS, "")
    version = d.get("schema_version", SCHEMA_VERSION)
    if str(version) != SCHEMA_VERSION:
        raise InvalidValue(
            "schema_version", f"unsupported version {version!r}; this Ketacare reads version {SCHEMA_VERSION}"
        )
    if d.get("screening_date") is None:
        raise InvalidValue("screening_date", "is required (the date the facts were gathered, YYYY-MM-DD)")
    screening = _date(d["screening_date"], "screening_date")
    age = d.get("age_years")
    sex = d.get("sex")
    return ScreeningFacts(
        screening_date=screening,
        age_years=None if age is None else _int(age, "age_years", 0, 120, "years"),
        sex=None if sex is None or sex == "unknown" else _choice(sex, "sex", SEXES),
        pregnant=_bool(d.get("pregnant"), "pregnant"),
        breastfeeding=_bool(d.get("breastfeeding"), "breastfeeding"),
        diagnoses=_diagnoses(d.get("diagnoses"), "diagnoses"),
        conditions=_conditions(d.get("conditions"), "conditions", screening),
        blood_pressure=_blood_pressure(d.get("blood_pressure"), "blood_pressure", screening),
        heart_rate=_heart_rate(d.get("heart_rate"), "heart_rate", screening),
        medications=_medications(d.get("medications"), "medications"),
        allergies=_allergies(d.get("allergies"), "allergies"),
        substance_use=_substance_use(d.get("substance_use"), "substance_use"),
        prior_trials=_prior_trials(d.get("prior_trials"), "prior_trials"),
        severity_scores=_severity_scores(
            d.get("severity_scores"), "severity_scores", screening, instrument_maxima()
        ),
    )


def facts_to_dict(facts: ScreeningFacts) -> dict[str, Any]:
    """Return the facts as a JSON-ready document that `facts_from_dict` reads back unchanged (for storage)."""

    def day(d: date | None) -> str | None:
        return None if d is None else d.isoformat()

    def seq(items: tuple[Any, ...] | None, fn: Any) -> list[Any] | None:
        return None if items is None else [fn(x) for x in items]

    bp = facts.blood_pressure
    hr = facts.heart_rate
    return {
        "schema_version": SCHEMA_VERSION,
        "screening_date": facts.screening_date.isoformat(),
        "age_years": facts.age_years,
        "sex": facts.sex,
        "pregnant": facts.pregnant,
        "breastfeeding": facts.breastfeeding,
        "diagnoses": seq(facts.diagnoses, lambda x: {"code": x.code, "system": x.system, "label": x.label}),
        "conditions": seq(facts.conditions, lambda x: {"code": x.code, "date": day(x.date), "note": x.note}),
        "blood_pressure": None
        if bp is None
        else {
            "systolic_mmhg": bp.systolic_mmhg,
            "diastolic_mmhg": bp.diastolic_mmhg,
            "date": day(bp.date),
        },
        "heart_rate": None if hr is None else {"bpm": hr.bpm, "date": day(hr.date)},
        "medications": seq(
            facts.medications,
            lambda x: {
                "name": x.name,
                "dose_mg_per_day": x.dose_mg_per_day,
                "as_needed": x.as_needed,
            },
        ),
        "allergies": seq(facts.allergies, lambda x: {"substance": x.substance, "reaction": x.reaction}),
        "substance_use": seq(facts.substance_use, lambda x: {"substance": x.substance, "status": x.status}),
        "prior_trials": seq(
            facts.prior_trials,
            lambda x: {
                "kind": x.kind,
                "drug": x.drug,
                "therapy": x.therapy,
                "dose_mg_per_day": x.dose_mg_per_day,
                "weeks": x.weeks,
                "sessions": x.sessions,
                "adherence": x.adherence,
                "outcome": x.outcome,
                "reduction_pct": x.reduction_pct,
                "reason_stopped": x.reason_stopped,
            },
        ),
        "severity_scores": seq(
            facts.severity_scores,
            lambda x: {
                "instrument": x.instrument,
                "total": x.total,
                "date": day(x.date),
            },
        ),
    }
