"""Small server-rendered SVG charts (no script needed to read them; accessible titles and data tables)."""

from __future__ import annotations

import math
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


# ---- several vital signs over one time axis, with their alert limits ----


@dataclass(frozen=True)
class Series:
    """One measured quantity: its points, how its markers look, and which values lie beyond a limit.

    `marker`: "down" (∨, systolic by charting convention), "up" (∧, diastolic), "dot", "square" or "diamond".
    `flag(value)` returns a word for a value beyond an alert limit ("high", "low") or None."""

    key: str
    label: str
    unit: str
    points: list[Point]
    marker: str = "dot"
    flag: Callable[[float], str | None] | None = None


@dataclass(frozen=True)
class LimitLine:
    """An alert limit drawn across a panel: `level` is the alarm priority it raises (high, medium, low)."""

    series: str
    value: float
    label: str
    level: str


@dataclass(frozen=True)
class Panel:
    """One band of the chart: series sharing a unit and a scale, with their limits."""

    key: str
    title: str
    unit: str
    series: tuple[Series, ...]
    limits: tuple[LimitLine, ...] = ()
    height: int = 0  # 0: the chart's panel_height


def _marker(kind: str, x: float, y: float, m: float = 4.5) -> str:
    """Return the marker of one point; `m` is its half-size (smaller where points crowd)."""
    if kind == "down":  # ∨ with its point on the value
        return f'<path d="M{x - m:.1f},{y - m - 1:.1f} L{x:.1f},{y:.1f} L{x + m:.1f},{y - m - 1:.1f}" class="mk open"/>'
    if kind == "up":  # ∧
        return f'<path d="M{x - m:.1f},{y + m + 1:.1f} L{x:.1f},{y:.1f} L{x + m:.1f},{y + m + 1:.1f}" class="mk open"/>'
    if kind == "square":
        a = m * 0.8
        return f'<rect x="{x - a:.1f}" y="{y - a:.1f}" width="{2 * a:.1f}" height="{2 * a:.1f}" class="mk"/>'
    if kind == "diamond":
        d = f"M{x:.1f},{y - m:.1f} L{x + m:.1f},{y:.1f} L{x:.1f},{y + m:.1f} L{x - m:.1f},{y:.1f} Z"
        return f'<path d="{d}" class="mk"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{m * 0.8:.1f}" class="mk"/>'


def _legend_marker(kind: str, x: float, y: float) -> str:
    return _marker(kind, x, y + (3 if kind == "down" else -3 if kind == "up" else 0))


