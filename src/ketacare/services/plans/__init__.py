"""Treatment course (services layer): individual plans from templates with signed versions (`plans`), what
happened against them and the next step (`progress`), titration proposals and decisions (`proposals`), relapse
flags (`relapse`), `followup` (rapid response per session, the next-day call and the nurse's list of calls due),
`discharge` (the clinic's versioned discharge instructions and their acknowledgements), informed consent as a
signed document (`consent`).

Other capabilities use plans only through the names below.
"""

from ketacare.services.plans.consent import (
    document_for_route,
    patient_consents,
    status_in_session,
    statuses_in_sessions,
)
from ketacare.services.plans.consent_schemas import ConsentStatusRead, PatientConsentsRead
from ketacare.services.plans.discharge import (
    acknowledge,
    acknowledged_sessions,
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
from ketacare.services.plans.proposals import order_prefill
from ketacare.services.plans.relapse import relapse_flags
from ketacare.services.plans.schemas import (
    AcknowledgementIn,
    AcknowledgementRead,
    CallCreate,
    CallRead,
    CallTask,
    DischargeSheet,
    InstructionsRead,
    InstructionsUpdate,
    OrderPrefill,
    RelapseFlag,
    SessionResponse,
)

__all__ = [
    "AcknowledgementIn",
    "AcknowledgementRead",
    "CallCreate",
    "CallRead",
    "CallTask",
    "ConsentStatusRead",
    "DischargeSheet",
    "InstructionsRead",
    "InstructionsUpdate",
    "OrderPrefill",
    "PatientConsentsRead",
    "RelapseFlag",
    "SessionResponse",
    "acknowledge",
    "acknowledged_sessions",
    "acknowledgements",
    "acknowledgements_complete",
    "call_sheet",
    "call_tasks",
    "calls_for_patient",
    "current_instructions",
    "discharge_sheet",
    "document_for_route",
    "given_instructions",
    "instructions_history",
    "order_prefill",
    "patient_consents",
    "patient_sheets",
    "rapid_response_for_patient",
    "rapid_response_for_session",
    "record_call",
    "relapse_flags",
    "save_instructions",
    "status_in_session",
    "statuses_in_sessions",
]
