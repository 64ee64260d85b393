"""Scheduling (services layer): `setup` (sites, chairs, rooms, working hours), `booking` (book, series,
reschedule, cancel, no-show, start the session), `calendar` (day, week, chair, my day), `feeds` (private
iCalendar feeds), `consent` (the consent check of a dosing appointment), `schemas`.

Other capabilities use scheduling only through the names below.
"""

from ketacare.services.scheduling.booking import BookingRefused
from ketacare.services.scheduling.calendar import appointments_between, patient_appointments
from ketacare.services.scheduling.schemas import AppointmentRead, ResourcesRead
from ketacare.services.scheduling.setup import resources

__all__ = [
    "AppointmentRead",
    "BookingRefused",
    "ResourcesRead",
    "appointments_between",
    "patient_appointments",
    "resources",
]
