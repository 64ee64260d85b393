"""Eligibility: services layer."""
