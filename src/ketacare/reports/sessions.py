"""Printable PDF of a signed infusion-session record (fpdf2, core fonts; text limited to Latin-1).

Every page carries the clinic, the patient (name, date of birth, MRN), "Page n of N" and the record's hash; times
are in the clinic's zone, named in the column heads; numbers go through `domain/formatting.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fpdf import FPDF
from fpdf.fonts import FontFace

from ketacare.domain import formatting as fmt
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import load_instrument
from ketacare.domain.sources import plain
from ketacare.http.access import Access
from ketacare.reports.session_chart import draw_vitals_chart
from ketacare.services import clinic
from ketacare.services.access import Actor, signing
from ketacare.services.clinic import ClinicIdentity
from ketacare.services.sessions import record
from ketacare.services.sessions.schemas import RECORD_FORMAT, RECORD_V1, RecordPrint, SessionDetail

router = APIRouter(include_in_schema=False)

_LATIN1 = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "≥": ">=", "≤": "<=",
                         "…": "...", "→": "->", "·": "-"})  # fmt: skip
_RESULT = {
    "met": "met",
    "overridden": "OVERRIDDEN",
    "not_met": "NOT MET",
    "not_applicable": "not applicable",
    "yes": "yes",
    "no": "NO",
    "not_answered": "not answered",
}
_GREY = (235, 235, 235)
_BOLD = FontFace(emphasis="BOLD")
_OPS = {">=": float.__ge__, ">": float.__gt__, "<=": float.__le__, "<": float.__lt__}
_SHORT = {"sbp": "SBP", "dbp": "DBP", "hr": "HR", "spo2": "SpO2", "rr": "RR"}


class _Flagged(str):
    """A table cell printed in bold: a value at or beyond a high-priority alarm limit."""


def _t(x: Any) -> str:
    return str(x).translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def chair_label(chair: str) -> str:
    """Return the chair as people say it: "Chair 4" stays "Chair 4", "4" becomes "Chair 4"."""
    chair = chair.strip()
    return chair if chair.lower().startswith("chair") else f"Chair {chair}"


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not answered"}[value]


class _Record(FPDF):
    """A4 portrait with the record's running head and foot; times in the clinic's zone `tz`."""

    def __init__(self, data: RecordPrint, who: ClinicIdentity, tz: tzinfo) -> None:
        super().__init__(format="A4")
        self.data, self.who, self.clinic_tz = data, who, tz
        d = data.detail
        start = d.infusion_started_at or d.scheduled_at or datetime.now(UTC)
        self.day = start.astimezone(tz).date()
        self.zone = fmt.zone_label(tz, start)
        sigs = d.signatures
        self.digest = sigs[0].sha256 if sigs else d.verification.current_sha256
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=16)
        self.set_title(_t(f"Infusion session record #{d.id}"))
        self.set_author(_t(who.name))

    def name(self, username: str | None) -> str:
        """Return the person's printed name for a user name ("-" for none)."""
        return "-" if not username else self.data.names.get(username, username)

    def hm(self, at: datetime | str | None) -> str:
        """Clock time in the clinic's zone (the date too when not the session's day); the column heads name the
        zone."""
        if at is None or at == "":
            return "-"
        t = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        t = t if t.tzinfo else t.replace(tzinfo=UTC)
        local = t.astimezone(self.clinic_tz)
        return local.strftime("%H:%M:%S" if local.date() == self.day else "%Y-%m-%d %H:%M:%S")

    def when(self, at: datetime | str | None) -> str:
        """Date and time in the clinic's zone, labelled with the zone ("2026-11-30 14:05 CET")."""
        return fmt.date_time(at, self.clinic_tz, empty="-")

    def header(self) -> None:
        d = self.data.detail
        self.set_font("Helvetica", "B", 11)
        self.cell(120, 5, _t(self.who.name))
        self.set_font("Helvetica", "B", 10)
        self.cell(0, 5, _t(f"Infusion session record #{d.id}"), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=8)
        contact = "; ".join(x for x in (self.who.address, self.who.phone and f"Tel. {self.who.phone}") if x)
        self.cell(120, 4, _t(contact))
        self.cell(0, 4, _t(f"{chair_label(d.chair)}, {self.day.isoformat()}"), align="R", new_x="LMARGIN",
                  new_y="NEXT")  # fmt: skip
        p = self.data.record.patient
        self.set_font("Helvetica", "B", 9)
        self.cell(0, 5, _t(f"Patient: {p.name}   Date of birth: {p.dob.isoformat()}   MRN: {p.mrn}"),
                  new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        self.set_draw_color(0)
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.ln(2.5)
        self.set_font("Helvetica", size=8)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        width = (self.w - self.l_margin - self.r_margin) / 3
        self.cell(width, 4, _t(f"Record SHA-256 {self.digest[:16]}..."))
        self.cell(width, 4, f"Page {self.page_no()} of {{nb}}", align="C")
        self.cell(width, 4, _t(f"Times: {self.zone}, 24 h"), align="R")

    def text_line(self, text: str, style: str = "") -> None:
        self.set_font("Helvetica", style, 8)
        self.multi_cell(0, 4, _t(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=8)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:  # keep a heading with the first lines of its section
            self.add_page()
        self.ln(2)
        self.set_font("Helvetica", "B", 10.5)
        self.cell(0, 6, _t(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=8)

    def grid(self, widths: Sequence[float], head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Draw a table with a repeated heading row; text wraps inside its cell."""
        self.set_font("Helvetica", size=7.5)
        self.set_draw_color(170)
        with self.table(
            col_widths=tuple(widths),
            width=sum(widths),
            text_align="LEFT",
            line_height=3.6,
            align="LEFT",
            headings_style=FontFace(emphasis="BOLD", fill_color=_GREY),
            padding=0.8,
        ) as table:
            table.row([_t(h) for h in head])
            for r in rows:
                row = table.row()
                for c in r:
                    row.cell(_t(c), style=_BOLD if isinstance(c, _Flagged) else None)
        self.set_draw_color(0)
        self.set_font("Helvetica", size=8)


def _summary(pdf: _Record) -> None:
    d, r = pdf.data.detail, pdf.data.record
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 7, "Infusion session record", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8.5)
    state = d.state.replace("_", " ")
    lines = [
        f"{chair_label(d.chair)} | {d.product.replace('_', ' ')} | {state}"
        f" | all times {pdf.zone} ({_zone_name(pdf.clinic_tz)}), 24-hour clock",
        f"Scheduled {pdf.when(d.scheduled_at)} | checked in {pdf.hm(d.checked_in_at)} | infusion"
        f" {pdf.hm(d.infusion_started_at)} to {pdf.hm(d.infusion_ended_at)} | discharged {pdf.hm(d.discharged_at)}",
    ]
    if d.aborted_at:
        lines.append(f"Aborted {pdf.hm(d.aborted_at)}: {d.abort_reason or '-'}")
    if d.weight_kg:
        lines.append(f"Weight for this session {fmt.number(d.weight_kg, 1)} kg")
    for line in lines:
        pdf.cell(0, 4.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    if r.session.lot_number:
        pdf.cell(0, 4.5, _t(f"Lot number {r.session.lot_number}"), new_x="LMARGIN", new_y="NEXT")


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def _order_and_dose(pdf: _Record) -> None:
    d, r = pdf.data.detail, pdf.data.record
    pdf.heading("Dose order and dose given")
    o, basis = r.order, d.order
    if o is not None:
        prep = [fmt.mg(o.dose_mg)]
        if o.mg_per_kg is not None:
            prep.append(f"{fmt.amount(o.mg_per_kg)} mg/kg of {o.weight_basis or 'actual'} weight")
        if o.final_concentration_mg_per_ml:
            prep.append(f"{fmt.amount(o.final_concentration_mg_per_ml)} mg/mL")
        if o.final_volume_ml:
            prep.append(f"bag {fmt.amount(o.final_volume_ml, 'mL', max_places=1)}")
        prep.append(f"over {fmt.duration(o.duration_min)}")
        pdf.text_line(f"Order #{o.id}: {', '.join(prep)}", "B")
        pdf.text_line(
            f"Prescribed and signed by {pdf.name(o.signed_by_name)} at {pdf.when(o.signed_at)}; independent"
            f" double check by {pdf.name(o.double_checked_by_name)} at {pdf.when(o.double_checked_at)}"
        )
    elif basis is not None:
        pdf.text_line(f"Order #{basis.id}: {fmt.mg(basis.dose_mg)}", "B")
    else:
        pdf.text_line("No dose order is linked to this session.")
    for line in _basis_lines(d):
        pdf.text_line(line)
    dose = d.dose
    ordered = d.planned_dose_mg if d.planned_dose_mg is not None else (o.dose_mg if o else None)
    text = f"Ordered {fmt.mg(ordered)}; delivered {fmt.mg(dose.delivered_mg)}"
    if dose.delivered_mg_per_kg is not None:
        text += f" ({fmt.number(dose.delivered_mg_per_kg, 3)} mg/kg)"
    if ordered is not None:
        text += f"; difference {fmt.mg(dose.delivered_mg - ordered, sign=True)}"
    if d.concentration_mg_per_ml:
        text += f"; bag concentration {fmt.amount(d.concentration_mg_per_ml)} mg/mL"
    pdf.text_line(text, "B")


def _basis_lines(s: SessionDetail) -> list[str]:
    """Say which weight the order dosed on, mg/kg of actual weight, and the prescriber's choice and reason."""
    o = s.order
    if o is None or not o.weight_basis or o.mg_per_kg is None:
        return []
    basis = f"Dosing weight: {fmt.amount(o.mg_per_kg)} mg/kg of {o.weight_basis} weight"
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


def _pump(pdf: _Record) -> None:
    d = pdf.data.detail
    pdf.heading("Pump events")
    if not d.infusion_events:
        pdf.text_line("No pump events recorded.")
        return
    rows = []
    for e in d.infusion_events:
        rows.append(
            [
                pdf.hm(e.at),
                e.kind.replace("_", " "),
                fmt.amount(e.rate_ml_per_h, empty=""),
                fmt.amount(e.rate_mg_per_min, empty=""),
                fmt.mg(e.bolus_mg, empty="") if e.bolus_mg else "",
                fmt.amount(e.concentration_mg_per_ml, "mg/mL", empty=""),
            ]
        )
    head = (f"Time ({pdf.zone})", "Event", "Rate mL/h", "Rate mg/min", "Bolus", "Concentration")
    pdf.grid((28, 24, 28, 28, 24, 28), head, rows)


def _vitals(pdf: _Record) -> None:
    d = pdf.data.detail
    pdf.heading("Vital signs")
    if not d.vitals:
        pdf.text_line("No readings recorded.")
        return
    limits = pdf.data.limits
    draw_vitals_chart(pdf, d, pdf.clinic_tz, limits)

    def beyond(vital: str, x: float | None) -> bool:
        return x is not None and any(lim.vital == vital and _OPS[lim.op](float(x), lim.value) for lim in limits)

    def cell(text: str, *flags: bool) -> str:
        return _Flagged(f"{text} *") if any(flags) else text

    rows = []
    for v in d.vitals:
        bp = f"{fmt.vital(v.sbp)}/{fmt.vital(v.dbp)}" if v.sbp is not None and v.dbp is not None else ""
        spo2 = fmt.vital(v.spo2, empty="")
        if spo2 and v.on_oxygen:
            spo2 += " (O2)"
        rows.append(
            [pdf.hm(v.measured_at), cell(bp, beyond("sbp", v.sbp), beyond("dbp", v.dbp)),
             cell(fmt.vital(v.hr, empty=""), beyond("hr", v.hr)), cell(spo2, beyond("spo2", v.spo2)),
             cell(fmt.vital(v.rr, empty=""), beyond("rr", v.rr)), fmt.vital(v.temp_c, empty=""), v.context, v.source]
        )  # fmt: skip
    if limits:
        shown = ", ".join(f"{_SHORT[lim.vital]} {lim.op} {fmt.vital(lim.value)}" for lim in limits)
        pdf.text_line(
            f"Values in bold with *: at or beyond a high-priority alarm limit of the clinic's rules ({shown}).",
        )
    pdf.grid(
        (28, 22, 16, 18, 16, 16, 24, 24),
        (
            f"Device time ({pdf.zone})",
            "BP mmHg",
            "HR /min",
            "SpO2 %",
            "RR /min",
            "Temp C",
            "Context",
            "Source",
        ),
        rows,
    )


def _alarms(pdf: _Record) -> None:
    d = pdf.data.detail
    pdf.heading("Alarms and acknowledgements")
    if not d.alerts:
        pdf.text_line("No alarms.")
        return
    rows = []
    for a in sorted(d.alerts, key=lambda x: (x.raised_at, x.id)):
        acks = [f"{pdf.name(k.by)} at {pdf.hm(k.at)}: {k.action_taken}" for k in a.acknowledgements]
        if not acks and a.acknowledged_at:
            acks = [f"{pdf.name(a.acknowledged_by)} at {pdf.hm(a.acknowledged_at)}: {a.action_taken or '-'}"]
        end = f"resolved {pdf.hm(a.resolved_at)}" if a.resolved_at else a.status_text
        if a.resolution:
            end += f": {a.resolution}"
        rows.append(
            [
                pdf.hm(a.raised_at),
                a.priority.upper(),
                f"{a.title}. {a.trigger}. Advised: {plain(a.advice)} ({plain(a.source or '')})",
                "\n".join(acks) or "not acknowledged",
                end,
            ]
        )
    pdf.grid((20, 15, 67, 50, 34), (f"Raised ({pdf.zone})", "Priority", "Alarm and advice",
                                     "Acknowledged (who, when, action taken)", "Ended"), rows)  # fmt: skip


def _side_effects(pdf: _Record) -> None:
    d = pdf.data.detail
    pdf.heading("Side effects and rescue medication")
    if not d.side_effects:
        pdf.text_line("No side effects recorded.")
    else:
        rows = []
        for x in d.side_effects:
            if x.resolved_at:
                res = pdf.hm(x.resolved_at) + (f": {x.resolution}" if x.resolution else "")
            else:
                res = "not resolved"
            rows.append(
                [x.type.replace("_", " "), f"{x.grade} ({x.grade_label})", pdf.hm(x.onset_at), res,
                 x.description or ""]
            )  # fmt: skip
        pdf.grid((30, 28, 22, 50, 56), ("Side effect", "Grade", f"Onset ({pdf.zone})", "Resolved", "Description"),
                 rows)  # fmt: skip
    if not d.rescue:
        pdf.text_line("No rescue medication given.")
        return
    pdf.ln(1)
    rows = [
        [r.drug, fmt.amount(r.dose_mg, "mg"), r.route, r.indication.replace("_", " "), pdf.hm(r.given_at),
         pdf.name(r.by)]
        for r in d.rescue
    ]  # fmt: skip
    pdf.grid((40, 22, 18, 40, 24, 42), ("Rescue medicine", "Dose", "Route", "For", f"Given ({pdf.zone})", "By"),
             rows)  # fmt: skip


def _instrument(instrument_id: str) -> str:
    """Return an instrument's short name ("CADSS-6", "MOAA/S"), or its id when the catalogue lacks it."""
    try:
        return load_instrument(instrument_id).short_name
    except InvalidValue:
        return instrument_id


def _assessments(pdf: _Record) -> None:
    d = pdf.data.detail
    pdf.heading("Assessments")
    rows = []
    for a in d.assessments:
        if a.status == "done":
            rows.append(
                [a.label, _instrument(a.instrument_id), fmt.amount(a.total), a.severity or "",
                 pdf.hm(a.answered_at), plain(a.source)]
            )  # fmt: skip
        else:
            rows.append([a.label, "-", "not done", "", "", plain(a.source)])
    pdf.grid((62, 22, 16, 26, 24, 36), ("Assessment", "Instrument", "Score", "Band", f"When ({pdf.zone})", "Source"),
             rows)  # fmt: skip
    if d.aldrete_score is not None:
        full = "; full points for respiration and SpO2" if d.aldrete_respiration_spo2_full else ""
        pdf.text_line(f"Nurse's modified Aldrete entry: {d.aldrete_score}{full}")


def _discharge(pdf: _Record) -> None:
    r = pdf.data.record
    pdf.heading("Discharge checklist")
    dis = r.discharge
    if dis is None:
        if pdf.data.detail.discharged_at:
            pdf.text_line(
                "This session was discharged before the record kept the checklist; the discharge check results"
                " are in the audit trail."
            )
        else:
            pdf.text_line("Not discharged.")
    elif dis.event != "discharge":
        reason = pdf.data.detail.abort_reason
        pdf.text_line(
            f"Not discharged: aborted by {pdf.name(dis.by)} ({dis.role}) at {pdf.when(dis.at)}"
            + (f" ({reason})" if reason else ""),
            "B",
        )
    else:
        pdf.text_line(f"Discharged by {pdf.name(dis.by)} ({dis.role}) at {pdf.when(dis.at)}", "B")
        rows = [
            [i.label, _RESULT[i.result], i.detail, pdf.name(i.by) if i.by else "-", pdf.hm(i.at)]
            for i in dis.items
        ]
        if rows:
            pdf.grid((56, 22, 54, 34, 20), ("Check", "Result", "Shown by", "Who", f"When ({pdf.zone})"), rows)
    _escort_and_instructions(pdf)


def _escort_and_instructions(pdf: _Record) -> None:
    r = pdf.data.record
    e, ins = r.escort, r.instructions
    pdf.heading("Escort and discharge instructions")
    if e is not None:
        who = e.name or "name not recorded"
        if e.phone:
            who += f", {e.phone}"
        pdf.text_line(f"Escort home: {who}")
        pdf.text_line(
            f"Escort confirmed before the session: {_yes_no(e.confirmed)}"
            + (f" ({pdf.name(e.confirmed_by)}, {pdf.hm(e.confirmed_at)})" if e.confirmed_by else "")
            + f"; present at discharge: {_yes_no(e.present)}"
            + (f" ({pdf.name(e.present_by)}, {pdf.hm(e.present_at)})" if e.present_by else "")
        )
    if ins is not None:
        given = _yes_no(ins.given)
        by = f" by {pdf.name(ins.by)} at {pdf.hm(ins.at)}" if ins.by else ""
        pdf.text_line(f"Written discharge instructions given: {given}{by}", "B")
        if ins.given:
            for item in ins.items:
                pdf.text_line(f"  - {item}")
    acks = r.acknowledgements
    if acks is not None:
        version = "-" if acks.instructions_version is None else str(acks.instructions_version)
        pdf.text_line(f"Discharge instructions version {version} acknowledged by:", "B")
        for a in acks.items:
            pdf.text_line(f"  - {a.party}: {a.name} at {pdf.hm(a.at)} (recorded by {pdf.name(a.recorded_by)})")
        if not acks.items:
            pdf.text_line("  - nobody (see the discharge checklist for an override and its reason)")


def _words(check_id: str) -> str:
    return check_id.replace("_", " ")


def _workflow(pdf: _Record) -> None:
    d = pdf.data.detail
    pdf.heading("Workflow (every step, refusals and overrides)")
    rows = []
    for t in d.transitions:
        note = ""
        if t.overrides:
            note = "OVERRIDE " + "; ".join(f"{_words(o['guard_id'])}: {o['reason']}" for o in t.overrides)
        if not t.allowed:
            note = "REFUSED: " + ", ".join(_words(g["id"]) for g in t.failed_guards)
        if t.reason and t.allowed and not t.overrides:
            note = t.reason
        rows.append(
            [
                pdf.hm(t.at),
                t.event.replace("_", " "),
                f"{t.from_} -> {t.to}",
                f"{pdf.name(t.by)} ({t.role})",
                note,
            ]
        )
    pdf.grid((28, 24, 40, 38, 56), (f"Time ({pdf.zone})", "Step", "State", "By", "Note"), rows)


def _rems(pdf: _Record) -> None:
    d = pdf.data.detail
    if d.rems_missing is None:
        return
    pdf.heading("Esketamine REMS monitoring form")
    for m in [f"{plain(m.message)} ({plain(m.source)})" for m in d.rems_missing] or ["Complete."]:
        pdf.text_line(m)


def _signatures(pdf: _Record) -> None:
    d, data = pdf.data.detail, pdf.data
    pdf.heading("Signatures and record hash")
    if not d.signatures:
        pdf.text_line("Not signed.")
        pdf.text_line(f"SHA-256 of the record as it stands: {d.verification.current_sha256}")
    for g in d.signatures:
        m = signing.meaning(g.meaning)
        meaning = f"{m.label}: s" if m else "S"
        pdf.text_line(f"{meaning}igned by {pdf.name(g.by)} ({g.role}) at {pdf.when(g.signed_at)}")
        if m:
            pdf.text_line(f"  {m.statement}")
    if d.signatures:
        version = (data.signed_format or RECORD_FORMAT).rsplit("/", 1)[-1]
        pdf.text_line(f"Record SHA-256 (canonical record, format {version}): {d.signatures[0].sha256}", "B")
        v = d.verification
        pdf.text_line(
            "Verified: the record matches its signatures."
            if v.intact
            else "WARNING: " + "; ".join(v.problems)
        )
        if data.signed_format and data.signed_format != RECORD_FORMAT:
            pdf.text_line(
                f"Signed in record format {version}: the order, assessments, discharge checklist, escort and"
                " instructions printed here were not part of what was signed."
                if data.signed_format == RECORD_V1
                else f"Signed in record format {version}: the acknowledgements of the discharge instructions"
                " printed here were not part of what was signed."
            )
    for a in d.addenda:
        pdf.ln(1)
        pdf.text_line(f"Addendum by {pdf.name(a.by)} ({a.role}) at {pdf.when(a.at)}", "B")
        pdf.text_line(a.text)
        pdf.text_line(f"SHA-256 {a.sha256} (follows {a.prev_sha256[:16]}...)")


SECTIONS = (
    _summary,
    _order_and_dose,
    _pump,
    _vitals,
    _alarms,
    _side_effects,
    _assessments,
    _discharge,
    _workflow,
    _rems,
    _signatures,
)


def render_pdf(data: RecordPrint, who: ClinicIdentity | None = None, tz: tzinfo = UTC) -> bytes:
    """Return the session record as PDF bytes; times in `tz` (the clinic's zone), named on every page."""
    pdf = _Record(data, who or ClinicIdentity(name="Ketacare clinic"), tz)
    pdf.add_page()
    for section in SECTIONS:
        section(pdf)
    return bytes(pdf.output())


@router.get("/sessions/{session_id}/record.pdf")
def session_pdf(
    request: Request, session_id: int, actor: Actor = Depends(Access("infusion_session", "read"))
) -> Response:
    db = request.app.state.db
    data = record.record_for_pdf(db=db, actor=actor, session_id=session_id)
    who = clinic.clinic_identity(db, request.app.state.settings)
    return Response(
        render_pdf(data, who, fmt.zone(who.timezone)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="session-{session_id}.pdf"'},
    )
