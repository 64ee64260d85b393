"""Scheduling: web layer (calendars, booking forms, calendar feeds)."""
