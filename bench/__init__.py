"""Ketacare benchmarks: `make bench` (or `python -m bench`) runs every bench_*.py module and prints a table."""
