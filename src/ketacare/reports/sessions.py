"""Printable PDF of an infusion-session record (fpdf2, core fonts; text limited to Latin-1)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fpdf import FPDF

from ketacare.domain import formatting as fmt
from ketacare.http.access import Access
from ketacare.services.access import Actor
from ketacare.services.sessions import workflow as sessions

router = APIRouter(include_in_schema=False)


def _t(x: Any) -> str:
    return str(x).encode("latin-1", "replace").decode("latin-1")


def render_pdf(s: dict[str, Any], tz: tzinfo = UTC) -> bytes:
    """Return the session record as PDF bytes; times in `tz` (the clinic's zone), named in the header."""

    def _hm(iso: str | None) -> str:
        return fmt.date_time(iso, tz, seconds=True, label=False, empty="-")

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(
        0,
        8,
        _t(f"Infusion session record #{s['id']} - {s['patient']['name']} ({s['patient']['mrn']})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=9)
    lines = [
        f"Chair {s['chair']} | product {s['product'].replace('_', ' ')} | state {s['state']}"
        f" | times {fmt.zone_label(tz, s['scheduled_at'])} (24 h)",
        f"Scheduled {_hm(s['scheduled_at'])} | infusion {_hm(s['infusion_started_at'])}"
        f" to {_hm(s['infusion_ended_at'])}"
        f" | discharged {_hm(s['discharged_at'])}",
    ]
    d = s["dose"]
    dose = f"Dose given {fmt.mg(d['delivered_mg'])}"
    if d.get("planned_mg"):
        dose += f" of {fmt.mg(d['planned_mg'])} ordered"
    if d.get("delivered_mg_per_kg") is not None:
        dose += f" ({d['delivered_mg_per_kg']:.3f} mg/kg)"
    lines.append(dose)
    for line in lines:
        pdf.cell(0, 5, _t(line), new_x="LMARGIN", new_y="NEXT")

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 6, _t(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)

    heading("Workflow (every transition, refusals and overrides)")
    for t in s["transitions"]:
        extra = ""
        if t["overrides"]:
            extra = " OVERRIDE " + "; ".join(
                f"{o['guard_id']} by {o['by']} ({o['role']}): {o['reason']}" for o in t["overrides"]
            )
        if not t["allowed"]:
            extra = " REFUSED: " + "; ".join(g["id"] for g in t["failed_guards"])
        pdf.multi_cell(
            0,
            4,
            _t(f"{_hm(t['at'])}  {t['event']} {t['from']} -> {t['to']} by {t['by']} ({t['role']}){extra}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    heading("Vital signs (device time; BP mmHg, HR /min, SpO2 %, RR /min)")
    with pdf.table(col_widths=(34, 22, 16, 16, 16, 20, 18), text_align="LEFT", line_height=4) as table:
        table.row(["Device time", "BP", "HR", "SpO2", "RR", "Context", "Source"])
        for v in s["vitals"]:
            bp = f"{fmt.vital(v['sbp'])}/{fmt.vital(v['dbp'])}" if v["sbp"] is not None else ""
            table.row(
                [_hm(v["measured_at"]), bp]
                + [fmt.vital(v[k], empty="") for k in ("hr", "spo2", "rr")]
                + [v["context"], v["source"]]
            )
    heading("Alerts")
    for a in s["alerts"] or [{"title": "none"}]:
        if "priority" not in a:
            pdf.cell(0, 4, "None.", new_x="LMARGIN", new_y="NEXT")
            continue
        ack = (
            f"; acknowledged by {a['acknowledged_by']} {_hm(a['acknowledged_at'])}: {a['action_taken']}"
            if a["acknowledged_at"]
            else ""
        )
        res = f"; resolved {_hm(a['resolved_at'])}: {a['resolution']}" if a["resolved_at"] else ""
        pdf.multi_cell(
            0,
            4,
            _t(f"[{a['priority'].upper()}] {a['title']} - {a['trigger']} - advised: {a['advice']}{ack}{res}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    heading("Pump events")
    for e in s["infusion_events"]:
        rate = f" {fmt.number(e['rate_ml_per_h'], 1)} mL/h" if e["rate_ml_per_h"] is not None else ""
        bolus = f" {fmt.mg(e['bolus_mg'])}" if e["bolus_mg"] else ""
        pdf.cell(0, 4, _t(f"{_hm(e['at'])}  {e['kind']}{rate}{bolus}"), new_x="LMARGIN", new_y="NEXT")
    heading("Side effects and rescue medication")
    for x in s["side_effects"]:
        pdf.cell(
            0,
            4,
            _t(
                f"{x['type']} grade {x['grade']} ({x['grade_label']}) onset {_hm(x['onset_at'])}"
                + (
                    f" resolved {_hm(x['resolved_at'])}" + (f": {x['resolution']}" if x.get("resolution") else "")
                    if x["resolved_at"]
                    else " not resolved"
                )
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    for r in s["rescue"]:
        pdf.cell(
            0,
            4,
            _t(
                f"{r['drug']} {fmt.amount(r['dose_mg'], 'mg')} {r['route']} for {r['indication']}"
                f" at {_hm(r['given_at'])} by {r['by']}"
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if s.get("rems_missing") is not None:
        heading("Esketamine REMS monitoring form")
        msgs = [m["message"] for m in s["rems_missing"]] or ["Complete."]
        for m in msgs:
            pdf.multi_cell(0, 4, _t(m), new_x="LMARGIN", new_y="NEXT")
    heading("Signatures (SHA-256 of the canonical record)")
    for g in s["signatures"] or [{"none": True}]:
        if "none" in g:
            pdf.cell(0, 4, "Not signed.", new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.multi_cell(
            0,
            4,
            _t(f"{g['role']}: {g['by']} at {_hm(g['signed_at'])}  {g['sha256']}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    v = s["verification"]
    if v["signed"]:
        pdf.cell(
            0,
            4,
            _t("Record intact." if v["intact"] else "WARNING: " + "; ".join(v["problems"])),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    for a in s["addenda"]:
        pdf.multi_cell(
            0,
            4,
            _t(f"Addendum {_hm(a['at'])} by {a['by']} ({a['role']}): {a['text']}  [{a['sha256']}]"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


@router.get("/sessions/{session_id}/record.pdf")
def session_pdf(
    request: Request, session_id: int, actor: Actor = Depends(Access("infusion_session", "read"))
):
    data = sessions.record_for_pdf(db=request.app.state.db, actor=actor, session_id=session_id)
    return Response(
        render_pdf(data, fmt.zone(request.app.state.settings.timezone)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="session-{session_id}.pdf"'},
    )
