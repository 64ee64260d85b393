"""Pure dosing core: protocol library (data), dosing weight, dose-order arithmetic, limit checks."""
