"""Treatment course (services layer): individual plans from templates with signed versions (`plans`), what
happened against them and the next step (`progress`), titration proposals and decisions (`proposals`), relapse
flags (`relapse`), `followup` (rapid response per session, the next-day call and the nurse's list of calls due),
`discharge` (the clinic's versioned discharge instructions and their acknowledgements), informed consent as a
signed document (`consent`), course-safety records (pregnancy tests, toxicology, misuse checklists, PUF
totals) and the checks the session pre-checks read (`safety`).

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
from ketacare.services.plans.plans import open_induction
from ketacare.services.plans.proposals import order_prefill
from ketacare.services.plans.relapse import relapse_flags
from ketacare.services.plans.safety import (
    CourseChecks,
    course_checks,
    course_safety,
    pregnancy_methods,
    record_misuse_check,
    record_pregnancy_applicability,
    record_pregnancy_test,
    record_puf,
    record_tox_result,
)
from ketacare.services.plans.safety_schemas import (
    CheckRead,
    CourseSafetyRead,
    MisuseCheckIn,
    PregnancyApplicabilityIn,
    PregnancyTestIn,
    PufIn,
    SafetyRecordRead,
    ToxResultIn,
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
    OrderPrefill,
    PlanInduction,
    RelapseFlag,
    SessionResponse,
)

__all__ = [
    "AcknowledgementIn",
    "AcknowledgementRead",
    "CallCreate",
    "CallRead",
    "CallTask",
    "CheckRead",
    "ConsentStatusRead",
    "CourseChecks",
    "CourseSafetyRead",
    "DischargeSheet",
    "InstructionsRead",
    "InstructionsUpdate",
    "MisuseCheckIn",
    "OrderPrefill",
    "PatientConsentsRead",
    "PlanInduction",
    "PregnancyApplicabilityIn",
    "PregnancyTestIn",
    "PufIn",
    "RelapseFlag",
    "SafetyRecordRead",
    "SessionResponse",
    "ToxResultIn",
    "acknowledge",
    "acknowledged_sessions",
    "acknowledgements",
    "acknowledgements_complete",
    "call_sheet",
    "call_tasks",
    "calls_for_patient",
    "course_checks",
    "course_safety",
    "current_instructions",
    "discharge_sheet",
    "document_for_route",
    "given_instructions",
    "instructions_history",
    "open_induction",
    "order_prefill",
    "patient_consents",
    "patient_sheets",
    "pregnancy_methods",
    "rapid_response_for_patient",
    "rapid_response_for_session",
    "record_call",
    "record_misuse_check",
    "record_pregnancy_applicability",
    "record_pregnancy_test",
    "record_puf",
    "record_tox_result",
    "relapse_flags",
    "save_instructions",
    "status_in_session",
    "statuses_in_sessions",
]
