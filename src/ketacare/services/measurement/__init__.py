"""Measurement: services layer."""
