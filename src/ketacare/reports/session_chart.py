"""The vital-signs chart of the printed session record, drawn as vector lines (fpdf2).

Three panels on one time axis (clock time in the clinic's zone): blood pressure and heart rate, SpO2, respiratory
rate. Each series has its own colour and line style, so the chart also reads in black and white; the infusion's
start and end are marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from fpdf import FPDF

from ketacare.domain import formatting as fmt
from ketacare.services.sessions.schemas import AlarmLimit, SessionDetail, VitalRow

# (vital, label, value of a reading, colour, dash mm (0 = solid), marker)
_Series = tuple[str, str, Callable[[VitalRow], float | None], tuple[int, int, int], float, str]

_BP_HR: Sequence[_Series] = (
    ("sbp", "Systolic BP (mmHg)", lambda v: v.sbp, (170, 20, 20), 0, "v"),
    ("dbp", "Diastolic BP (mmHg)", lambda v: v.dbp, (170, 20, 20), 1.2, "^"),
    ("hr", "Heart rate (/min)", lambda v: v.hr, (20, 60, 170), 0, "o"),
)
_SPO2: Sequence[_Series] = (("spo2", "SpO2 (%)", lambda v: v.spo2, (0, 120, 110), 0, "s"),)
_RR: Sequence[_Series] = (("rr", "Respiratory rate (/min)", lambda v: v.rr, (110, 40, 150), 0, "s"),)
_SHORT = {"sbp": "SBP", "dbp": "DBP", "hr": "HR", "spo2": "SpO2", "rr": "RR"}
_MARKERS_UP_TO = 80  # draw a marker per reading only while they stay readable


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _ticks(lo: float, hi: float, step: float) -> list[float]:
    out, v = [], lo
    while v <= hi + 1e-9:
        out.append(v)
        v += step
    return out


class _Axis:
    """Map times to x and values to y inside one panel."""

    def __init__(self, x0: float, width: float, t0: datetime, t1: datetime) -> None:
        self.x0, self.width, self.t0 = x0, width, t0
        self.span = max((t1 - t0).total_seconds(), 60.0)

    def x(self, t: datetime) -> float:
        return self.x0 + self.width * (_utc(t) - self.t0).total_seconds() / self.span


def _marker(pdf: FPDF, x: float, y: float, kind: str) -> None:
    r = 0.55
    if kind == "o":
        pdf.ellipse(x - r, y - r, 2 * r, 2 * r, style="F")
    elif kind == "v":
        pdf.polygon([(x - r, y - r), (x + r, y - r), (x, y + r)], style="F")
    elif kind == "^":
        pdf.polygon([(x - r, y + r), (x + r, y + r), (x, y - r)], style="F")
    else:
        pdf.rect(x - r, y - r, 2 * r, 2 * r, style="F")


def _series(
    pdf: FPDF, axis: _Axis, rows: Sequence[VitalRow], s: _Series, y: Callable[[float], float]
) -> None:
    _, _, value, colour, dash, marker = s
    pdf.set_draw_color(*colour)
    pdf.set_fill_color(*colour)
    pdf.set_line_width(0.35)
    pdf.set_dash_pattern(dash=dash, gap=dash * 0.8 if dash else 0)
    points = [(axis.x(v.measured_at), y(val)) for v in rows if (val := value(v)) is not None]
    if len(points) > 1:  # a reading without this value (e.g. SpO2 only) does not break the line
        pdf.polyline(points)
    pdf.set_dash_pattern()
    if len(rows) <= _MARKERS_UP_TO:
        for px, py in points:
            _marker(pdf, px, py, marker)


def _panel(
    pdf: FPDF,
    axis: _Axis,
    rows: Sequence[VitalRow],
    top: float,
    height: float,
    scale: tuple[float, float, float],
    series: Sequence[_Series],
    title: str,
    limits: Sequence[AlarmLimit] = (),
) -> None:
    lo, hi, step = scale
    x0, x1 = axis.x0, axis.x0 + axis.width

    def y(v: float) -> float:
        v = min(max(v, lo), hi)
        return top + height * (1 - (v - lo) / (hi - lo))

    pdf.set_line_width(0.1)
    pdf.set_font("Helvetica", size=6.5)
    for tick in _ticks(lo, hi, step):
        pdf.set_draw_color(215)
        pdf.line(x0, y(tick), x1, y(tick))
        pdf.set_xy(x0 - 10, y(tick) - 1.5)
        pdf.cell(9, 3, fmt.number(tick), align="R")
    pdf.set_draw_color(90)
    pdf.rect(x0, top, axis.width, height)
    if title:  # the top panel's row above it holds the infusion marks; the legend names its series
        pdf.set_xy(x0, top - 3.2)
        pdf.set_font("Helvetica", "B", 6.5)
        pdf.cell(axis.width, 3, title, align="R")
    _limits(pdf, axis, series, limits, y, (lo, hi))
    for s in series:
        _series(pdf, axis, rows, s, y)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)


def _limits(
    pdf: FPDF,
    axis: _Axis,
    series: Sequence[_Series],
    limits: Sequence[AlarmLimit],
    y: Callable[[float], float],
    scale: tuple[float, float],
) -> None:
    """Draw each high-priority alarm limit of the panel's vital signs as a thin dotted line, labelled at the right."""
    colours = {s[0]: s[3] for s in series}
    pdf.set_font("Helvetica", size=5.5)
    for lim in limits:
        if lim.vital not in colours or not scale[0] < lim.value < scale[1]:
            continue
        pdf.set_draw_color(*colours[lim.vital])
        pdf.set_line_width(0.15)
        pdf.set_dash_pattern(dash=0.4, gap=0.8)
        pdf.line(axis.x0, y(lim.value), axis.x0 + axis.width, y(lim.value))
        pdf.set_dash_pattern()
        text = f"{_SHORT[lim.vital]} alarm {lim.op} {fmt.vital(lim.value)}"
        width = pdf.get_string_width(text) + 1
        below = lim.op.startswith("<")  # a low limit's label sits under its line, away from the values
        pdf.set_xy(axis.x0 + axis.width - width - 0.5, y(lim.value) + (0.2 if below else -2.6))
        pdf.set_text_color(*colours[lim.vital])
        pdf.cell(width, 2.5, text, align="R")
        pdf.set_text_color(0)

