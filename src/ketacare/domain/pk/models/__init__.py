"""Ketamine pharmacokinetic model data files (one TOML per published model, plus `defaults.toml`)."""
