"""Outcome reports as PDF (fpdf2, core fonts): a patient's progress report (for the patient and the referring
clinician) and the clinic's quarterly outcomes report (aggregates only)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fpdf import FPDF

from ketacare.domain import formatting as fmt
from ketacare.domain.sources import plain
from ketacare.http.access import Access
from ketacare.services import clinic, clock, outcomes
from ketacare.services.access import Actor
from ketacare.services.clinic import ClinicIdentity

router = APIRouter(include_in_schema=False)


def _t(x: Any) -> str:
    return str(x).replace("\u2013", "-").replace("\u2264", "<=").encode("latin-1", "replace").decode("latin-1")


def _pct(p: float | None) -> str:
    return "-" if p is None else f"{100 * p:.0f} %"


def _rate(r: outcomes.RateRead) -> str:
    if r.n == 0:
        return "no patients"
    return f"{r.k} of {r.n}, {_pct(r.proportion)} (95 % CI {_pct(r.low)} to {_pct(r.high)})"


class _Doc(FPDF):
    def __init__(self, who: ClinicIdentity, title: str, tz: tzinfo) -> None:
        super().__init__(format="A4")
        self.who, self.title_text, self.tz = who, title, tz
        self.set_margins(15, 14, 15)
        self.set_auto_page_break(True, 16)
        self.alias_nb_pages()
        self.add_page()

    def header(self) -> None:
        self.set_font("Helvetica", "B", 11)
        self.cell(110, 5, _t(self.who.name))
        self.set_font("Helvetica", "B", 10)
        self.cell(0, 5, _t(self.title_text), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=8)
        contact = "; ".join(x for x in (self.who.address, self.who.phone and f"Tel. {self.who.phone}") if x)
        self.cell(0, 4, _t(contact), new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="C")

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 6, _t(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=9)

    def para(self, text: str, style: str = "") -> None:
        self.set_font("Helvetica", style, 9)
        self.multi_cell(0, 4.6, _t(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=9)

    def rows(self, head: list[str], rows: list[list[str]], widths: tuple[float, ...]) -> None:
        self.set_font("Helvetica", size=8)
        with self.table(col_widths=widths, width=sum(widths), text_align="LEFT", line_height=4, align="LEFT",
                        padding=0.8) as table:  # fmt: skip
            table.row([_t(h) for h in head])
            for r in rows:
                table.row([_t(c) for c in r])
        self.set_font("Helvetica", size=9)


def progress_report_pdf(o: outcomes.PatientOutcome, who: ClinicIdentity, tz: tzinfo, *, for_patient: bool) -> bytes:
    """Return the progress report of one patient as PDF bytes (plain words when `for_patient`)."""
    pdf = _Doc(who, "Treatment progress report", tz)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, _t(f"Patient: {o.patient_name}   Date of birth: {fmt.day(o.date_of_birth)}   MRN: {o.mrn}"),
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.para(f"Prepared {fmt.day(clock.now().astimezone(tz).date())}. Times are {fmt.zone_label(tz)}.")

    def when(at: datetime | None) -> str:
        return "-" if at is None else fmt.day(at.astimezone(tz).date())

    pdf.heading("How you are doing" if for_patient else "Outcome on the primary instrument")
    if for_patient:
        pdf.para(_patient_words(o, when))
    else:
        pdf.para(f"Diagnosis: {o.diagnosis_display or 'not recorded'}. Primary instrument: {o.instrument_name}. "
                 f"Status: {o.status_words}.")  # fmt: skip
    rows = [
        ["Before treatment (baseline)", _score(o.baseline, when)],
        ["Best", _score(o.best, when)],
        ["Latest", _score(o.latest, when)],
        ["Change", "-" if o.change_points is None else
         f"{o.change_points:+.0f} points" + ("" if o.percent_change is None else f" ({o.percent_change:+.0f} %)")],
        ["Response (" + o.response_rule + ")", when(o.responded_at) if o.responded_at else "not reached"],
        ["Remission (" + o.remission_rule + ")", when(o.remitted_at) if o.remitted_at else "not reached"],
        ["Relapse after a response", when(o.relapsed_at) if o.relapsed_at else "none"],
        ["Sessions given", str(o.sessions_given)],
        ["First session", when(o.first_session_at)],
        ["Total ketamine given (planned doses)", fmt.mg(o.cumulative_dose_mg)],
        ["Side effects recorded", f"{o.side_effects} ({o.side_effects_grade3_or_more} severe)"],
    ]  # fmt: skip
    if not for_patient:
        rows.insert(7, ["Response at about 24 h", {True: "yes", False: "no", None: "no score"}[o.rapid_response]])
        rows.insert(8, ["Reliable change (Jacobson & Truax)",
                        "not computed" if o.reliable_change is None else
                        f"{'yes' if o.reliable_change else 'no'} (RC {o.rci:.2f})"])  # fmt: skip
    pdf.rows(["", ""], rows, (80.0, 100.0))
    if o.history:
        pdf.heading("Scores" if not for_patient else "Your questionnaire scores")
        pdf.rows(["Date", o.instrument_name + " total"], [[when(x.at), f"{x.total:.0f}"] for x in o.history],
                 (60.0, 40.0))  # fmt: skip
    pdf.heading("Definitions and sources")
    pdf.para(plain(f"Response: {o.response_rule}; remission: {o.remission_rule} "
                   f"[{', '.join(k for k in o.rule_sources if k != 'clinic-default')}]."))  # fmt: skip
    for u in o.unverified:
        pdf.para(f"Note: {u}")
    if o.reasons:
        pdf.para("Not judged: " + "; ".join(o.reasons))
    return bytes(pdf.output())


def _score(s: Any, when: Any) -> str:
    return "-" if s is None else f"{s.total:.0f} on {when(s.at)}"


def _patient_words(o: outcomes.PatientOutcome, when: Any) -> str:
    if o.baseline is None or o.latest is None or o.status in ("no_session", "no_baseline", "no_follow_up"):
        return ("There is not enough to compare yet: we need a questionnaire from before your first session and "
                "one after it.")  # fmt: skip
    lower = o.change_points is not None and o.change_points < 0
    text = (f"Your {o.instrument_name} score was {o.baseline.total:.0f} before treatment and is {o.latest.total:.0f} "
            f"now{'; lower scores mean fewer symptoms' if lower else ''}. ")  # fmt: skip
    if o.remitted_at:
        text += f"Since {when(o.remitted_at)} your score has been in the range where symptoms are few. "
    elif o.responded_at:
        text += f"Since {when(o.responded_at)} your symptoms have been at least halved at some point. "
    if o.status == "relapsed":
        text += "Your symptoms have come back more recently; your care team will talk with you about next steps. "
    return text + f"You have had {o.sessions_given} sessions."


def clinic_report_pdf(d: outcomes.Dashboard, who: ClinicIdentity, tz: tzinfo, period: str) -> bytes:
    """Return the clinic's outcomes report for a period as PDF bytes (aggregates only, no patient names)."""
    pdf = _Doc(who, "Clinic outcomes report", tz)
    today = fmt.day(clock.now().astimezone(tz).date())
    pdf.para(f"Period: {period} (patients whose first session fell in it). Prepared {today}.", "B")
    pdf.para(f"{d.patients} patients; {d.judged} with a baseline and a score after the first session (judged).")
    pdf.heading("Cohort flow")
    pdf.rows(["Stage", "Patients", "How it is counted"], [[f.label, str(f.count), f.how] for f in d.flow],
             (30.0, 20.0, 130.0))  # fmt: skip
    pdf.heading("Response and remission")
    rows = [["All judged patients", _rate(d.overall.response), _rate(d.overall.remission)],
            ["Response at about 24 h", _rate(d.rapid_response), ""]]  # fmt: skip
    for title, groups in (("", d.at_points), ("Diagnosis: ", d.by_diagnosis), ("Protocol: ", d.by_protocol),
                          ("Dose: ", d.by_dose_band)):  # fmt: skip
        rows += [[title + g.label, _rate(g.response), _rate(g.remission)] for g in groups if g.response.n]
    pdf.rows(["Group", "Response", "Remission"], rows, (60.0, 60.0, 60.0))
    pdf.heading("Over time")
    pdf.rows(["Week", "Patients", "Mean change from baseline (95 % CI)"],
             [[str(p.week), str(p.n), "-" if p.mean is None else
               f"{p.mean:.0f} %" + ("" if p.low is None else f" ({p.low:.0f} to {p.high:.0f} %)")]
              for p in d.trajectory], (20.0, 25.0, 100.0))  # fmt: skip
    pdf.para(d.model.words)
    pdf.heading("Relapse after response (Kaplan-Meier)")
    pdf.para(f"{d.followed_after_benefit} patients with a response or remission; {d.relapses} relapsed.")
    pdf.rows(["Day", "Still at risk"], [[str(a.day), str(a.n)] for a in d.at_risk], (30.0, 30.0))
    pdf.heading("Safety")
    a = d.adverse
    pdf.para(f"{a.events} side effects in {a.sessions} sessions: {fmt.number(a.per_100, 1)} per 100 sessions "
             f"({fmt.number(a.grade3_per_100, 1)} of grade 3 or more). Median largest systolic rise "
             f"{fmt.number(d.bp_rise_median)} mmHg over {d.bp_rise_sessions} sessions.")  # fmt: skip
    pdf.rows(["Largest systolic rise (mmHg)", "Sessions"], [[b.label, str(b.count)] for b in d.bp_rise],
             (60.0, 30.0))  # fmt: skip
    pdf.heading("Definitions and sources")
    for what, rule, src in d.definitions:
        pdf.para(plain(f"{what}: {rule} [{src}]"))
    return bytes(pdf.output())


