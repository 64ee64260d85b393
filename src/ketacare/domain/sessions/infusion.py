"""Infusion pump events -> delivered dose (mg, mg/kg) and the piecewise-constant input schedule for PK.

Events are start, rate_change, pause, resume, stop and bolus. Times are minutes on the session clock or
`datetime`s (converted to minutes from `t0`, default the first event). Rates are mL/h with a concentration in
mg/mL, or mg/min directly. Arithmetic only (rate x time); no clinical constants live here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ketacare.domain.errors import InvalidValue

EventKind = Literal["start", "rate_change", "pause", "resume", "stop", "bolus"]
_KINDS = ("start", "rate_change", "pause", "resume", "stop", "bolus")


@dataclass(frozen=True)
class InfusionEvent:
    """One pump event at `t` (minutes or datetime); a rate in mL/h or mg/min, or a bolus in mg or mL."""

    kind: EventKind
    t: float | datetime
    rate_ml_per_h: float | None = None
    rate_mg_per_min: float | None = None
    bolus_mg: float | None = None
    bolus_ml: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InvalidValue("kind", f"unknown infusion event {self.kind!r}")
        for name in ("rate_ml_per_h", "rate_mg_per_min", "bolus_mg", "bolus_ml"):
            v = getattr(self, name)
            if v is not None and (not math.isfinite(v) or v < 0):
                raise InvalidValue(name, f"{name} must be zero or more, got {v}")
        if self.rate_ml_per_h is not None and self.rate_mg_per_min is not None:
            raise InvalidValue("rate", "give the rate in mL/h or in mg/min, not both")
        if self.kind == "bolus":
            if (self.bolus_mg is None) == (self.bolus_ml is None):
                raise InvalidValue("bolus", "a bolus needs its amount in mg or in mL (one of them)")
        elif self.bolus_mg is not None or self.bolus_ml is not None:
            raise InvalidValue("bolus", f"a {self.kind} event carries no bolus amount")
        if (
            self.kind in ("start", "rate_change")
            and self.rate_ml_per_h is None
            and self.rate_mg_per_min is None
        ):
            raise InvalidValue("rate", f"a {self.kind} event needs a rate (mL/h or mg/min)")
        if self.kind in ("pause", "stop") and (
            self.rate_ml_per_h is not None or self.rate_mg_per_min is not None
        ):
            raise InvalidValue("rate", f"a {self.kind} event carries no rate")


@dataclass(frozen=True)
class RateSegment:
    """Constant infusion rate `mg_per_min` from `t_start_min` to `t_end_min`."""

    t_start_min: float
    t_end_min: float
    mg_per_min: float

    @property
    def dose_mg(self) -> float:
        return self.mg_per_min * (self.t_end_min - self.t_start_min)


@dataclass(frozen=True)
class Bolus:
    """A bolus of `dose_mg` at `t_min`."""

    t_min: float
    dose_mg: float


@dataclass(frozen=True)
class DeliveredDose:
    """Delivered ketamine over the session, compared with the ordered dose."""

    segments: tuple[RateSegment, ...]
    boluses: tuple[Bolus, ...]
    delivered_mg: float
    delivered_mg_per_kg: float | None
    ordered_mg: float | None
    difference_mg: float | None
    difference_pct: float | None
    infusing_min: float
    paused_min: float
    running: bool
    until_min: float

    def delivered_mg_at(self, t_min: float) -> float:
        """Return the cumulative mg delivered by `t_min` (boluses counted at their time)."""
        total = sum(b.dose_mg for b in self.boluses if b.t_min <= t_min)
        for s in self.segments:
            if t_min > s.t_start_min:
                total += s.mg_per_min * (min(t_min, s.t_end_min) - s.t_start_min)
        return total

    def pk_schedule(self) -> dict[str, list[tuple[float, ...]]]:
        """Return {'infusions': [(t_start_min, t_end_min, mg_per_min)], 'boluses': [(t_min, mg)]} for PK."""
        return {
            "infusions": [(s.t_start_min, s.t_end_min, s.mg_per_min) for s in self.segments],
            "boluses": [(b.t_min, b.dose_mg) for b in self.boluses],
        }


def _minutes(t: float | datetime, t0: datetime | None) -> float:
    if isinstance(t, datetime):
        if t0 is None:
            raise InvalidValue("t", "mixing datetimes and minutes: give t0 or use one kind of time")
        if (t.tzinfo is None) != (t0.tzinfo is None):
            raise InvalidValue("t", "mix of timezone-aware and naive times")
        return (t - t0).total_seconds() / 60.0
    if not math.isfinite(t):
        raise InvalidValue("t", "event time must be a number of minutes")
    return float(t)


def _rate_mg_per_min(ev: InfusionEvent, conc: float | None) -> float | None:
    if ev.rate_mg_per_min is not None:
        return ev.rate_mg_per_min
    if ev.rate_ml_per_h is not None:
        if conc is None:
            raise InvalidValue(
                "concentration_mg_per_ml", "a rate in mL/h needs the bag concentration in mg/mL"
            )
        return ev.rate_ml_per_h * conc / 60.0
    return None


def _check_inputs(conc: float | None, weight_kg: float | None, ordered_dose_mg: float | None) -> None:
    if conc is not None and not (math.isfinite(conc) and conc > 0):
        raise InvalidValue("concentration_mg_per_ml", "the concentration must be above 0 mg/mL")
    if weight_kg is not None and not (math.isfinite(weight_kg) and weight_kg > 0):
        raise InvalidValue("weight_kg", "weight must be above 0 kg")
    if ordered_dose_mg is not None and not (math.isfinite(ordered_dose_mg) and ordered_dose_mg > 0):
        raise InvalidValue("ordered_dose_mg", "the ordered dose must be above 0 mg")


@dataclass
class _Pump:
    """The pump as its events are replayed in order: not_started -> running <-> paused -> stopped."""

    conc: float | None
    status: str = "not_started"
    rate: float = 0.0
    seg_start: float = 0.0
    paused_since: float = 0.0
    paused_min: float = 0.0
    end_t: float = 0.0
    segments: list[RateSegment] = field(default_factory=list)
    boluses: list[Bolus] = field(default_factory=list)

    def close(self, t: float) -> None:
        """End the current rate segment at `t` (nothing is recorded for a zero rate)."""
        if self.rate > 0 and t > self.seg_start:
            self.segments.append(RateSegment(self.seg_start, t, self.rate))

    def _require(self, status: str, what: str, where: str) -> None:
        if self.status != status:
            raise InvalidValue(where, f"{what} while the infusion is {self.status.replace('_', ' ')}")

    def bolus(self, ev: InfusionEvent, t: float, new_rate: float | None, where: str) -> None:
        amount = ev.bolus_mg
        if amount is None:
            if self.conc is None:
                raise InvalidValue(
                    "concentration_mg_per_ml", "a bolus in mL needs the concentration in mg/mL"
                )
            amount = (ev.bolus_ml or 0.0) * self.conc
        self.boluses.append(Bolus(t, amount))

    def start(self, ev: InfusionEvent, t: float, new_rate: float | None, where: str) -> None:
        if self.status != "not_started":
            raise InvalidValue(where, "the infusion was already started")
        self.status, self.rate, self.seg_start = "running", float(new_rate or 0.0), t

    def rate_change(self, ev: InfusionEvent, t: float, new_rate: float | None, where: str) -> None:
        self._require("running", "rate change", where)
        self.close(t)
        self.rate, self.seg_start = float(new_rate or 0.0), t

    def pause(self, ev: InfusionEvent, t: float, new_rate: float | None, where: str) -> None:
        self._require("running", "pause", where)
        self.close(t)
        self.status, self.paused_since = "paused", t

    def resume(self, ev: InfusionEvent, t: float, new_rate: float | None, where: str) -> None:
        self._require("paused", "resume", where)
        self.paused_min += t - self.paused_since
        self.status, self.seg_start = "running", t
        if new_rate is not None:
            self.rate = new_rate

    def stop(self, ev: InfusionEvent, t: float, new_rate: float | None, where: str) -> None:
        if self.status == "not_started":
            raise InvalidValue(where, "stop before the infusion was started")
        if self.status == "running":
            self.close(t)
        else:
            self.paused_min += t - self.paused_since
        self.status, self.end_t = "stopped", t

    def finish(self, until: float | datetime | None, t0: datetime | None, last_t: float) -> None:
        """Close a still-running (or paused) infusion at `until`; the end is the last event otherwise."""
        if self.status in ("running", "paused"):
            if until is None:
                raise InvalidValue(
                    "until", "the infusion is still running: give the current time to total the dose"
                )
            self.end_t = _minutes(until, t0)
            if self.end_t < last_t:
                raise InvalidValue("until", "the current time is earlier than the last pump event")
            if self.status == "running":
                self.close(self.end_t)
            else:
                self.paused_min += self.end_t - self.paused_since
        elif self.status == "not_started":
            self.end_t = last_t


_STEPS = {
    "start": _Pump.start,
    "rate_change": _Pump.rate_change,
    "pause": _Pump.pause,
    "resume": _Pump.resume,
    "stop": _Pump.stop,
    "bolus": _Pump.bolus,
}


def delivered_dose(
    events: Sequence[InfusionEvent],
    *,
    concentration_mg_per_ml: float | None = None,
    weight_kg: float | None = None,
    ordered_dose_mg: float | None = None,
    until: float | datetime | None = None,
    t0: datetime | None = None,
) -> DeliveredDose:
    """Return the dose delivered by pump events (mg, mg/kg) and its difference from the ordered mg.

    `until` closes a still-running infusion (the current time); it is required if there is no stop event.
    """
    _check_inputs(concentration_mg_per_ml, weight_kg, ordered_dose_mg)
    if not events:
        raise InvalidValue("events", "no infusion events")
    if t0 is None:
        first = events[0].t
        t0 = first if isinstance(first, datetime) else None

    pump = _Pump(concentration_mg_per_ml)
    last_t = -math.inf
    for i, ev in enumerate(events):
        t = _minutes(ev.t, t0)
        where = f"events[{i}]"
        if t < last_t:
            raise InvalidValue(where, f"{ev.kind} at {t:g} min is earlier than the event before it")
        last_t = t
        if pump.status == "stopped":
            raise InvalidValue(where, f"{ev.kind} after the infusion was stopped")
        new_rate = _rate_mg_per_min(ev, concentration_mg_per_ml)
        _STEPS[ev.kind](pump, ev, t, new_rate, where)
    running = pump.status in ("running", "paused")
    pump.finish(until, t0, last_t)

    segments, boluses = pump.segments, pump.boluses
    total = sum(s.dose_mg for s in segments) + sum(b.dose_mg for b in boluses)
    diff = pct = None
    if ordered_dose_mg is not None:
        diff = total - ordered_dose_mg
        pct = 100.0 * diff / ordered_dose_mg
    return DeliveredDose(
        segments=tuple(segments),
        boluses=tuple(boluses),
        delivered_mg=total,
        delivered_mg_per_kg=None if weight_kg is None else total / weight_kg,
        ordered_mg=ordered_dose_mg,
        difference_mg=diff,
        difference_pct=pct,
        infusing_min=sum(s.t_end_min - s.t_start_min for s in segments),
        paused_min=pump.paused_min,
        running=running,
        until_min=pump.end_t,
    )
