"""Patients: services layer."""