def _legend(pdf: FPDF, x: float, y: float, series: Sequence[_Series]) -> None:
    pdf.set_font("Helvetica", size=6.5)
    for _, label, _, colour, dash, marker in series:
        pdf.set_draw_color(*colour)
        pdf.set_fill_color(*colour)
        pdf.set_line_width(0.35)
        pdf.set_dash_pattern(dash=dash, gap=dash * 0.8 if dash else 0)
        pdf.line(x, y + 1.5, x + 7, y + 1.5)
        pdf.set_dash_pattern()
        _marker(pdf, x + 3.5, y + 1.5, marker)
        pdf.set_xy(x + 8, y)
        pdf.cell(pdf.get_string_width(label) + 1, 3, label)
        x += 8 + pdf.get_string_width(label) + 5
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)


def _time_ticks(t0: datetime, t1: datetime) -> list[datetime]:
    span_min = (t1 - t0).total_seconds() / 60
    step = next(s for s in (5, 10, 15, 30, 60, 120, 240, 480) if span_min / s <= 12)
    start = _utc(t0).replace(second=0, microsecond=0)
    first = start.replace(minute=start.minute - start.minute % step) if step < 60 else start.replace(minute=0)
    out: list[datetime] = []
    t = first
    while t <= t1:
        if t >= t0:
            out.append(t)
        t = datetime.fromtimestamp(t.timestamp() + step * 60, UTC)
    return out


