"""Refuse a plan or consent data file whose numbers lack a known source or whose text cites an unknown key."""

from __future__ import annotations

import re
from typing import Any

from ketacare.domain.sources import KEY_PATTERN, known, source_keys

_CITATION = re.compile(rf"\[({KEY_PATTERN}(?:, {KEY_PATTERN})*)\]")


class DataFileError(ValueError):
    """A shipped data file breaks a rule (missing source, unknown key, unknown protocol); never shown to patients."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_source(field: Any, where: str) -> str:
    """Return the source field `field` if every key in it is in the bibliography (or is a label); else refuse."""
    if not isinstance(field, str) or not field.strip():
        raise DataFileError(f"{where}: a clinical number needs `source` (bibliography keys or 'clinic-default')")
    unknown = [k for k in source_keys(field) if not known(k)]
    if unknown:
        raise DataFileError(f"{where}: source {', '.join(unknown)} is not in domain/bibliography.toml")
    return field


def check_table(table: dict[str, Any], where: str) -> None:
    """Refuse a table holding a number without a `source`, and any "[key]" in its text not in the bibliography."""
    numbers = [k for k, v in table.items() if _is_number(v) or (isinstance(v, list) and any(map(_is_number, v)))]
    if numbers or "source" in table:
        check_source(table.get("source"), f"{where} ({', '.join(numbers) or 'source'})")
    for key, value in table.items():
        texts = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(
            value, list
        ) else []
        for text in texts:
            for group in _CITATION.findall(text):
                unknown = [k for k in group.split(", ") if not known(k)]
                if unknown:
                    raise DataFileError(f"{where}.{key}: cites {', '.join(unknown)}, not in the bibliography")
