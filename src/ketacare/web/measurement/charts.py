"""Score trend charts: server-rendered SVG with severity bands, session marks, baseline and outcome markers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from ketacare.services.measurement.schemas import InstrumentSeries

BAND_SHADES = ("band0", "band1", "band2", "band3", "band4", "band5")


def score_chart(
    series: InstrumentSeries, session_times: list[datetime], *, width: int = 640, height: int = 230
) -> str:
    """Return an SVG of one instrument's totals over time (accessible title; the table beside it has the data)."""
    pts = series.points
    if not pts:
        return f'<p class="muted">No {escape(series.short_name)} scores yet.</p>'
    pad_l, pad_r, pad_t, pad_b = 40, 170, 16, 30
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    x0 = pts[0].answered_at.timestamp()
    x1 = max(pts[-1].answered_at.timestamp(), x0 + 86400)
    y0, y1 = series.min_total, series.max_total

    def sx(t: float) -> float:
        return pad_l + (t - x0) / (x1 - x0) * w

    def sy(v: float) -> float:
        return pad_t + h - (v - y0) / max(y1 - y0, 1) * h

    parts = []
    for k, (lo, hi, label) in enumerate(series.bands):
        top, bottom = sy(hi + 0.5 if hi < y1 else hi), sy(lo - 0.5 if lo > y0 else lo)
        parts.append(
            f'<rect x="{pad_l}" y="{top:.1f}" width="{w}" height="{bottom - top:.1f}" '
            f'class="{BAND_SHADES[min(k, len(BAND_SHADES) - 1)]}"><title>{escape(label)}: {lo}-{hi}</title></rect>'
            f'<text x="{pad_l + w + 6}" y="{(top + bottom) / 2 + 4:.1f}" class="axis">'
            f"{escape(label)} ({lo}-{hi})</text>"
        )
    for v in (y0, (y0 + y1) // 2, y1):
        parts.append(f'<text x="{pad_l - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{v}</text>')
    lo_t, hi_t = datetime.fromtimestamp(x0, tz=UTC), datetime.fromtimestamp(x1, tz=UTC)
    for t in session_times:
        if lo_t - timedelta(days=1) <= t <= hi_t + timedelta(days=1):
            x = sx(min(max(t.timestamp(), x0), x1))
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{pad_t}" y2="{pad_t + h}" class="session">'
                f"<title>Session {t:%Y-%m-%d %H:%M}</title></line>"
            )
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{sx(p.answered_at.timestamp()):.1f},{sy(p.total):.1f}"
        for i, p in enumerate(pts)
    )
    parts.append(f'<path d="{path}" class="line"/>')
    base_id = series.baseline.response_id if series.baseline else None
    for p in pts:
        x, y = sx(p.answered_at.timestamp()), sy(p.total)
        tip = (
            f"{p.answered_at:%Y-%m-%d} {p.context.replace('_', ' ')}: {p.total:g} ({p.severity or 'no band'})"
        )
        if p.response_id == base_id:
            parts.append(
                f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" class="baseline">'
                f"<title>Baseline {escape(tip)}</title></rect>"
            )
            continue
        mark = ""
        if p.outcomes.get("remission"):
            mark = "Rem"
        elif p.outcomes.get("response"):
            mark = "R"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="dot"><title>{escape(tip)}</title></circle>'
        )
        if mark:
            parts.append(
                f'<text x="{x:.1f}" y="{y - 8:.1f}" class="marker" text-anchor="middle">{mark}</text>'
            )
    first, last = pts[0].answered_at.strftime("%Y-%m-%d"), pts[-1].answered_at.strftime("%Y-%m-%d")
    parts.append(f'<text x="{pad_l}" y="{height - 8}" class="axis">{first}</text>')
    parts.append(f'<text x="{pad_l + w}" y="{height - 8}" class="axis" text-anchor="end">{last}</text>')
    latest = pts[-1]
    label = (
        f"{series.short_name} over time, {len(pts)} scores from {first} to {last}; latest {latest.total:g} "
        f"({latest.severity or 'no band'})"
    )
    return (
        f'<svg class="chart score-chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(parts)}</svg>"
    )
