"""Server-rendered SVG of predicted plasma curves: median lines, 5-95% bands, literature concentration ranges."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape

from ketacare.domain import formatting as fmt
from ketacare.domain.pk import ConcentrationRange, PredictedCurve
from ketacare.domain.sources import plain

STYLES = ("solid", "dashed", "dotted")


@dataclass(frozen=True)
class Series:
    label: str
    curve: PredictedCurve


def _nice_step(v: float) -> float:
    """Return a round tick step (1, 2, 2.5 or 5 x 10^k) so that 4 steps cover `v`."""
    raw = max(v, 1.0) / 4
    mag: float = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def curve_svg(
    series: list[Series],
    ranges: tuple[ConcentrationRange, ...],
    *,
    start: datetime | None = None,
    tz: tzinfo = UTC,
    width: int = 760,
    height: int = 300,
) -> str:
    """Return an SVG chart (ng/mL over minutes) with a text alternative; shaded literature ranges behind."""
    if not series:
        return ""
    pad_l, pad_r, pad_t, pad_b = 56, 185, 24, 56
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    t_max = max(float(s.curve.times_min[-1]) for s in series)
    peak = max(float(s.curve.p95_ng_per_ml.max()) for s in series) * 1.05
    y_step = _nice_step(peak)
    y_top = y_step * math.ceil(peak / y_step)

    def sx(t: float) -> float:
        return pad_l + t / t_max * w

    def sy(c: float) -> float:
        return pad_t + h - min(c, y_top) / y_top * h

    parts: list[str] = []
    label_y: list[float] = []
    for r in ranges:
        if r.low_ng_per_ml > y_top:
            continue
        hi = min(r.high_ng_per_ml, y_top)
        cls = "pk-range-" + r.id.replace("_", "-")
        tip = escape(f"{r.label}: {r.low_ng_per_ml:g}-{r.high_ng_per_ml:g} ng/mL. {plain(r.source)}")
        if r.kind == "line":
            tip = escape(f"{r.label}: {r.low_ng_per_ml:g} ng/mL. {plain(r.source)}")
            parts.append(
                f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{sy(r.low_ng_per_ml):.1f}" '
                f'y2="{sy(r.low_ng_per_ml):.1f}" class="pk-refline {cls}"><title>{tip}</title></line>'
            )
        else:
            parts.append(
                f'<rect x="{pad_l}" width="{w}" y="{sy(hi):.1f}" height="{sy(r.low_ng_per_ml) - sy(hi):.1f}" '
                f'class="pk-range {cls}"><title>{tip}</title></rect>'
            )
        y = sy((r.low_ng_per_ml + hi) / 2) + 4 if r.kind == "band" else sy(r.low_ng_per_ml) + 4
        while any(abs(y - other) < 12 for other in label_y):
            y += 12
        label_y.append(y)
        text = (
            f"{r.label} {r.low_ng_per_ml:g}"
            + ("" if r.kind == "line" else f"–{r.high_ng_per_ml:g}")
            + " ng/mL"
        )
        parts.append(f'<text x="{pad_l + w + 6}" y="{y:.1f}" class="pk-range-label">{escape(text)}</text>')
    for k in range(int(round(y_top / y_step)) + 1):
        v = y_step * k
        parts.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
            f'<text x="{pad_l - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{v:g}</text>'
        )
    step = 30 if t_max <= 300 else 60
    t = 0.0
    while t <= t_max + 1e-9:
        label = f"{t:g}"
        if start is not None:
            label = fmt.clock_time(start + timedelta(minutes=t), tz, seconds=False, label=False)
        parts.append(
            f'<text x="{sx(t):.1f}" y="{pad_t + h + 16}" class="axis" text-anchor="middle">{label}</text>'
        )
        t += step
    for i, s in enumerate(series):
        c = s.curve
        style = STYLES[i % len(STYLES)]
        parts.append(
            f'<rect x="{sx(0):.1f}" width="{sx(c.duration_min) - sx(0):.1f}" y="{pad_t + h + 20 + i * 5}" '
            f'height="4" class="pk-infusion pk-s{i}"><title>{escape(s.label)}: infusion '
            f"0-{c.duration_min:g} min</title></rect>"
        )
        upper = " ".join(
            f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
            for j, (x, y) in enumerate(zip(c.times_min, c.p95_ng_per_ml, strict=True))
        )
        lower = " ".join(
            f"L{sx(x):.1f},{sy(y):.1f}" for x, y in zip(c.times_min[::-1], c.p5_ng_per_ml[::-1], strict=True)
        )
        parts.append(f'<path d="{upper} {lower} Z" class="pk-band pk-s{i}"/>')
        med = " ".join(
            f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
            for j, (x, y) in enumerate(zip(c.times_min, c.median_ng_per_ml, strict=True))
        )
        parts.append(f'<path d="{med}" class="pk-median pk-s{i} pk-{style}"/>')
    x_title = (
        f"clock time ({fmt.zone_label(tz, start)})"
        if start is not None
        else "minutes from the start of the infusion"
    )
    desc = "; ".join(
        f"{s.label}: median peak {s.curve.median_ng_per_ml.max():.0f} ng/mL "
        f"(5-95% {s.curve.p5_ng_per_ml.max():.0f}-{s.curve.p95_ng_per_ml.max():.0f}) at the end of the "
        f"{s.curve.duration_min:g}-min infusion"
        for s in series
    )
    return (
        f'<svg class="chart pk-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Predicted plasma ketamine concentration. {escape(desc)}">'
        f"<title>Predicted plasma concentration (ng/mL)</title>{''.join(parts)}"
        f'<text x="8" y="{pad_t - 10}" class="axis">ng/mL</text>'
        f'<text x="{pad_l + w / 2:.0f}" y="{height - 4}" class="axis" text-anchor="middle">{x_title}</text>'
        "</svg>"
    )


def table_rows(
    curve: PredictedCurve, at_min: tuple[float, ...] = (10, 20, 40, 60, 120, 240)
) -> list[dict[str, float]]:
    """Return the curve at a few times (min) for the text table under the chart."""
    rows: list[dict[str, float]] = []
    for t in at_min:
        if t > curve.times_min[-1]:
            continue
        med, lo, hi = curve.at(t)
        rows.append({"t_min": t, "median": med, "p5": lo, "p95": hi})
    return rows
