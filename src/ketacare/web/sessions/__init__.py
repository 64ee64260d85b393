"""Sessions: web layer."""
