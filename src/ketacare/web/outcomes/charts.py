"""Outcome charts as server-rendered SVG: rates with interval whiskers, a mean line with its band, a
Kaplan-Meier step curve and a histogram. Each has a title and an aria-label; the page puts a table beside it."""

from __future__ import annotations

from html import escape

from ketacare.services.outcomes import GroupRate
from ketacare.services.outcomes.schemas import CountBin, SurvivalPoint, TrajectoryPoint


def _svg(width: int, height: int, label: str, body: str, cls: str = "") -> str:
    return (
        f'<svg class="chart outcome-chart {cls}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{body}</svg>'
    )


def _axis_title(x: float, y: float, text: str) -> str:
    return f'<text x="{x}" y="{y}" class="axis" text-anchor="end">{escape(text)}</text>'


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


def rate_bars(rows: list[GroupRate], title: str, *, width: int = 640) -> str:
    """Return horizontal bars of response and remission per group with 95 % Wilson whiskers."""
    rows = [r for r in rows if r.response.n > 0]
    if not rows:
        return f'<p class="muted">No patients to show for {escape(title.lower())}.</p>'
    pad_l, pad_r, row_h = 190, 60, 34
    height = 24 + row_h * len(rows) + 22
    w = width - pad_l - pad_r

    def sx(p: float) -> float:
        return pad_l + p * w

    parts = [f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="18" y2="{height - 22}" class="grid"/>'
             f'<text x="{sx(x):.1f}" y="{height - 6}" class="axis" text-anchor="middle">{int(x * 100)} %</text>'
             for x in (0, 0.25, 0.5, 0.75, 1.0)]  # fmt: skip
    parts.append(
        f'<rect x="{pad_l}" y="2" width="10" height="10" class="bar-response"/>'
        f'<text x="{pad_l + 14}" y="11" class="axis">response</text>'
        f'<rect x="{pad_l + 90}" y="2" width="10" height="10" class="bar-remission"/>'
        f'<text x="{pad_l + 104}" y="11" class="axis">remission</text>'
    )
    for i, r in enumerate(rows):
        y = 22 + i * row_h
        parts.append(
            f'<text x="{pad_l - 8}" y="{y + 14}" class="axis" text-anchor="end">{escape(r.label[:30])}</text>'
            f'<text x="{pad_l - 8}" y="{y + 26}" class="axis" text-anchor="end">n = {r.response.n}</text>'
        )
        for k, (rate, cls) in enumerate(((r.response, "bar-response"), (r.remission, "bar-remission"))):
            if rate.proportion is None:
                continue
            yy = y + 3 + k * 13
            parts.append(
                f'<rect x="{pad_l}" y="{yy}" width="{rate.proportion * w:.1f}" height="11" class="{cls}">'
                f"<title>{escape(r.label)} {cls[4:]}: {rate.k} of {rate.n}, {_pct(rate.proportion)} "
                f"(95 % CI {_pct(rate.low)} to {_pct(rate.high)})</title></rect>"
            )
            if rate.low is not None and rate.high is not None:
                yc = yy + 5.5
                parts.append(
                    f'<path d="M{sx(rate.low):.1f},{yc} H{sx(rate.high):.1f} M{sx(rate.low):.1f},{yc - 4} '
                    f'V{yc + 4} M{sx(rate.high):.1f},{yc - 4} V{yc + 4}" class="whisker"/>'
                )
    label = f"{title}: response and remission with 95 % intervals, " + "; ".join(
        f"{r.label} {_pct(r.response.proportion)} response of {r.response.n}" for r in rows
    )
    return _svg(width, height, label, "".join(parts))


