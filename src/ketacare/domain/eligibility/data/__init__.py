"""Data files for the eligibility core: rule catalogue, drug tables, treatment-resistance rule sets."""
