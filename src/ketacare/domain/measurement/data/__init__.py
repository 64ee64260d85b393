"""Instrument definition files (one TOML per instrument); read with `catalogue.load_instrument`."""
