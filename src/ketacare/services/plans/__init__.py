"""Treatment course (services layer): individual plans from templates with signed versions (`plans`), what
happened against them and the next step (`progress`), titration proposals and decisions (`proposals`), relapse
flags (`relapse`), informed consent as a signed document (`consent`). Other capabilities use plans only through
the names below.
"""

from ketacare.services.plans.consent import document_for_route, patient_consents, status_in_session
from ketacare.services.plans.consent_schemas import ConsentStatusRead, PatientConsentsRead
from ketacare.services.plans.proposals import order_prefill
from ketacare.services.plans.relapse import relapse_flags
from ketacare.services.plans.schemas import OrderPrefill, RelapseFlag

__all__ = [
    "ConsentStatusRead",
    "OrderPrefill",
    "PatientConsentsRead",
    "RelapseFlag",
    "document_for_route",
    "order_prefill",
    "patient_consents",
    "relapse_flags",
    "status_in_session",
]
