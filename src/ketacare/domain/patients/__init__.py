"""Patients: domain layer."""
