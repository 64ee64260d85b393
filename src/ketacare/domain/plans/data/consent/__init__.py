"""Consent templates as data: one TOML per consent document, versioned (read by `plans.consent`)."""
