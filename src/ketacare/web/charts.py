"""Small server-rendered SVG charts (no script needed to read them; accessible titles and data tables)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


def trend_svg(
    points: list[Point],
    *,
    unit: str,
    title: str,
    width: int = 560,
    height: int = 180,
    decimals: int = 1,
    x_label: Callable[[datetime], str] | None = None,
) -> str:
    """Return an SVG line chart of dated values with labelled axes, or an empty-state note."""
    if not points:
        return f'<p class="muted">No {escape(title.lower())} recorded yet.</p>'
    pad_l, pad_r, pad_t, pad_b = 56, 16, 22, 30
    # Within one day (an infusion session) the time of day is what matters; over weeks, the date.
    same_day = points[-1].at - points[0].at < timedelta(days=1)
    fmt = "%H:%M" if same_day else "%Y-%m-%d"

    def label(at: datetime) -> str:
        return x_label(at) if x_label else at.strftime(fmt)

    xs = [p.at.timestamp() for p in points]
    ys = [p.value for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    span = max(y1 - y0, max(abs(y1) * 0.04, 1.0))
    floor = 0.0 if min(ys) >= 0 else None  # never draw a negative axis for quantities that cannot be negative
    y0, y1 = y0 - span * 0.15, y1 + span * 0.15
    if floor is not None:
        y0 = max(y0, floor)
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (w / 2 if x1 == x0 else (x - x0) / (x1 - x0) * w)

    def sy(y: float) -> float:
        return pad_t + h - (y - y0) / (y1 - y0) * h

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    )
    ticks = []
    for k in range(4):
        v = y0 + (y1 - y0) * k / 3
        ticks.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
            f'<text x="{pad_l - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{v:.{decimals}f}</text>'
        )
    dots = "".join(
        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" class="dot"><title>{escape(label(p.at))}: '
        f"{y:.{decimals}f} {escape(unit)}</title></circle>"
        for x, y, p in zip(xs, ys, points, strict=True)
    )
    first, last = label(points[0].at), label(points[-1].at)
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)} trend, '
        f'{len(points)} values from {first} to {last}, latest {ys[-1]:.{decimals}f} {escape(unit)}">'
        f"<title>{escape(title)} ({escape(unit)})</title>{''.join(ticks)}"
        f'<text x="{pad_l - 6}" y="12" class="axis" text-anchor="end">{escape(unit)}</text>'
        f'<path d="{path}" class="line"/>{dots}'
        f'<text x="{pad_l}" y="{height - 8}" class="axis">{first}</text>'
        f'<text x="{width - pad_r}" y="{height - 8}" class="axis" text-anchor="end">{last}</text></svg>'
    )
