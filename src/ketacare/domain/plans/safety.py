"""Safety over a course (pure domain): cumulative dose in rolling windows, PUF and misuse screening due logic,
pregnancy-test and urine-toxicology validity. Settings and sources: `data/safety.toml` (Hong Kong Med J 2012 for
the PUF threshold, the Spravato label for the esketamine ceiling; clinic defaults elsewhere).

Each check returns a `Check`: "ok", "due" (warning shown on the pre-checks, not blocking), "hold" (the session's
`course_safety_clear` or `pregnancy_test_negative` guard fails with the reason) or "not_required".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans.datacheck import check_source

Status = Literal["ok", "due", "hold", "not_required"]
PREGNANCY_RESULTS = ("negative", "positive")
TOX_RESULTS = ("negative", "positive", "expected")  # "expected": positive only for prescribed medicines


@dataclass(frozen=True)
class MisuseSign:
    id: str
    text: str
    source: str


@dataclass(frozen=True)
class SafetySettings:
    """The clinic's course-safety settings (days, mg, mg/kg; each with its source in `data/safety.toml`)."""

    pregnancy_valid_days: float
    pregnancy_methods: tuple[str, ...]
    tox_required: bool
    tox_valid_days: float
    tox_positive_holds: bool
    puf_no_abnormality_max: float
    puf_interval_days: float
    puf_overdue_holds: bool
    misuse_interval_days: float
    misuse_overdue_holds: bool
    misuse_sign_holds: bool
    misuse_signs: tuple[MisuseSign, ...]
    window_days: float
    racemic_warn_mg_per_kg: float
    racemic_hold_mg_per_kg: float
    esketamine_hold_mg: float
    sources: Mapping[str, str]


@dataclass(frozen=True)
class Check:
    """One course-safety line: what, its status, why in plain words, and the source of the rule."""

    id: str
    label: str
    status: Status
    reason: str
    source: str
    code: str = ""  # what made the status, for code that reads it: "not_recorded", "missing", "expired", ...


@dataclass(frozen=True)
class Applicability:
    """Whether pregnancy tests apply to this patient, as recorded by a clinician with a reason."""

    applicable: bool
    reason: str


@dataclass(frozen=True)
class DatedResult:
    """A dated result: a pregnancy or toxicology result ("negative"/"positive"/"expected")."""

    at: datetime
    result: str
    method: str = ""


@dataclass(frozen=True)
class Screen:
    """A dated screening: a PUF total (`total`) or a misuse checklist (`signs` present)."""

    at: datetime
    total: float | None = None
    signs: tuple[str, ...] = ()


@dataclass(frozen=True)
class DoseGiven:
    """A dose given in a session: mg, and mg/kg when the dosing weight is known."""

    at: datetime
    product: str  # "racemic_ketamine" or "esketamine"
    dose_mg: float
    dose_mg_per_kg: float | None


@dataclass(frozen=True)
class CumulativeDose:
    """Totals over the whole course and over the rolling window ending now (mg; racemic also mg/kg)."""

    window_days: float
    racemic_course_mg: float
    racemic_window_mg: float
    racemic_window_mg_per_kg: float | None  # None when a dose in the window has no weight
    racemic_window_sessions: int
    esketamine_course_mg: float
    esketamine_window_mg: float
    esketamine_window_sessions: int
    sessions: int


@cache
def safety_settings() -> SafetySettings:
    """Return the shipped course-safety settings, refusing a number without a known source."""
    raw = load_toml("ketacare.domain.plans.data", "safety.toml")
    return parse_safety(raw)


