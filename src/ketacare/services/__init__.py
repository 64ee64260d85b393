"""Use cases: authorize, load, call the clinical core, store, and audit in one transaction."""
