"""Treatment course: web layer (consent pages: read and sign, tablet mode, countersign, withdraw)."""
