"""Dosing: services layer."""
