"""Infusion sessions: workflow, pump, vitals, alerts, board, record and facts (services layer).

Other capabilities use sessions only through the names below.
"""

from ketacare.services.sessions.schemas import VitalIn
from ketacare.services.sessions.vitals import latest_vitals, record_patient_reading

__all__ = ["VitalIn", "latest_vitals", "record_patient_reading"]