def parse_safety(raw: dict[str, Any], overrides: Mapping[str, Any] | None = None) -> SafetySettings:
    """Return checked settings from a parsed `safety.toml` (plus a clinic's overrides, by field name)."""
    preg, tox, puf, mis, cum = raw["pregnancy"], raw["toxicology"], raw["puf"], raw["misuse"], raw["cumulative"]
    for name in ("pregnancy", "toxicology", "puf", "misuse", "cumulative"):
        fields = [k for k in raw[name] if k == "source" or k.endswith("_source")]
        if not fields:
            check_source(None, f"safety.{name}")
        for key in fields:
            check_source(raw[name][key], f"safety.{name}.{key}")
    signs = tuple(
        MisuseSign(s["id"], s["text"], check_source(s["source"], f"safety.misuse.signs.{s['id']}"))
        for s in mis["signs"]
    )
    settings = SafetySettings(
        pregnancy_valid_days=float(preg["valid_days"]),
        pregnancy_methods=tuple(preg["methods"]),
        tox_required=bool(tox["required"]),
        tox_valid_days=float(tox["valid_days"]),
        tox_positive_holds=bool(tox["positive_holds"]),
        puf_no_abnormality_max=float(puf["no_abnormality_max"]),
        puf_interval_days=float(puf["interval_days"]),
        puf_overdue_holds=bool(puf["overdue_holds"]),
        misuse_interval_days=float(mis["interval_days"]),
        misuse_overdue_holds=bool(mis["overdue_holds"]),
        misuse_sign_holds=bool(mis["sign_holds"]),
        misuse_signs=signs,
        window_days=float(cum["window_days"]),
        racemic_warn_mg_per_kg=float(cum["racemic_warn_mg_per_kg"]),
        racemic_hold_mg_per_kg=float(cum["racemic_hold_mg_per_kg"]),
        esketamine_hold_mg=float(cum["esketamine_hold_mg"]),
        sources={
            "pregnancy": preg["source"],
            "toxicology": tox["source"],
            "toxicology_positive": tox["positive_source"],
            "puf_threshold": puf["threshold_source"],
            "puf_interval": puf["interval_source"],
            "misuse": mis["source"],
            "misuse_sign": mis["sign_source"],
            "racemic_warn": cum["racemic_warn_source"],
            "racemic_hold": cum["racemic_hold_source"],
            "esketamine_hold": cum["esketamine_hold_source"],
            "window": cum["window_source"],
        },
    )
    if overrides:
        unknown = sorted(set(overrides) - set(SafetySettings.__dataclass_fields__) - {"sources", "misuse_signs"})
        if unknown:
            raise InvalidValue("settings", f"unknown course-safety setting {unknown[0]!r}")
        settings = replace(settings, **overrides)
    for name in ("pregnancy_valid_days", "tox_valid_days", "puf_interval_days", "misuse_interval_days",
                 "window_days"):
        if getattr(settings, name) <= 0:
            raise InvalidValue(name, "must be more than 0 days")
    return settings


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400.0


def _ago(days: float) -> str:
    """Return '3 days ago' style text for a whole number of days (rounded down; 'today' below one day)."""
    whole = int(days)
    if whole <= 0:
        return "today"
    return "1 day ago" if whole == 1 else f"{whole} days ago"


def _count(sessions: int) -> str:
    return "1 session" if sessions == 1 else f"{sessions} sessions"


def _span(days: float) -> str:
    whole = f"{days:g}"
    return f"{whole} day" if days == 1 else f"{whole} days"


def pregnancy_check(
    applicability: Applicability | None,
    tests: Sequence[DatedResult],
    now: datetime,
    settings: SafetySettings,
) -> Check:
    """Return whether a negative pregnancy test within the clinic's validity window (days) is on file.

    Applicability is never inferred: when nobody recorded whether tests apply, the check holds and asks for it.
    A positive test newer than every negative one holds; a negative test older than `pregnancy_valid_days` has
    expired. A result dated after `now` is refused."""
    label, src = "Pregnancy test", settings.sources["pregnancy"]
    if applicability is None:
        return Check("pregnancy", label, "hold", "not recorded whether pregnancy tests apply to this patient: "
                     "record it (with the reason) on the chart", src, "not_recorded")
    if not applicability.applicable:
        return Check("pregnancy", label, "not_required", f"not applicable: {applicability.reason}", src,
                     "not_applicable")
    for t in tests:
        if t.result not in PREGNANCY_RESULTS:
            raise InvalidValue("result", f"a pregnancy test result is one of {', '.join(PREGNANCY_RESULTS)}")
        if t.at > now:
            raise InvalidValue("taken_at", "this time is in the future")
    if not tests:
        return Check("pregnancy", label, "hold", "applicable and no result recorded", src, "missing")
    latest = max(tests, key=lambda t: t.at)
    age = _days(now - latest.at)
    method = f" ({latest.method})" if latest.method else ""
    if latest.result == "positive":
        return Check("pregnancy", label, "hold", f"the latest test{method}, {_ago(age)}, is positive", src,
                     "positive")
    valid = settings.pregnancy_valid_days
    if age > valid:
        return Check("pregnancy", label, "hold", f"the latest negative test{method} was {_ago(age)}; it counts "
                     f"for {_span(valid)}: a new test is needed", src, "expired")
    return Check("pregnancy", label, "ok", f"negative{method} {_ago(age)}; counts for {_span(valid)}", src,
                 "valid")


