"""Plan templates as data: one TOML per template (read by `plans.templates`)."""
