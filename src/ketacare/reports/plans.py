"""Printable discharge instructions of one session (fpdf2, core fonts; text limited to Latin-1): the clinic's text
of the version given, the clinic's phone and crisis lines, and the acknowledgements so far."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fpdf import FPDF

from ketacare.domain import formatting as fmt
from ketacare.domain.sources import plain
from ketacare.http.access import Access
from ketacare.services import clinic, plans
from ketacare.services.access import Actor

router = APIRouter(include_in_schema=False)

_LATIN1 = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "·": "-"})


def _t(x: object) -> str:
    return str(x).translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def instructions_pdf(sheet: plans.DischargeSheet, patient_name: str, tz_name: str) -> bytes:
    """Return the PDF of a session's discharge instructions for the patient to take home."""
    tz = fmt.zone(tz_name)
    ins = sheet.instructions
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, _t(ins.heading), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, _t(f"{ins.clinic_name} - for {patient_name}"), new_x="LMARGIN", new_y="NEXT")
    for sec in ins.sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 6, _t(sec.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for line in sec.lines:
            pdf.multi_cell(0, 6, _t(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, "Crisis lines", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for c in ins.crisis_lines:
        pdf.multi_cell(0, 6, _t(f"- {c.name}: {c.number}. {c.when}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    for a in sheet.acknowledgements:
        who = "Patient" if a.party == "patient" else "Escort"
        pdf.multi_cell(0, 5, _t(f"{who} acknowledged: {a.name}, {fmt.date_time(a.acknowledged_at, tz)}"),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, _t(f"Instructions version {ins.version}. Sources: {plain(ins.source)}."),
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@router.get("/sessions/{session_id}/discharge-instructions.pdf")
@router.get("/me/discharge-instructions/{session_id}.pdf")
def discharge_instructions_pdf(
    request: Request, session_id: int, actor: Actor = Depends(Access("discharge_sheet", "read"))
) -> Response:
    db = request.app.state.db
    sheet = plans.discharge_sheet(db=db, actor=actor, session_id=session_id)
    body = instructions_pdf(sheet, sheet.patient_name, clinic.current(db).timezone)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="discharge-instructions-{session_id}.pdf"'})
