"""The pure clinical core: no I/O beyond its own data files, no clock, no framework."""
