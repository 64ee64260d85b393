"""Patients: web layer."""
