"""The patient's own copy of their record (right of access): a PDF summary and the complete JSON, both downloads."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fpdf import FPDF

from ketacare.domain import formatting as fmt
from ketacare.http.access import Access
from ketacare.services import clinic, patients
from ketacare.services.access import Actor

router = APIRouter(include_in_schema=False)
Export = Access("patient_record", "export", patient_param="patient_id")


def _t(x: Any) -> str:
    return str(x).replace("_", " ").encode("latin-1", "replace").decode("latin-1")


def _when(value: Any, tz: tzinfo) -> str:
    if not value:
        return "-"
    text = str(value)
    if len(text) <= 10:  # a date
        return text
    return fmt.date_time(datetime.fromisoformat(text), tz, label=False)


def _yes(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "-")


# (table, heading, one line per row) - the summary; the JSON holds every column of every table.
def _lines(e: patients.PatientExport, tz: tzinfo) -> list[tuple[str, list[str]]]:
    t = e.tables
    staff = {s.id: s.name for s in e.staff}

    def rows(name: str) -> list[dict[str, Any]]:
        return t.get(name, [])

    return [
        (
            "Diagnoses",
            [
                f"{r['display']} (since {r.get('onset_date') or 'unknown'}), {r['status']}"
                for r in rows("diagnoses")
            ],
        ),
        (
            "Medicines",
            [
                f"{r['name']} {fmt.amount(r.get('dose_value'), r.get('dose_unit') or '')}"
                f" {fmt.number(r.get('times_per_day'))} times a day, {'taking' if r.get('active') else 'stopped'}"
                for r in rows("medications")
            ],
        ),
        (
            "Allergies",
            [
                f"{r['substance']}: {r.get('reaction') or '-'} ({r.get('severity') or '-'})"
                for r in rows("allergies")
            ],
        ),
        (
            "Treatments tried before",
            [
                f"{r['name']} ({r['kind']}), {r.get('weeks') or '-'} weeks: {r.get('outcome')}"
                for r in rows("treatment_trials")
            ],
        ),
        (
            "Weight and height",
            [
                f"{_when(r['measured_at'], tz)}: {fmt.amount(r.get('weight_kg'), 'kg')}"
                f"{'' if r.get('height_cm') is None else ', ' + fmt.amount(r['height_cm'], 'cm')}"
                for r in rows("body_measurements")
            ],
        ),
        (
            "Questionnaires",
            [
                f"{_when(r['answered_at'], tz)} {r['instrument_id']}: total "
                f"{fmt.amount(r.get('total'))}, {r.get('severity') or '-'}"
                for r in rows("questionnaire_responses")
            ],
        ),
        (
            "Dose orders",
            [
                f"#{r['id']} {_when(r['created_at'], tz)}: {fmt.mg(r.get('dose_mg'))} {r['route']}, "
                f"{r['status']}, prescriber {r.get('signed_by_name') or '-'}"
                for r in rows("dose_orders")
            ],
        ),
        (
            "Treatment sessions",
            [
                f"#{r['id']} {_when(r['scheduled_at'], tz)} {r['chair']}: {r['state']}, "
                f"{fmt.mg(r.get('planned_dose_mg'))} planned"
                for r in rows("infusion_sessions")
            ],
        ),
        (
            "Side effects",
            [
                f"{_when(r.get('onset_at'), tz)} {r['type']} grade {r['grade']}, "
                f"{'resolved ' + _when(r['resolved_at'], tz) if r.get('resolved_at') else 'not resolved'}"
                for r in rows("side_effects")
            ],
        ),
        (
            "Rescue medicines",
            [
                f"{_when(r['given_at'], tz)} {r['drug']} {fmt.mg(r.get('dose_mg'))} {r['route']}"
                f" by {r.get('given_by_name') or staff.get(r.get('given_by') or 0, '-')}"
                for r in rows("rescue_given")
            ],
        ),
    ]


def render_export_pdf(e: patients.PatientExport, tz: tzinfo = UTC) -> bytes:
    """Return the summary of a patient's record as PDF bytes (the JSON download holds everything)."""
    p = e.tables["patients"][0]
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(
        0, 8, _t(f"Your health record: {p['given_name']} {p['family_name']}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=9)
    for line in (
        f"Record number {e.mrn} | born {p['date_of_birth']} | made {_when(e.generated_at.isoformat(), tz)} "
        f"({fmt.zone_label(tz, e.generated_at)}) for {e.generated_for}",
        "This is a summary. The complete record, every entry as stored, is in the JSON file of the same download.",
    ):
        pdf.multi_cell(0, 5, _t(line), new_x="LMARGIN", new_y="NEXT")
    for heading, lines in _lines(e, tz):
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 6, _t(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        for line in lines or ["none recorded"]:
            pdf.multi_cell(0, 4.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(
        0,
        6,
        _t(f"Who accessed your record ({len(e.access_log)} entries, newest 40)"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=8)
    for a in e.access_log[-40:][::-1]:
        pdf.cell(
            0,
            4,
            _t(f"{_when(a.at.isoformat(), tz)}  {a.who} ({a.role})  {a.action} {a.what}  {a.outcome}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def _export(request: Request, actor: Actor, patient_id: int) -> patients.PatientExport:
    return patients.export_record(db=request.app.state.db, actor=actor, patient_id=patient_id)


@router.get("/patients/{patient_id}/export.pdf")
def export_pdf(request: Request, patient_id: int, actor: Actor = Depends(Export)) -> Response:
    """Download the summary PDF of the patient's record."""
    e = _export(request, actor, patient_id)
    return Response(
        render_export_pdf(e, clinic.zone(request.app.state.db, request.app.state.settings)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="record-{e.mrn}.pdf"'},
    )


@router.get("/patients/{patient_id}/export.json")
def export_json(request: Request, patient_id: int, actor: Actor = Depends(Export)) -> Response:
    """Download the complete record as JSON."""
    e = _export(request, actor, patient_id)
    return Response(
        e.model_dump_json(indent=1),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="record-{e.mrn}.json"'},
    )
