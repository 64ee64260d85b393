"""Pure dosing core: protocol library (data), dosing weight, dose-order arithmetic, limit checks."""

from ketacare.domain.dosing.body_weight import WeightBasisPolicy, weight_basis_policy
from ketacare.domain.dosing.protocol import protocol_ids

__all__ = ["WeightBasisPolicy", "protocol_ids", "weight_basis_policy"]
