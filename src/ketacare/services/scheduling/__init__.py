"""Scheduling (services layer): `setup` (sites, chairs, rooms, working hours), `booking` (book, series,
reschedule, cancel, no-show, start the session), `calendar` (day, week, chair, my day), `feeds` (private
iCalendar feeds), `consent` (the consent check of a dosing appointment), `requests` (the portal's appointments
and the patients' requests to move or cancel one), `schemas`.

Other capabilities use scheduling only through the names below.
"""

from ketacare.services.scheduling.booking import BookingRefused
from ketacare.services.scheduling.calendar import appointments_between, patient_appointments
from ketacare.services.scheduling.requests import my_appointments
from ketacare.services.scheduling.schemas import AppointmentRead, PortalAppointments, ResourcesRead
from ketacare.services.scheduling.setup import resources

__all__ = [
    "AppointmentRead",
    "BookingRefused",
    "PortalAppointments",
    "ResourcesRead",
    "appointments_between",
    "my_appointments",
    "patient_appointments",
    "resources",
]
