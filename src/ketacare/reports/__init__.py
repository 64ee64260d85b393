"""Printable reports (adapters): PDFs rendered from service data."""
