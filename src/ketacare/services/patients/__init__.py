"""Patient record: demographics, measurements, diagnoses, medications, allergies, trials (services layer).

Other capabilities use the record only through the names below.
"""

from ketacare.services.patients.care_team import (
    care_team_user_ids,
    my_patient_ids,
    set_care_team,
)
from ketacare.services.patients.corrections import record_revision, revisions_for, snapshot
from ketacare.services.patients.export import PatientExport, export_record
from ketacare.services.patients.records import (
    add_measurement,
    add_trial,
    create_patient,
    get_chart,
    search_patients,
)
from ketacare.services.patients.schemas import (
    CareTeamUpdate,
    ChartRead,
    EnteredInError,
    InErrorReason,
    MeasurementCreate,
    PatientCreate,
    RevisionRead,
    TrialCreate,
)

__all__ = [
    "CareTeamUpdate",
    "ChartRead",
    "EnteredInError",
    "InErrorReason",
    "MeasurementCreate",
    "PatientExport",
    "PatientCreate",
    "RevisionRead",
    "TrialCreate",
    "add_measurement",
    "add_trial",
    "care_team_user_ids",
    "create_patient",
    "export_record",
    "get_chart",
    "my_patient_ids",
    "record_revision",
    "revisions_for",
    "search_patients",
    "set_care_team",
    "snapshot",
]
