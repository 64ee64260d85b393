"""The course chart: primary-instrument scores over the course (before each session and at 24 h) with each
session's dose as a bar, the goal and the response line; server-rendered SVG with a title and description."""

from __future__ import annotations

from datetime import datetime
from html import escape

from ketacare.services.plans.schemas import CourseView

W, H = 720, 260
PAD_L, PAD_R, PAD_T, PAD_B = 48, 56, 24, 40
SQUARE = 'fill="#fff" stroke="#17324d" stroke-width="2"'  # the 24-hour score marker


def course_svg(view: CourseView, day_label: str = "day") -> str:
    """Return the SVG chart of the course, or an empty-state note when nothing is recorded yet."""
    pts = view.scores
    rows = view.rows
    if not pts and not rows:
        return '<p class="muted">No scores or sessions recorded against this plan yet.</p>'
    times = [p.answered_at for p in pts] + [r.started_at for r in rows]
    t0, t1 = min(times), max(times)
    span = max((t1 - t0).total_seconds(), 86400.0)
    ymax = max([p.total for p in pts] + [view.baseline or 0.0, 1.0]) * 1.15
    dmax = max([r.dose_mg_per_kg or 0.0 for r in rows] + [0.1]) * 1.25
    w, h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(t: datetime) -> float:
        return PAD_L + (t - t0).total_seconds() / span * w

    def sy(v: float) -> float:
        return PAD_T + h - v / ymax * h

    def sd(v: float) -> float:
        return PAD_T + h - v / dmax * h

    parts: list[str] = []
    for k in range(5):
        v = ymax * k / 4
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
            f'<text x="{PAD_L - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{v:.0f}</text>'
        )
        d = dmax * k / 4
        parts.append(f'<text x="{W - PAD_R + 6}" y="{sd(d) + 4:.1f}" class="axis">{d:.2f}</text>')
    bar = max(6.0, min(18.0, w / max(len(rows), 1) / 3))
    for r in rows:
        if r.dose_mg_per_kg is None:
            continue
        x = sx(r.started_at)
        parts.append(
            f'<rect x="{x - bar / 2:.1f}" y="{sd(r.dose_mg_per_kg):.1f}" width="{bar:.1f}" '
            f'height="{PAD_T + h - sd(r.dose_mg_per_kg):.1f}" fill="#b9cbe6" stroke="#4a6a9a">'
            f"<title>Session {r.number}: {r.dose_mg_per_kg:.2f} mg/kg</title></rect>"
            f'<text x="{x:.1f}" y="{H - PAD_B + 14}" class="axis" text-anchor="middle">S{r.number}</text>'
        )
    if view.baseline:
        resp = view.baseline * 0.5
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(resp):.1f}" y2="{sy(resp):.1f}" stroke="#1d6b3a" '
            f'stroke-dasharray="6 4"/><text x="{PAD_L + 4}" y="{sy(resp) - 4:.1f}" class="axis" fill="#1d6b3a">'
            f"response (50 % below baseline {view.baseline:.0f})</text>"
        )
    for g in view.plan.content.goals:
        if g.instrument_id == view.primary_instrument:
            parts.append(
                f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(g.target_score):.1f}" y2="{sy(g.target_score):.1f}" '
                f'stroke="#7a4b00" stroke-dasharray="2 3"/><text x="{W - PAD_R - 4}" y="{sy(g.target_score) - 4:.1f}" '
                f'class="axis" text-anchor="end" fill="#7a4b00">goal ≤ {g.target_score:.0f}</text>'
            )
    if pts:
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(p.answered_at):.1f},{sy(p.total):.1f}" for i, p in enumerate(pts)
        )
        parts.append(f'<path d="{path}" class="line" fill="none"/>')
        for p in pts:
            kind = (
                "24 h after"
                if p.context == "follow_up_24h"
                else ("before" if p.context == "pre_session" else p.context.replace("_", " "))
            )
            shape = (
                f'<rect x="{sx(p.answered_at) - 4:.1f}" y="{sy(p.total) - 4:.1f}" width="8" height="8" {SQUARE}>'
                if p.context == "follow_up_24h"
                else f'<circle cx="{sx(p.answered_at):.1f}" cy="{sy(p.total):.1f}" r="4" class="dot">'
            )
            close = "</rect>" if p.context == "follow_up_24h" else "</circle>"
            label = f"session {p.session_number}, " if p.session_number else ""
            parts.append(f"{shape}<title>{escape(label + kind)}: {p.total:.0f}</title>{close}")
    instrument = escape(view.primary_instrument.upper().replace("_", "-"))
    first_day, last_day = t0.date().isoformat(), t1.date().isoformat()
    parts.append(
        f'<text x="{PAD_L - 6}" y="14" class="axis" text-anchor="end">{instrument}</text>'
        f'<text x="{W - PAD_R + 6}" y="14" class="axis">mg/kg</text>'
        f'<text x="{PAD_L}" y="{H - 6}" class="axis">{first_day}</text>'
        f'<text x="{W - PAD_R}" y="{H - 6}" class="axis" text-anchor="end">{last_day}</text>'
        f'<circle cx="{PAD_L + 200}" cy="{H - 10}" r="4" class="dot"/>'
        f'<text x="{PAD_L + 208}" y="{H - 6}" class="axis">before session</text>'
        f'<rect x="{PAD_L + 306}" y="{H - 14}" width="8" height="8" {SQUARE}/>'
        f'<text x="{PAD_L + 318}" y="{H - 6}" class="axis">24 h after</text>'
        f'<rect x="{PAD_L + 392}" y="{H - 14}" width="10" height="8" fill="#b9cbe6" stroke="#4a6a9a"/>'
        f'<text x="{PAD_L + 406}" y="{H - 6}" class="axis">dose (mg/kg)</text>'
    )
    latest = pts[-1].total if pts else None
    desc = (
        f"{instrument} scores over the course from {first_day} to {last_day}: baseline "
        f"{'not recorded' if view.baseline is None else f'{view.baseline:.0f}'}, latest "
        f"{'none' if latest is None else f'{latest:.0f}'}; {len(rows)} sessions given with their doses as bars. "
        "The table below holds the same values."
    )
    return (
        f'<svg class="chart course-chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="cc-t cc-d">'
        f'<title id="cc-t">Response over the course</title><desc id="cc-d">{escape(desc)}</desc>'
        f"{''.join(parts)}</svg>"
    )
