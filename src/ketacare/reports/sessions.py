"""Printable PDF of an infusion-session record (fpdf2, core fonts; text limited to Latin-1)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fpdf import FPDF

from ketacare.domain import formatting as fmt
from ketacare.domain.sources import plain
from ketacare.http.access import Access
from ketacare.services import clinic
from ketacare.services.access import Actor
from ketacare.services.sessions import record
from ketacare.services.sessions.schemas import SessionDetail

router = APIRouter(include_in_schema=False)


def _t(x: Any) -> str:
    return str(x).encode("latin-1", "replace").decode("latin-1")


class _Record(FPDF):
    """A4 with the line helpers the record uses (text limited to Latin-1); times in the clinic's zone `tz`."""

    def __init__(self, tz: tzinfo = UTC) -> None:
        super().__init__(format="A4")
        self.clinic_tz = tz

    def hm(self, at: datetime | None) -> str:
        """Date and time of `at` in the clinic's zone, to the second (the header names the zone)."""
        return fmt.date_time(at, self.clinic_tz, seconds=True, label=False, empty="-")

    def text_line(self, text: str) -> None:
        self.cell(0, 4, _t(text), new_x="LMARGIN", new_y="NEXT")

    def para(self, text: str) -> None:
        self.multi_cell(0, 4, _t(text), new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 6, _t(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=8)


def _header(pdf: _Record, s: SessionDetail) -> None:
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(
        0,
        8,
        _t(f"Infusion session record #{s.id} - {s.patient.name} ({s.patient.mrn})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=9)
    d = s.dose
    dose = f"Dose given {fmt.mg(d.delivered_mg)}"
    if d.planned_mg:
        dose += f" of {fmt.mg(d.planned_mg)} ordered"
    if d.delivered_mg_per_kg is not None:
        dose += f" ({fmt.number(d.delivered_mg_per_kg, 3)} mg/kg)"
    for line in (
        f"Chair {s.chair} | product {s.product.replace('_', ' ')} | state {s.state}"
        f" | times {fmt.zone_label(pdf.clinic_tz, s.scheduled_at)} (24 h)",
        f"Scheduled {pdf.hm(s.scheduled_at)} | infusion {pdf.hm(s.infusion_started_at)}"
        f" to {pdf.hm(s.infusion_ended_at)}"
        f" | discharged {pdf.hm(s.discharged_at)}",
        dose,
        *_basis_lines(s),
    ):
        pdf.cell(0, 5, _t(line), new_x="LMARGIN", new_y="NEXT")


def _basis_lines(s: SessionDetail) -> list[str]:
    """Say which weight the order dosed on, mg/kg of actual weight, and the prescriber's choice and reason."""
    o = s.order
    if o is None or not o.weight_basis or o.mg_per_kg is None:
        return []
    basis = f"Order #{o.id}: {fmt.amount(o.mg_per_kg)} mg/kg of {o.weight_basis} weight"
    if o.computed_dose_mg is not None and o.dose_mg is not None and o.computed_dose_mg != o.dose_mg:
        basis += f" = {fmt.amount(o.computed_dose_mg, 'mg')} computed, {fmt.mg(o.dose_mg)} ordered"
    if o.mg_per_kg_actual_weight is not None and o.weight_basis != "actual":
        basis += f" ({fmt.amount(o.mg_per_kg_actual_weight)} mg/kg of actual weight)"
    if o.weight_basis_chosen:
        basis += "; basis chosen by the prescriber"
        if o.policy_weight_basis and o.policy_weight_basis != o.weight_basis:
            basis += f" (policy recommends {o.policy_weight_basis})"
        if o.weight_basis_reason:
            basis += f": {o.weight_basis_reason}"
    return [basis]


def _workflow(pdf: _Record, s: SessionDetail) -> None:
    pdf.heading("Workflow (every transition, refusals and overrides)")
    for t in s.transitions:
        extra = ""
        if t.overrides:
            extra = " OVERRIDE " + "; ".join(
                f"{o['guard_id']} by {o['by']} ({o['role']}): {o['reason']}" for o in t.overrides
            )
        if not t.allowed:
            extra = " REFUSED: " + "; ".join(g["id"] for g in t.failed_guards)
        pdf.para(f"{pdf.hm(t.at)}  {t.event} {t.from_} -> {t.to} by {t.by} ({t.role}){extra}")


def _vitals(pdf: _Record, s: SessionDetail) -> None:
    pdf.heading("Vital signs (device time; BP mmHg, HR /min, SpO2 %, RR /min)")
    with pdf.table(col_widths=(34, 22, 16, 16, 16, 20, 18), text_align="LEFT", line_height=4) as table:
        table.row(["Device time", "BP", "HR", "SpO2", "RR", "Context", "Source"])
        for v in s.vitals:
            bp = f"{fmt.vital(v.sbp)}/{fmt.vital(v.dbp)}" if v.sbp is not None and v.dbp is not None else ""
            others = [fmt.vital(x, empty="") for x in (v.hr, v.spo2, v.rr)]
            table.row([pdf.hm(v.measured_at), bp, *others, v.context, v.source])


def _alerts(pdf: _Record, s: SessionDetail) -> None:
    pdf.heading("Alerts")
    if not s.alerts:
        pdf.text_line("None.")
    for a in s.alerts:
        ack = (
            f"; acknowledged by {a.acknowledged_by} {pdf.hm(a.acknowledged_at)}: {a.action_taken}"
            if a.acknowledged_at
            else ""
        )
        res = f"; resolved {pdf.hm(a.resolved_at)}: {a.resolution}" if a.resolved_at else ""
        pdf.para(
            f"[{a.priority.upper()}] {a.title} - {a.trigger} - advised: {plain(a.advice)}"
            f" (source: {plain(a.source or '')}){ack}{res}"
        )


def _pump_and_side_effects(pdf: _Record, s: SessionDetail) -> None:
    pdf.heading("Pump events")
    for e in s.infusion_events:
        rate = f" {fmt.number(e.rate_ml_per_h, 1)} mL/h" if e.rate_ml_per_h is not None else ""
        bolus = f" {fmt.mg(e.bolus_mg)}" if e.bolus_mg else ""
        pdf.text_line(f"{pdf.hm(e.at)}  {e.kind}{rate}{bolus}")
    pdf.heading("Side effects and rescue medication")
    for x in s.side_effects:
        resolved = (
            f" resolved {pdf.hm(x.resolved_at)}" + (f": {x.resolution}" if x.resolution else "")
            if x.resolved_at
            else " not resolved"
        )
        pdf.text_line(f"{x.type} grade {x.grade} ({x.grade_label}) onset {pdf.hm(x.onset_at)}{resolved}")
    for r in s.rescue:
        pdf.text_line(
            f"{r.drug} {fmt.amount(r.dose_mg, 'mg')} {r.route} for {r.indication} at {pdf.hm(r.given_at)} by {r.by}"
        )
    if s.rems_missing is not None:
        pdf.heading("Esketamine REMS monitoring form")
        for m in [f"{plain(m.message)} (source: {plain(m.source)})" for m in s.rems_missing] or ["Complete."]:
            pdf.para(m)


def _signatures(pdf: _Record, s: SessionDetail) -> None:
    pdf.heading("Signatures (SHA-256 of the canonical record)")
    if not s.signatures:
        pdf.text_line("Not signed.")
    for g in s.signatures:
        pdf.para(f"{g.role}: {g.by} at {pdf.hm(g.signed_at)}  {g.sha256}")
    v = s.verification
    if v.signed:
        pdf.text_line("Record intact." if v.intact else "WARNING: " + "; ".join(v.problems))
    for a in s.addenda:
        pdf.para(f"Addendum {pdf.hm(a.at)} by {a.by} ({a.role}): {a.text}  [{a.sha256}]")


def render_pdf(s: SessionDetail, tz: tzinfo = UTC) -> bytes:
    """Return the session record as PDF bytes; times in `tz` (the clinic's zone), named in the header."""
    pdf = _Record(tz)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    for section in (_header, _workflow, _vitals, _alerts, _pump_and_side_effects, _signatures):
        section(pdf, s)
    return bytes(pdf.output())


@router.get("/sessions/{session_id}/record.pdf")
def session_pdf(
    request: Request, session_id: int, actor: Actor = Depends(Access("infusion_session", "read"))
) -> Response:
    data = record.record_for_pdf(db=request.app.state.db, actor=actor, session_id=session_id)
    return Response(
        render_pdf(data, clinic.zone(request.app.state.db, request.app.state.settings)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="session-{session_id}.pdf"'},
    )