def _nice_step(span: float, n: int = 4) -> float:
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _spread(ys: list[float], lo: float, hi: float, gap: float = 11.0) -> list[float]:
    """Return label positions near `ys` (screen y, any order) at least `gap` apart, within [lo, hi]."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    out = list(ys)
    prev = lo - gap
    for i in order:
        out[i] = max(ys[i], prev + gap)
        prev = out[i]
    over = prev - hi
    if over > 0:  # pushed past the bottom: shift the stack up
        for i in order:
            out[i] -= over
    return out


@dataclass(frozen=True)
class _Frame:
    left: float
    right: float
    t0: float
    t1: float

    def x(self, t: float) -> float:
        w = self.right - self.left
        return self.left + (w / 2 if self.t1 == self.t0 else (t - self.t0) / (self.t1 - self.t0) * w)


def _panel_svg(p: Panel, frame: _Frame, top: float, height: float, x_label: Callable[[datetime], str]) -> str:
    plot_t, plot_b = top + 18, top + height
    vals = [pt.value for s in p.series for pt in s.points] + [lim.value for lim in p.limits]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    pad = max((hi - lo) * 0.08, 1.0)
    lo, hi = lo - pad, hi + pad
    if lo < 0 <= min(vals or [0.0]):
        lo = 0.0

    def sy(v: float) -> float:
        return plot_b - (v - lo) / (hi - lo) * (plot_b - plot_t)

    out = [f'<g class="panel" data-panel="{escape(p.key)}">']
    out.append(
        f'<text x="{frame.left}" y="{top + 12:.1f}" class="panel-title">{escape(p.title)} ({escape(p.unit)})</text>'
    )
    step = _nice_step(hi - lo)
    v = math.ceil(lo / step) * step
    while v <= hi:
        out.append(
            f'<line x1="{frame.left}" x2="{frame.right}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
            f'<text x="{frame.left - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{_fmt(v)}</text>'
        )
        v += step
    label_ys = _spread([sy(lim.value) + 4 for lim in p.limits], plot_t + 4, plot_b + 4)
    for lim, ly in zip(p.limits, label_ys, strict=True):
        y = sy(lim.value)
        out.append(
            f'<line x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'class="limit limit-{escape(lim.level)}" data-limit="{escape(lim.series)}:{_fmt(lim.value)}">'
            f"<title>Alert limit: {escape(lim.label)} ({escape(lim.level)} priority)</title></line>"
            f'<text x="{frame.right + 4}" y="{ly:.1f}" class="limit-label limit-{escape(lim.level)}">'
            f"{escape(lim.label)}</text>"
        )
    for s in p.series:
        if not s.points:
            continue
        xy = [(frame.x(pt.at.timestamp()), sy(pt.value)) for pt in s.points]
        # markers shrink where readings crowd (one a minute for an hour), never below a visible size
        size = max(2.0, min(4.5, (frame.right - frame.left) / max(len(xy), 1) * 0.9))
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy))
        out.append(f'<path d="{d}" class="series s-{escape(s.key)}" data-series="{escape(s.key)}"/>')
        for pt, (x, y) in zip(s.points, xy, strict=True):
            word = s.flag(pt.value) if s.flag else None
            what = f"{x_label(pt.at)}: {s.label} {_fmt(pt.value)} {s.unit}" + (
                f", {word}: beyond an alert limit" if word else ""
            )
            ring = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size + 3:.1f}" class="abn-ring"/>' if word else ""
            cls = f"pt s-{escape(s.key)}" + (" abnormal" if word else "")
            out.append(f'<g class="{cls}"><title>{escape(what)}</title>{ring}{_marker(s.marker, x, y, size)}</g>')
    if not any(s.points for s in p.series):
        out.append(
            f'<text x="{(frame.left + frame.right) / 2:.1f}" y="{(plot_t + plot_b) / 2:.1f}" class="axis" '
            f'text-anchor="middle">no readings</text>'
        )
    out.append("</g>")
    return "".join(out)


def vitals_chart_svg(
    panels: list[Panel],
    *,
    title: str,
    x_label: Callable[[datetime], str],
    time_note: str = "",
    table_id: str = "",
    uid: str = "vitals-chart",
    width: int = 440,
    panel_height: int = 96,
) -> str:
    """Return one SVG of several vital signs over a shared time axis, a band per panel, with the alert limits
    drawn as dashed lines (labelled), a legend, and a title and description for screen readers; points beyond a
    limit are ringed (shape) as well as coloured. An empty-state note when nothing was recorded."""
    times = [pt.at.timestamp() for p in panels for s in p.series for pt in s.points]
    if not times:
        return f'<p class="muted">No {escape(title.lower())} recorded yet.</p>'
    first = min((pt.at for p in panels for s in p.series for pt in s.points), key=lambda t: t.timestamp())
    last = max((pt.at for p in panels for s in p.series for pt in s.points), key=lambda t: t.timestamp())
    frame = _Frame(left=40, right=width - 74, t0=min(times), t1=max(times))
    legend_h = 38
    out: list[str] = []
    # legend: one entry per series (marker shape + name), then the limit line styles
    x, y = 8.0, 14.0
    for p in panels:
        for s in p.series:
            item = f"{s.label} ({s.unit})"
            wide = 22 + 6.6 * len(item)
            if x + wide > width - 8:
                x, y = 8.0, y + 16
            out.append(
                f'<g class="legend-item s-{escape(s.key)}" data-legend="{escape(s.key)}">'
                f"{_legend_marker(s.marker, x + 6, y - 4)}"
                f'<text x="{x + 16:.1f}" y="{y:.1f}" class="legend">{escape(item)}</text></g>'
            )
            x += wide
    levels = sorted({lim.level for p in panels for lim in p.limits}, key=["high", "medium", "low"].index)
    for lv in levels:
        item = f"alert limit ({lv} priority)"
        wide = 30 + 6.6 * len(item)
        if x + wide > width - 8:
            x, y = 8.0, y + 16
        out.append(
            f'<line x1="{x:.1f}" x2="{x + 20:.1f}" y1="{y - 4:.1f}" y2="{y - 4:.1f}" class="limit limit-{lv}"/>'
            f'<text x="{x + 24:.1f}" y="{y:.1f}" class="legend">{escape(item)}</text>'
        )
        x += wide
    top = max(legend_h, y + 10)
    for p in panels:
        h = p.height or panel_height
        out.append(_panel_svg(p, frame, top, h, x_label))
        top += h + 10
    # shared time axis
    axis_y = top + 4
    n = 4 if frame.t1 > frame.t0 else 0
    for k in range(n + 1):
        t = frame.t0 + (frame.t1 - frame.t0) * k / max(n, 1)
        at = datetime.fromtimestamp(t, tz=first.tzinfo)
        anchor = "start" if k == 0 else "end" if k == n else "middle"
        out.append(
            f'<text x="{frame.x(t):.1f}" y="{axis_y + 8:.1f}" class="axis" text-anchor="{anchor}">'
            f"{escape(x_label(at))}</text>"
        )
    height = int(axis_y + 16)
    flagged = [
        f"{s.label} {_fmt(pt.value)} {s.unit} at {x_label(pt.at)} ({s.flag(pt.value)})"
        for p in panels
        for s in p.series
        if s.flag
        for pt in s.points
        if s.flag(pt.value)
    ]
    latest = "; ".join(
        f"{s.label} {_fmt(s.points[-1].value)} {s.unit}" for p in panels for s in p.series if s.points
    )
    limits = "; ".join(f"{lim.label} ({lim.level})" for p in panels for lim in p.limits)
    desc = (
        f"{len(times)} values from {x_label(first)} to {x_label(last)}{(' ' + time_note) if time_note else ''}. "
        f"Latest: {latest}. Alert limits drawn as dashed lines: {limits or 'none'}. "
        + (
            f"{len(flagged)} value(s) beyond a limit, ringed: {'; '.join(flagged[-6:])}. "
            if flagged
            else "No value beyond a limit. "
        )
        + ("Every reading is listed in the table below the chart." if table_id else "")
    )
    described = f"{uid}-t {uid}-d" + (f" {table_id}" if table_id else "")
    return (
        f'<svg class="chart vitals-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-t" aria-describedby="{described}">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        f"{''.join(out)}</svg>"
    )
