"""Synthetic demo clinic."""
