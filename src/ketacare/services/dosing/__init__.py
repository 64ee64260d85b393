"""Dose orders: computed from the record, limits, signature and the blinded double check (services layer).

Other capabilities use dosing only through the names below.
"""

from ketacare.services.dosing.orders import usable_order

__all__ = ["usable_order"]
