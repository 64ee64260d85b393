"""Treatment outcomes (issue 18): a patient's outcome summary and the clinic dashboard.

Other capabilities use it only through the names below.
"""

from ketacare.services.outcomes.dashboard import dashboard
from ketacare.services.outcomes.dashboard import prepare as prepare_dashboard
from ketacare.services.outcomes.definitions import in_force, in_force_in
from ketacare.services.outcomes.schemas import Dashboard, GroupRate, OutcomeFilters, PatientOutcome, RateRead
from ketacare.services.outcomes.summary import STATUS_WORDS, patient_outcome

__all__ = [
    "STATUS_WORDS",
    "Dashboard",
    "GroupRate",
    "OutcomeFilters",
    "PatientOutcome",
    "RateRead",
    "dashboard",
    "in_force",
    "in_force_in",
    "patient_outcome",
    "prepare_dashboard",
]
