"""Infusion sessions (services layer): `workflow` (schedule, checks, guarded transitions), `pump` (pump events,
delivered dose), `vitals` (readings), `alerts` (raised, acknowledged, resolved; overdue sweep), `side_effects`
(and rescue medication), `record` (signed record, addenda, session page), `board` (live board reads), `bus`
(board change notices), `facts` (what the guards read), `assessments`, `schemas`.

Other capabilities use sessions only through the names below.
"""

from ketacare.services.sessions.alerts import escalated_alarms
from ketacare.services.sessions.course import CourseSession, GivenDose, course_sessions, doses_given
from ketacare.services.sessions.from_order import schedule_from_order
from ketacare.services.sessions.integrity import verify_signed_records
from ketacare.services.sessions.schemas import ScheduleFromOrder, SessionSummary, VitalIn, VitalRead
from ketacare.services.sessions.vitals import latest_vitals, list_patient_vitals, record_patient_reading

__all__ = [
    "CourseSession",
    "GivenDose",
    "ScheduleFromOrder",
    "SessionSummary",
    "VitalIn",
    "VitalRead",
    "course_sessions",
    "doses_given",
    "escalated_alarms",
    "latest_vitals",
    "list_patient_vitals",
    "record_patient_reading",
    "schedule_from_order",
    "verify_signed_records",
]