def tox_check(results: Sequence[DatedResult], now: datetime, settings: SafetySettings) -> Check:
    """Return the urine-toxicology line: not required unless the clinic says so; else a result within
    `tox_valid_days` (days); a positive (unexpected) result holds when the clinic says so."""
    label, src = "Urine toxicology", settings.sources["toxicology"]
    for r in results:
        if r.result not in TOX_RESULTS:
            raise InvalidValue("result", f"a toxicology result is one of {', '.join(TOX_RESULTS)}")
    if not settings.tox_required:
        return Check("toxicology", label, "not_required", "this clinic does not require a urine drug screen", src)
    if not results:
        return Check("toxicology", label, "hold", "the clinic requires a urine drug screen; none recorded", src)
    latest = max(results, key=lambda r: r.at)
    age = _days(now - latest.at)
    if age > settings.tox_valid_days:
        return Check("toxicology", label, "hold", f"the latest screen was {_ago(age)}; it counts for "
                     f"{_span(settings.tox_valid_days)}", src)
    if latest.result == "positive" and settings.tox_positive_holds:
        return Check("toxicology", label, "hold", f"the latest screen ({_ago(age)}) is positive for a substance "
                     "not prescribed: a prescriber reviews before the next session",
                     settings.sources["toxicology_positive"])
    word = {"negative": "negative", "expected": "positive only for prescribed medicines"}.get(latest.result)
    return Check("toxicology", label, "ok", f"{word or latest.result} {_ago(age)}", src)


def _due(
    check_id: str,
    label: str,
    last: Screen | None,
    now: datetime,
    interval_days: float,
    overdue_holds: bool,
    source: str,
) -> Check | None:
    """Return a 'due' (or 'hold') line when the screen was never done or is older than `interval_days`."""
    status: Status = "hold" if overdue_holds else "due"
    if last is None:
        return Check(check_id, label, status, "baseline screen not done", source)
    age = _days(now - last.at)
    if age > interval_days:
        return Check(check_id, label, status, f"overdue: last done {_ago(age)}, due every {_span(interval_days)}",
                     source)
    return None


def puf_check(screens: Sequence[Screen], now: datetime, settings: SafetySettings) -> Check:
    """Return the PUF line: due at baseline and every `puf_interval_days`; a total above the no-abnormality
    maximum (16, Hong Kong Med J 2012) holds for review."""
    label = "Urinary symptoms (PUF)"
    last = max(screens, key=lambda s: s.at) if screens else None
    if last is not None and last.total is not None and last.total > settings.puf_no_abnormality_max:
        return Check("puf", label, "hold", f"PUF total {last.total:g} {_ago(_days(now - last.at))}, above "
                     f"{settings.puf_no_abnormality_max:g}: review urinary symptoms before the next session",
                     settings.sources["puf_threshold"])
    due = _due("puf", label, last, now, settings.puf_interval_days, settings.puf_overdue_holds,
               settings.sources["puf_interval"])
    if due is not None:
        return due
    assert last is not None and last.total is not None  # noqa: S101 - narrows the type; ensured above
    return Check("puf", label, "ok", f"PUF total {last.total:g} {_ago(_days(now - last.at))} (at or below "
                 f"{settings.puf_no_abnormality_max:g})", settings.sources["puf_threshold"])


def misuse_check(screens: Sequence[Screen], now: datetime, settings: SafetySettings) -> Check:
    """Return the misuse line: the clinic's checklist at baseline and every `misuse_interval_days`; any sign
    present holds for a prescriber's review."""
    label = "Misuse checklist"
    known = {s.id: s.text for s in settings.misuse_signs}
    last = max(screens, key=lambda s: s.at) if screens else None
    if last is not None:
        unknown = [s for s in last.signs if s not in known]
        if unknown:
            raise InvalidValue("signs", f"unknown sign {unknown[0]!r}")
        if last.signs and settings.misuse_sign_holds:
            seen = "; ".join(known[s].lower() for s in last.signs)
            return Check("misuse", label, "hold", f"signs noted {_ago(_days(now - last.at))}: {seen}",
                         settings.sources["misuse_sign"])
    due = _due("misuse", label, last, now, settings.misuse_interval_days, settings.misuse_overdue_holds,
               settings.sources["misuse"])
    if due is not None:
        return due
    assert last is not None  # noqa: S101 - narrows the type; ensured above
    found = "no signs" if not last.signs else f"{len(last.signs)} sign(s)"
    return Check("misuse", label, "ok", f"{found} {_ago(_days(now - last.at))}", settings.sources["misuse"])


