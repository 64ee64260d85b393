"""Dose orders: computed from the record, limits, signature and the blinded double check (services layer).

Other capabilities use dosing only through the names below.
"""

from ketacare.services.dosing.orders import usable_order
from ketacare.services.dosing.schemas import DoseOrderRead

__all__ = ["DoseOrderRead", "usable_order"]
