"""Name normalization for search (no clinical content)."""

from __future__ import annotations

import difflib
import unicodedata


def normalize_name(text: str) -> str:
    """Return a lower-case, accent-free, whitespace-folded form of a name for prefix search."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def prefix_upper_bound(prefix: str) -> str:
    """Return the smallest string greater than every string that starts with `prefix` (for range scans)."""
    return prefix + "\U0010ffff"


def _one_slip(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one changed, added, dropped or swapped letter."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:k] + long_[k + 1 :] == short for k in range(len(long_)))


def _close(a: str, b: str) -> bool:
    """Whether two normalized names are the same, one a prefix of the other, or one typing slip apart."""
    if not a or not b:
        return False
    if a == b or a.startswith(b) or b.startswith(a) or _one_slip(a, b):
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def similar_names(left: tuple[str, str], right: tuple[str, str]) -> bool:
    """Whether (given, family) pairs may name the same person: both close, or given and family swapped."""
    (g1, f1), (g2, f2) = left, right
    return (_close(g1, g2) and _close(f1, f2)) or (_close(g1, f2) and _close(f1, g2))
