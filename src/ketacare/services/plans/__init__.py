"""Treatment course (services layer): `followup` (rapid response per session, the next-day call and the nurse's
list of calls due), `discharge` (the clinic's versioned discharge instructions and their acknowledgements).

Other capabilities use plans only through the names below.
"""

from ketacare.services.plans.discharge import (
    acknowledge,
    acknowledgements,
    acknowledgements_complete,
    current_instructions,
    discharge_sheet,
    given_instructions,
    instructions_history,
    patient_sheets,
    save_instructions,
)
from ketacare.services.plans.followup import (
    call_sheet,
    call_tasks,
    calls_for_patient,
    rapid_response_for_patient,
    rapid_response_for_session,
    record_call,
)
from ketacare.services.plans.schemas import (
    AcknowledgementIn,
    AcknowledgementRead,
    CallCreate,
    CallRead,
    CallTask,
    DischargeSheet,
    InstructionsRead,
    InstructionsUpdate,
    SessionResponse,
)

__all__ = [
    "AcknowledgementIn",
    "AcknowledgementRead",
    "CallCreate",
    "CallRead",
    "CallTask",
    "DischargeSheet",
    "InstructionsRead",
    "InstructionsUpdate",
    "SessionResponse",
    "acknowledge",
    "acknowledgements",
    "acknowledgements_complete",
    "call_sheet",
    "call_tasks",
    "calls_for_patient",
    "current_instructions",
    "discharge_sheet",
    "given_instructions",
    "instructions_history",
    "patient_sheets",
    "rapid_response_for_patient",
    "rapid_response_for_session",
    "record_call",
    "save_instructions",
]
