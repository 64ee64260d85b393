"""Name normalization for search (no clinical content)."""

from __future__ import annotations

import unicodedata


def normalize_name(text: str) -> str:
    """Return a lower-case, accent-free, whitespace-folded form of a name for prefix search."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def prefix_upper_bound(prefix: str) -> str:
    """Return the smallest string greater than every string that starts with `prefix` (for range scans)."""
    return prefix + "\U0010ffff"
