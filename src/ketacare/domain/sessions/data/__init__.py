"""Clinical data files for the infusion session core (package so `load_toml` can find them)."""
