"""Appointment types as data (`data/appointment_types.toml`): duration and the resources each holds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from ketacare.domain.datafiles import load_toml

_PACKAGE = "ketacare.domain.scheduling.data"
Resource = Literal["chair", "room"]


@dataclass(frozen=True)
class AppointmentType:
    """One kind of appointment: its duration (min), the place it needs and whether it is a dosing session."""

    id: str
    name: str
    duration_min: float
    resources: tuple[Resource, ...]
    staff_label: str
    dosing: bool
    source: str

    @property
    def needs_chair(self) -> bool:
        """Return True when the appointment holds a treatment chair."""
        return "chair" in self.resources

    @property
    def needs_room(self) -> bool:
        """Return True when the appointment holds a room."""
        return "room" in self.resources


@cache
def appointment_types() -> dict[str, AppointmentType]:
    """Return every appointment type by id, in file order."""
    out: dict[str, AppointmentType] = {}
    for raw in load_toml(_PACKAGE, "appointment_types.toml")["type"]:
        res = tuple(raw["resources"])
        if any(r not in ("chair", "room") for r in res):
            raise ValueError(f"appointment type {raw['id']}: resources must be chair or room")
        out[str(raw["id"])] = AppointmentType(
            id=str(raw["id"]),
            name=str(raw["name"]),
            duration_min=float(raw["duration_min"]),
            resources=res,
            staff_label=str(raw["staff_label"]),
            dosing=bool(raw["dosing"]),
            source=str(raw["source"]),
        )
    return out


@dataclass(frozen=True)
class BookingRules:
    """The clinic's booking rules: how long a dose order covers dosing appointments, and the day grid's hours."""

    order_covers_days: float
    day_start_hour: int
    day_end_hour: int
    slot_min: int


@cache
def booking_rules() -> BookingRules:
    """Return the booking rules of `data/rules.toml`."""
    raw = load_toml(_PACKAGE, "rules.toml")
    cal = raw["calendar"]
    return BookingRules(
        order_covers_days=float(raw["dose_order"]["covers_days"]),
        day_start_hour=int(cal["day_start_hour"]),
        day_end_hour=int(cal["day_end_hour"]),
        slot_min=int(cal["slot_min"]),
    )
