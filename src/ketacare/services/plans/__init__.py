"""Treatment course (services layer): individual plans from templates with signed versions (`plans`), what
happened against them and the next step (`progress`), titration proposals and decisions (`proposals`), relapse
flags (`relapse`). Other capabilities use plans only through the names below.
"""

from ketacare.services.plans.proposals import order_prefill
from ketacare.services.plans.relapse import relapse_flags
from ketacare.services.plans.schemas import OrderPrefill, RelapseFlag

__all__ = ["OrderPrefill", "RelapseFlag", "order_prefill", "relapse_flags"]