def trajectory(points: list[TrajectoryPoint], *, width: int = 640, height: int = 240) -> str:
    """Return the mean percent change from baseline by week with its 95 % band."""
    pts = [p for p in points if p.mean is not None]
    if len(pts) < 2:
        return '<p class="muted">Not enough scores after the first session to draw a trajectory.</p>'
    pad_l, pad_r, pad_t, pad_b = 48, 16, 12, 30
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    x1 = max(p.week for p in pts) or 1
    lo = min([-100.0, *(p.mean or 0 for p in pts), *(p.low for p in pts if p.low is not None)])
    hi = max([20.0, *(p.mean or 0 for p in pts), *(p.high for p in pts if p.high is not None)])

    def sx(x: float) -> float:
        return pad_l + x / x1 * w

    def sy(v: float) -> float:
        return pad_t + (hi - v) / (hi - lo) * h

    parts = []
    for v in range(int(lo // 25 * 25), int(hi) + 1, 25):
        if lo <= v <= hi:
            parts.append(
                f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
                f'<text x="{pad_l - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{v} %</text>'
            )
    parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{sy(-50):.1f}" y2="{sy(-50):.1f}" class="limit">'
                 "<title>50 % reduction: the usual response threshold</title></line>")  # fmt: skip
    band = [p for p in pts if p.low is not None and p.high is not None]
    if len(band) >= 2:
        top = " ".join(f"{sx(p.week):.1f},{sy(p.high or 0):.1f}" for p in band)
        bottom = " ".join(f"{sx(p.week):.1f},{sy(p.low or 0):.1f}" for p in reversed(band))
        parts.append(f'<polygon points="{top} {bottom}" class="ci-band"/>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(p.week):.1f},{sy(p.mean or 0):.1f}" for i, p in enumerate(pts))
    parts.append(f'<path d="{path}" class="line"/>')
    for p in pts:
        parts.append(f'<circle cx="{sx(p.week):.1f}" cy="{sy(p.mean or 0):.1f}" r="3" class="dot">'
                     f"<title>Week {p.week}: mean {p.mean:.0f} % (n = {p.n})</title></circle>")  # fmt: skip
        parts.append(
            f'<text x="{sx(p.week):.1f}" y="{height - 10}" class="axis" text-anchor="middle">{p.week}</text>'
        )
    parts.append(_axis_title(pad_l + w, height - 0.5, "weeks since first session"))
    last = pts[-1]
    label = (f"Mean change from baseline by week: week {last.week} mean {last.mean:.0f} % "
             f"(n = {last.n}); the band is the 95 % confidence interval")  # fmt: skip
    return _svg(width, height, label, "".join(parts))


def survival(points: list[SurvivalPoint], *, width: int = 640, height: int = 220) -> str:
    """Return the Kaplan-Meier curve of staying free of relapse, with its 95 % band (days on the x axis)."""
    if not points:
        return '<p class="muted">No patient has had a response yet, so there is no time to relapse to show.</p>'
    pad_l, pad_r, pad_t, pad_b = 48, 16, 12, 30
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    x1 = max(max(p.day for p in points), 1.0)

    def sx(x: float) -> float:
        return pad_l + x / x1 * w

    def sy(v: float) -> float:
        return pad_t + (1 - v) * h

    parts = [f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
             f'<text x="{pad_l - 6}" y="{sy(v) + 4:.1f}" class="axis" text-anchor="end">{int(v * 100)} %</text>'
             for v in (0, 0.25, 0.5, 0.75, 1.0)]  # fmt: skip
    step, lo_path, hi_path = [], [], []
    prev = points[0]
    for i, p in enumerate(points):
        cmd = "M" if i == 0 else "L"
        if i:
            step.append(f"L{sx(p.day):.1f},{sy(prev.survival):.1f}")
        step.append(f"{cmd}{sx(p.day):.1f},{sy(p.survival):.1f}")
        if p.low is not None and p.high is not None:
            lo_path.append((sx(p.day), sy(p.low)))
            hi_path.append((sx(p.day), sy(p.high)))
        prev = p
    step.append(f"L{sx(x1):.1f},{sy(prev.survival):.1f}")
    if len(hi_path) >= 2:
        poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in hi_path + lo_path[::-1])
        parts.append(f'<polygon points="{poly}" class="ci-band"/>')
    parts.append(f'<path d="{" ".join(step)}" class="line"/>')
    for d in (0, x1 / 2, x1):
        parts.append(f'<text x="{sx(d):.1f}" y="{height - 10}" class="axis" text-anchor="middle">{d:.0f}</text>')
    parts.append(_axis_title(pad_l + w, height - 0.5, "days since first benefit"))
    label = (f"Kaplan-Meier: share of responders still free of relapse; {_pct(prev.survival)} at day "
             f"{prev.day:.0f}")  # fmt: skip
    return _svg(width, height, label, "".join(parts))


def histogram(bins: list[CountBin], *, unit: str, title: str, width: int = 640, height: int = 200) -> str:
    """Return a bar chart of counts per bin."""
    total = sum(b.count for b in bins)
    if not total:
        return f'<p class="muted">No {escape(title.lower())} recorded.</p>'
    pad_l, pad_r, pad_t, pad_b = 44, 12, 12, 34
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max(b.count for b in bins)
    bw = w / len(bins)
    parts = []
    for i, b in enumerate(bins):
        bh = b.count / top * h
        x = pad_l + i * bw
        parts.append(
            f'<rect x="{x + 4:.1f}" y="{pad_t + h - bh:.1f}" width="{bw - 8:.1f}" height="{bh:.1f}" '
            f'class="bar-response"><title>{escape(b.label)} {unit}: {b.count}</title></rect>'
            f'<text x="{x + bw / 2:.1f}" y="{pad_t + h - bh - 3:.1f}" class="axis" '
            f'text-anchor="middle">{b.count}</text>'
            f'<text x="{x + bw / 2:.1f}" y="{height - 18}" class="axis" text-anchor="middle">{escape(b.label)}</text>'
        )  # fmt: skip
    parts.append(f'<text x="{pad_l + w}" y="{height - 2}" class="axis" text-anchor="end">{escape(unit)}</text>')
    label = f"{title}: " + ", ".join(f"{b.label} {unit}: {b.count}" for b in bins)
    return _svg(width, height, label, "".join(parts))
