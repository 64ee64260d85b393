"""Patient record: demographics, measurements, diagnoses, medications, allergies, trials (services layer).

Other capabilities use the record only through the names below.
"""

from ketacare.services.patients.export import PatientExport, export_record
from ketacare.services.patients.records import (
    add_measurement,
    add_trial,
    create_patient,
    get_chart,
    search_patients,
)
from ketacare.services.patients.schemas import ChartRead, MeasurementCreate, PatientCreate, TrialCreate

__all__ = [
    "ChartRead",
    "MeasurementCreate",
    "PatientExport",
    "PatientCreate",
    "TrialCreate",
    "add_measurement",
    "add_trial",
    "create_patient",
    "export_record",
    "get_chart",
    "search_patients",
]
