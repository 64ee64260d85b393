"""Scheduling (pure domain): appointment types as data, booking conflicts (double bookings, working hours, the
dosing protocol's spacing) and a plan phase's series of session dates."""

from ketacare.domain.scheduling.conflicts import (
    WEEK,
    Conflict,
    DosingLimits,
    Shift,
    Slot,
    find_conflicts,
    within_shifts,
)
from ketacare.domain.scheduling.limits import dosing_limits
from ketacare.domain.scheduling.series import Spacing, series_days, series_starts, shifted
from ketacare.domain.scheduling.types import AppointmentType, BookingRules, appointment_types, booking_rules

__all__ = [
    "Spacing",
    "WEEK",
    "AppointmentType",
    "BookingRules",
    "Conflict",
    "DosingLimits",
    "Shift",
    "Slot",
    "appointment_types",
    "booking_rules",
    "dosing_limits",
    "find_conflicts",
    "series_days",
    "series_starts",
    "shifted",
    "within_shifts",
]
