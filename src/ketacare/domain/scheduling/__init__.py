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
from ketacare.domain.scheduling.portal import (
    WEEKDAYS,
    Instruction,
    PortalWords,
    about,
    portal_words,
    suggest_start,
)
from ketacare.domain.scheduling.series import Spacing, series_days, series_starts, shifted
from ketacare.domain.scheduling.types import AppointmentType, BookingRules, appointment_types, booking_rules

__all__ = [
    "Spacing",
    "WEEK",
    "WEEKDAYS",
    "AppointmentType",
    "BookingRules",
    "Conflict",
    "DosingLimits",
    "Instruction",
    "PortalWords",
    "Shift",
    "Slot",
    "about",
    "appointment_types",
    "booking_rules",
    "dosing_limits",
    "find_conflicts",
    "portal_words",
    "series_days",
    "series_starts",
    "shifted",
    "suggest_start",
    "within_shifts",
]
