"""Protocol library as data: one TOML per protocol, each number sourced (read by `dosing.protocol`)."""
