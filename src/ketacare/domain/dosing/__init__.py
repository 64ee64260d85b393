"""Pure dosing core: protocol library (data), dosing weight, dose-order arithmetic, limit checks."""

from ketacare.domain.dosing.body_weight import WeightBasisPolicy, weight_basis_policy

__all__ = ["WeightBasisPolicy", "weight_basis_policy"]