def quarter_of(day: date) -> tuple[date, date, str]:
    """Return the first and last day of the calendar quarter holding `day`, and its name ("2026 Q4")."""
    q = (day.month - 1) // 3
    start = date(day.year, 3 * q + 1, 1)
    end = (date(day.year + (q == 3), (3 * q + 3) % 12 + 1, 1)) - timedelta(days=1)
    return start, end, f"{day.year} Q{q + 1}"


@router.get("/outcomes/report.pdf")
def clinic_report(
    request: Request,
    quarter: Annotated[str | None, Query(pattern=r"^\d{4}-Q[1-4]$")] = None,
    actor: Actor = Depends(Access("outcomes", "export")),
) -> Response:
    db = request.app.state.db
    tz = clinic.zone(db)
    if quarter:
        year, q = int(quarter[:4]), int(quarter[-1])
        start, end, name = quarter_of(date(year, 3 * q - 2, 1))
    else:
        start, end, name = quarter_of(clock.now().astimezone(tz).date())
    d = outcomes.dashboard(db=db, actor=actor, filters=outcomes.OutcomeFilters(date_from=start, date_to=end))
    pdf = clinic_report_pdf(d, clinic.clinic_identity(db), tz, f"{name}, {fmt.day(start)} to {fmt.day(end)}")
    filename = f"outcomes-{name.replace(' ', '-')}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@router.get("/patients/{patient_id}/outcome.pdf")
def progress_report(
    request: Request, patient_id: int, actor: Actor = Depends(Access("outcome_summary", "read"))
) -> Response:
    db = request.app.state.db
    o = outcomes.patient_outcome(db=db, actor=actor, patient_id=patient_id)
    pdf = progress_report_pdf(o, clinic.clinic_identity(db), clinic.zone(db), for_patient=actor.patient_id is not None)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="progress-report.pdf"'})  # fmt: skip
