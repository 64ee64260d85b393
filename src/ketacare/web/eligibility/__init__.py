"""Eligibility: web layer."""
