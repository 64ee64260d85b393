"""Sources: the bibliography page every citation links to (web layer)."""
