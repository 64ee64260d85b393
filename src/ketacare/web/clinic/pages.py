"""Clinic settings pages (issue 13): the settings in force, the edit form (administrators) and the history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain import outcomes
from ketacare.domain.clinic import weight_policy_bounds
from ketacare.domain.errors import InvalidValues
from ketacare.domain.measurement import load_instrument, plan_ids
from ketacare.domain.messages import DEFAULT_LOCALE
from ketacare.http.access import Access
from ketacare.http.errors import clean_message
from ketacare.services import clinic
from ketacare.services.access import Actor, may
from ketacare.web.rendering import FORM_REFUSALS, clinic_settings, form_data, refusal, render

router = APIRouter(include_in_schema=False)
Read = Access("clinic_settings", "read")
Configure = Access("clinic_settings", "configure")

BLANK_CRISIS_ROWS = 2  # empty rows under the clinic's lines, to add new ones
CRISIS_FIELDS = ("country", "name", "number", "when")
LABELS = {
    "name": "Clinic name",
    "timezone": "Time zone",
    "locale": "Language of patient messages",
    "phone": "Clinic phone",
    "crisis_lines": "Crisis lines",
    "weight_bmi_threshold": "BMI threshold",
    "assessment_plan": "Questionnaire plan",
    "outcome_primary_instruments": "Primary outcome instruments",
    "reason": "Reason for the change",
    "version": "Version",
}


def _values(c: clinic.ClinicSettingsIn, version: int) -> dict[str, str]:
    """Return the form's fields for settings `c` (what the page shows before an edit)."""
    v: dict[str, str] = {
        "name": c.name,
        "address": c.address,
        "timezone": c.timezone,
        "locale": c.locale,
        "phone": c.phone,
        "weight_unit": c.weight_unit,
        "height_unit": c.height_unit,
        "weight_bmi_threshold": f"{c.weight_bmi_threshold:g}",
        "weight_basis_at_or_above": c.weight_basis_at_or_above,
        "assessment_plan": c.assessment_plan,
        "reminder_subject": c.reminder_subject,
        "reminder_intro": c.reminder_intro,
        "base_version": str(version),
    }
    for i, line in enumerate(c.crisis_lines):
        for f in CRISIS_FIELDS:
            v[f"crisis_lines.{i}.{f}"] = getattr(line, f)
    for t in clinic.thresholds(c):
        v[f"threshold.{t.key}"] = f"{t.value:g}"
    chosen = outcomes.with_primary_instruments(outcomes.shipped(), c.outcome_primary_instruments)
    v["outcome_primary.default"] = chosen.primary_default
    for concept, iid in chosen.primary_by_diagnosis.items():
        v[f"outcome_primary.{concept}"] = iid
    return v


def _primary_instruments(values: dict[str, str]) -> dict[str, str]:
    """Return the primary outcome instruments the form sets that differ from the shipped ones (issue 18)."""
    shipped = outcomes.shipped()
    out = {}
    for k, text in values.items():
        if k.startswith("outcome_primary.") and text.strip():
            concept = k.removeprefix("outcome_primary.")
            default = shipped.primary_default if concept == "default" else shipped.primary_by_diagnosis.get(concept)
            if text.strip() != default:
                out[concept] = text.strip()
    return out


def _crisis_rows(values: dict[str, str]) -> int:
    used = [int(k.split(".")[1]) for k in values if k.startswith("crisis_lines.") and values[k].strip()]
    return (max(used) + 1 if used else 0) + BLANK_CRISIS_ROWS


def _update(values: dict[str, str]) -> clinic.ClinicSettingsUpdate:
    """Read the submitted form into a settings update (blank crisis rows are left out); every refused field at
    once (InvalidValues), in words for the person who typed it."""
    lines = []
    for i in range(_crisis_rows(values)):
        row = {f: values.get(f"crisis_lines.{i}.{f}", "").strip() for f in CRISIS_FIELDS}
        if any(row.values()):
            lines.append((i, row))
    errors: dict[str, str] = {}
    thresholds = {}
    for k, text in values.items():
        if k.startswith("threshold.") and text.strip():
            try:
                thresholds[k.removeprefix("threshold.")] = float(text)
            except ValueError:
                errors[k] = "enter a number"
    try:
        bmi = float(values.get("weight_bmi_threshold") or "")
    except ValueError:
        bmi = float("nan")
    raw: dict[str, Any] = {
        "name": values.get("name", ""),
        "address": values.get("address", ""),
        "timezone": values.get("timezone", ""),
        "locale": values.get("locale", DEFAULT_LOCALE),  # a form from before the field existed: the default
        "phone": values.get("phone", ""),
        "crisis_lines": [row for _, row in lines],
        "weight_unit": values.get("weight_unit", "kg"),
        "height_unit": values.get("height_unit", "cm"),
        "weight_bmi_threshold": bmi,
        "weight_basis_at_or_above": values.get("weight_basis_at_or_above", ""),
        "assessment_plan": values.get("assessment_plan", ""),
        "alert_thresholds": thresholds,
        "outcome_primary_instruments": _primary_instruments(values),
        "reminder_subject": values.get("reminder_subject", ""),
        "reminder_intro": values.get("reminder_intro", ""),
        "fictional": values.get("fictional") == "yes",
        "base_version": values.get("base_version") or 0,
        "reason": values.get("reason", ""),
    }
    data = None
    try:
        data = clinic.ClinicSettingsUpdate(**raw)
    except ValidationError as exc:
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            if loc[:1] == ["crisis_lines"] and len(loc) > 1 and loc[1].isdigit():
                loc[1] = str(lines[int(loc[1])][0])  # the row as numbered on the page
            name = ".".join(loc)
            errors.setdefault(name, PLAIN.get(e["type"], clean_message(e["msg"])))
    errors.update(
        clinic.problems(
            assessment_plan=raw["assessment_plan"], weight_bmi_threshold=bmi, alert_thresholds=thresholds
        )
    )
    if errors or data is None:
        raise InvalidValues(errors or {"request": "check the form"})
    return data