def draw_vitals_chart(
    pdf: FPDF, d: SessionDetail, tz: tzinfo, limits: Sequence[AlarmLimit] = (), height: float = 106
) -> None:
    """Draw the vital-signs chart at the current position (a new page when it does not fit) and move below it."""
    rows = sorted(d.vitals, key=lambda v: _utc(v.measured_at))
    if not rows:
        return
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    bounds = [_utc(t) for t in (d.infusion_started_at, d.infusion_ended_at) if t is not None]
    t0 = min([_utc(rows[0].measured_at), *bounds])
    t1 = max([_utc(rows[-1].measured_at), *bounds])
    x0 = pdf.l_margin + 11
    axis = _Axis(x0, pdf.w - pdf.r_margin - x0 - 1, t0, t1)
    top = pdf.get_y() + 1
    bp_top, spo2_top, rr_top = top + 8, top + 57, top + 81
    highest = max([v for r in rows for v in (r.sbp, r.hr) if v is not None] or [180])
    bp_hi = 200.0 if highest <= 200 else 250.0
    _legend(pdf, x0, top, (*_BP_HR, *_SPO2, *_RR))
    _panel(pdf, axis, rows, bp_top, 44, (40, bp_hi, 20), _BP_HR, "", limits)
    low_spo2 = min([r.spo2 for r in rows if r.spo2 is not None] or [90])
    _panel(pdf, axis, rows, spo2_top, 19, (80 if low_spo2 >= 80 else 60, 100, 5), _SPO2, "SpO2 (%)", limits)
    _panel(pdf, axis, rows, rr_top, 15, (0, 40, 10), _RR, "Respiratory rate (/min)", limits)
    bottom = rr_top + 15
    _events(pdf, axis, d, bp_top - 3.5, bottom, t0, t1)
    pdf.set_font("Helvetica", size=6.5)
    for t in _time_ticks(t0, t1):
        x = axis.x(t)
        pdf.set_draw_color(90)
        pdf.line(x, bottom, x, bottom + 1)
        pdf.set_xy(x - 6, bottom + 1)
        pdf.cell(12, 3, fmt.clock_time(t, tz, seconds=False, label=False), align="C")
    pdf.set_xy(x0, bottom + 4)
    pdf.cell(axis.width, 3, f"Device time ({fmt.zone_label(tz, t0)})", align="C")
    pdf.set_draw_color(0)
    pdf.set_fill_color(255)
    pdf.set_xy(pdf.l_margin, bottom + 8)


def _events(
    pdf: FPDF, axis: _Axis, d: SessionDetail, top: float, bottom: float, t0: datetime, t1: datetime
) -> None:
    """Mark the infusion's start and end (and pauses) with labelled dashed vertical lines."""
    marks: list[tuple[Any, str]] = [(d.infusion_started_at, "infusion start"), (d.infusion_ended_at, "end")]
    marks += [(e.at, e.kind) for e in d.infusion_events if e.kind in ("pause", "resume")]
    pdf.set_font("Helvetica", size=6)
    taken: list[
        tuple[float, float]
    ] = []  # label extents already drawn: a label that would overlap is left out
    for at, label in sorted(((a, lb) for a, lb in marks if a is not None), key=lambda m: _utc(m[0])):
        if not (t0 <= _utc(at) <= t1):
            continue
        x = axis.x(at)
        pdf.set_draw_color(60)
        pdf.set_line_width(0.2)
        pdf.set_dash_pattern(dash=0.6, gap=0.6)
        pdf.line(x, top, x, bottom)
        pdf.set_dash_pattern()
        width = pdf.get_string_width(label) + 1
        left = x + 0.5 if x + 0.5 + width <= axis.x0 + axis.width else x - 0.5 - width
        if any(left < b and a < left + width for a, b in taken):
            continue
        taken.append((left, left + width))
        pdf.set_xy(left, top)
        pdf.cell(width, 3, label)
