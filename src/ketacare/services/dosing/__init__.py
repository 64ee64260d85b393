"""Dose orders: computed from the record, limits, signature and the blinded double check (services layer).

Other capabilities use dosing only through the names below.
"""

from ketacare.services.dosing.orders import (
    dose_step_mg,
    order_of_patient,
    orders_by_id,
    usable_order,
    usable_order_by_patient,
    usable_orders,
)
from ketacare.services.dosing.schemas import DoseOrderRead

__all__ = [
    "DoseOrderRead",
    "dose_step_mg",
    "order_of_patient",
    "orders_by_id",
    "usable_order",
    "usable_order_by_patient",
    "usable_orders",
]
