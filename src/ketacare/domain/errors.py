"""Errors the clinical core raises for values it refuses."""

from __future__ import annotations


class InvalidValue(ValueError):
    """A value a person entered was refused; `field` names it and `message` says why in clinic words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
