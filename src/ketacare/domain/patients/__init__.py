"""Patients: domain layer."""

from ketacare.domain.patients.diagnoses import code_list

__all__ = ["code_list"]
