"""Measurement: web layer."""