# pydantic's words for a missing value, said plainly
PLAIN = {
    "string_too_short": "fill this in",
    "missing": "fill this in",
    "too_short": "add at least one",
    "literal_error": "choose one of the options",
}


def _page(
    request: Request, actor: Actor, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    c = clinic_settings(request)
    wb = weight_policy_bounds()
    return render(
        request,
        "clinic_settings.html",
        {
            "c": c,
            "values": values,
            "errors": errors,
            "labels": LABELS,
            "crisis_rows": _crisis_rows(values),
            "thresholds": clinic.thresholds(c),
            "plan_options": [(p, p) for p in plan_ids()],
            "outcome_concepts": ["default", *outcomes.shipped().primary_by_diagnosis],
            "outcome_options": [(i, load_instrument(i).short_name) for i in outcomes.shipped().instruments],
            "basis_options": [(b, b) for b in wb.bases],
            "bmi_bounds": wb,
            "can_configure": may(actor, "configure", "clinic_settings"),
        },
        status,
    )


@router.get("/admin/clinic", response_class=HTMLResponse)
def settings_page(request: Request, actor: Actor = Depends(Read)) -> Response:
    """The clinic's settings in force, editable by those the policy allows."""
    c = clinic_settings(request)
    return _page(request, actor, _values(c, c.version), {})


@router.post("/admin/clinic", response_class=HTMLResponse)
async def settings_save(request: Request, actor: Actor = Depends(Configure)) -> Response:
    """Save the form as a new version of the settings (a reason is required)."""
    values = await form_data(request)
    try:
        clinic.save(db=request.app.state.db, actor=actor, data=_update(values))
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        if "base_version" in errors:
            errors["version"] = errors.pop("base_version")
        return _page(request, actor, values, errors, status)
    return RedirectResponse("/admin/clinic/history?saved=1", status_code=303)


@router.get("/admin/clinic/history", response_class=HTMLResponse)
def settings_history(request: Request, saved: str | None = None, actor: Actor = Depends(Read)) -> Response:
    """Every saved version of the settings: who changed what, when and why."""
    versions = clinic.history(db=request.app.state.db, actor=actor)
    rows: list[dict[str, Any]] = []
    for i, v in enumerate(versions):
        before = versions[i + 1] if i + 1 < len(versions) else None
        rows.append({"v": v, "changes": _changes(before, v)})
    return render(request, "clinic_history.html", {"rows": rows, "saved": bool(saved)})


def _changes(before: clinic.ClinicSettingsRead | None, after: clinic.ClinicSettingsRead) -> list[str]:
    """Return what changed from `before` to `after`, in words ("Time zone: UTC -> Europe/Berlin")."""
    if before is None:
        return ["First settings of this clinic"]
    skip = {"version", "changed_by_name", "changed_at", "reason"}
    a, b = before.model_dump(mode="json", exclude=skip), after.model_dump(mode="json", exclude=skip)
    out = []
    for k in b:
        if a.get(k) == b[k]:
            continue
        label = LABELS.get(k, k.replace("_", " ").capitalize())
        if k == "crisis_lines":
            out.append(f"{label}: " + "; ".join(f"{x['name']} {x['number']}" for x in b[k]))
        elif k == "alert_thresholds":
            named = {t.key: t for t in clinic.thresholds(after)}
            for x in sorted(set(a[k]) | set(b[k])):
                if a[k].get(x) != b[k].get(x):
                    t = named[x]
                    old, new = a[k].get(x, t.default), b[k].get(x, t.default)
                    out.append(
                        f"Alert threshold {t.rule_title} ({t.vital.upper()}): {old:g} → {new:g} {t.unit}"
                    )
        else:
            out.append(f"{label}: {a.get(k) or 'none'} → {b[k] or 'none'}")
    return out
