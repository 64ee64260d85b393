"""Pure dosing core: protocol library (data), dosing weight, dose-order arithmetic, limit checks."""

from ketacare.domain.dosing.body_weight import WeightBasisPolicy, weight_basis_policy
from ketacare.domain.dosing.protocol import Limit, Protocol, load_protocol, protocol_ids

__all__ = [
    "Limit",
    "Protocol",
    "WeightBasisPolicy",
    "load_protocol",
    "protocol_ids",
    "weight_basis_policy",
]
