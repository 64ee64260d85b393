"""Outcome pages (issue 18): the clinic dashboard with filters, one patient's outcome on the chart, the patient's
own progress in the portal, and the two PDF reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ketacare.http.access import Access
from ketacare.services import outcomes
from ketacare.services.access import Actor, home
from ketacare.web.outcomes import charts
from ketacare.web.rendering import form_errors, render

router = APIRouter(include_in_schema=False)
FILTER_FIELDS = ("date_from", "date_to", "diagnosis", "protocol", "clinician_id", "site_id")
FILTER_LABELS = {"date_from": "First session from", "date_to": "First session to", "diagnosis": "Diagnosis",
                 "protocol": "Protocol", "clinician_id": "Clinician", "site_id": "Site"}  # fmt: skip


def filters_from(request: Request) -> tuple[outcomes.OutcomeFilters, dict[str, str], dict[str, str]]:
    values = {k: request.query_params.get(k, "").strip() for k in FILTER_FIELDS}
    try:
        return outcomes.OutcomeFilters(**{k: v for k, v in values.items() if v}), values, {}
    except ValidationError as e:
        return outcomes.OutcomeFilters(), values, form_errors(e)


def dashboard_charts(d: outcomes.Dashboard) -> dict[str, str]:
    """Return the dashboard's SVG charts by name."""
    return {
        "diagnosis": charts.rate_bars(d.by_diagnosis, "By diagnosis"),
        "protocol": charts.rate_bars(d.by_protocol, "By protocol"),
        "dose": charts.rate_bars(d.by_dose_band, "By dose band (median mg/kg of the patient's sessions)"),
        "session": charts.rate_bars(d.by_session, "After each session"),
        "points": charts.rate_bars(d.at_points, "At fixed points after the first session"),
        "trajectory": charts.trajectory(d.trajectory),
        "survival": charts.survival(d.survival),
        "bp": charts.histogram(d.bp_rise, unit="mmHg", title="Largest systolic rise per session"),
    }


@router.get("/outcomes")
def outcomes_page(request: Request, actor: Actor = Depends(Access("outcomes", "read"))) -> Response:
    filters, values, errors = filters_from(request)
    d = outcomes.dashboard(db=request.app.state.db, actor=actor, filters=filters)
    query = request.url.query if not errors else ""
    ctx: dict[str, Any] = {"d": d, "charts": dashboard_charts(d), "values": values, "errors": errors,
                           "labels": FILTER_LABELS, "query": query}  # fmt: skip
    return render(request, "outcomes_dashboard.html", ctx, 422 if errors else 200)


def _patient_ctx(request: Request, actor: Actor, patient_id: int) -> dict[str, Any]:
    o = outcomes.patient_outcome(db=request.app.state.db, actor=actor, patient_id=patient_id)
    return {"o": o, "chart": patient_chart(o)}


def patient_chart(o: outcomes.PatientOutcome) -> str:
    """Return the patient's scores on the primary instrument by week, as percent change from baseline."""
    from ketacare.services.outcomes.schemas import TrajectoryPoint

    if o.baseline is None or o.first_session_at is None or o.baseline.total == 0:
        return ""
    b, first = o.baseline.total, o.first_session_at
    pts = [TrajectoryPoint(week=0, n=1, mean=0.0, low=None, high=None)]
    for x in o.history:
        if x.at > first:
            week = round((x.at - first).total_seconds() / (7 * 86400))
            pts = [p for p in pts if p.week != week] + [
                TrajectoryPoint(week=week, n=1, mean=100 * (x.total - b) / b, low=None, high=None)
            ]
    return charts.trajectory(sorted(pts, key=lambda p: p.week)) if len(pts) > 1 else ""


@router.get("/patients/{patient_id}/outcome")
def patient_outcome_page(
    request: Request, patient_id: int, actor: Actor = Depends(Access("outcome_summary", "read"))
) -> Response:
    return render(request, "outcome_patient.html", _patient_ctx(request, actor, patient_id))


@router.get("/me/progress")
def my_progress(request: Request, actor: Actor = Depends(Access("account", "read"))) -> Response:
    if actor.patient_id is None:  # not a patient's own account: their home page
        return RedirectResponse(home(actor), status_code=303)
    return render(request, "outcome_me.html", _patient_ctx(request, actor, actor.patient_id))
