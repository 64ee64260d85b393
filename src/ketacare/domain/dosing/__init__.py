"""Pure dosing core: protocol library (data), dosing weight, dose-order arithmetic, limit checks."""

from ketacare.domain.dosing.protocol import protocol_ids

__all__ = ["protocol_ids"]
