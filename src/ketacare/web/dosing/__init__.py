"""Dosing: web layer."""
