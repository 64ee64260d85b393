"""Sessions: services layer."""