def cumulative_dose(doses: Sequence[DoseGiven], now: datetime, settings: SafetySettings) -> CumulativeDose:
    """Return course and rolling-window totals (mg, racemic mg/kg) of the doses given up to `now`."""
    start = now - timedelta(days=settings.window_days)
    given = [d for d in doses if d.at <= now]
    for d in given:
        if d.dose_mg < 0:
            raise InvalidValue("dose_mg", "a dose cannot be negative")
    racemic = [d for d in given if d.product != "esketamine"]
    esk = [d for d in given if d.product == "esketamine"]
    rw = [d for d in racemic if d.at > start]
    ew = [d for d in esk if d.at > start]
    per_kg = None if any(d.dose_mg_per_kg is None for d in rw) else sum(d.dose_mg_per_kg or 0.0 for d in rw)
    return CumulativeDose(
        window_days=settings.window_days,
        racemic_course_mg=sum(d.dose_mg for d in racemic),
        racemic_window_mg=sum(d.dose_mg for d in rw),
        racemic_window_mg_per_kg=per_kg,
        racemic_window_sessions=len(rw),
        esketamine_course_mg=sum(d.dose_mg for d in esk),
        esketamine_window_mg=sum(d.dose_mg for d in ew),
        esketamine_window_sessions=len(ew),
        sessions=len(given),
    )


def dose_check(total: CumulativeDose, settings: SafetySettings) -> Check:
    """Return the cumulative-dose line: racemic mg/kg over the window against the clinic's warning and hold
    levels; esketamine mg over the window against the label's most intensive schedule (672 mg in 28 days)."""
    label = "Cumulative dose"
    window = _span(total.window_days)
    if total.esketamine_window_mg > settings.esketamine_hold_mg:
        return Check("cumulative_dose", label, "hold", f"esketamine {total.esketamine_window_mg:g} mg in the last "
                     f"{window}, above {settings.esketamine_hold_mg:g} mg", settings.sources["esketamine_hold"])
    per_kg = total.racemic_window_mg_per_kg
    if per_kg is not None and per_kg > settings.racemic_hold_mg_per_kg:
        return Check("cumulative_dose", label, "hold", f"racemic ketamine {per_kg:.2f} mg/kg in the last {window}, "
                     f"above {settings.racemic_hold_mg_per_kg:g} mg/kg: a prescriber reviews",
                     settings.sources["racemic_hold"])
    if per_kg is not None and per_kg > settings.racemic_warn_mg_per_kg:
        return Check("cumulative_dose", label, "due", f"racemic ketamine {per_kg:.2f} mg/kg in the last {window}, "
                     f"above the warning level {settings.racemic_warn_mg_per_kg:g} mg/kg",
                     settings.sources["racemic_warn"])
    parts = []
    if total.racemic_window_sessions:
        kg = "" if per_kg is None else f", {per_kg:.2f} mg/kg"
        parts.append(f"racemic {total.racemic_window_mg:g} mg{kg} ({_count(total.racemic_window_sessions)})")
    if total.esketamine_window_sessions:
        parts.append(f"esketamine {total.esketamine_window_mg:g} mg ({_count(total.esketamine_window_sessions)})")
    if per_kg is None and total.racemic_window_sessions:
        parts.append("mg/kg not known for every dose (weight missing)")
    text = "; ".join(parts) if parts else "no doses"
    return Check("cumulative_dose", label, "ok", f"{text} in the last {window}", settings.sources["window"])


def course_checks(
    *,
    applicability: Applicability | None,
    pregnancy_tests: Sequence[DatedResult],
    tox_results: Sequence[DatedResult],
    puf: Sequence[Screen],
    misuse: Sequence[Screen],
    doses: Sequence[DoseGiven],
    now: datetime,
    settings: SafetySettings,
) -> tuple[tuple[Check, ...], CumulativeDose]:
    """Return every course-safety line (pregnancy, toxicology, PUF, misuse, cumulative dose) and the totals."""
    total = cumulative_dose(doses, now, settings)
    return (
        pregnancy_check(applicability, pregnancy_tests, now, settings),
        tox_check(tox_results, now, settings),
        puf_check(puf, now, settings),
        misuse_check(misuse, now, settings),
        dose_check(total, settings),
    ), total
