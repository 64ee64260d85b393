"""Errors the clinical core raises for values it refuses."""

from __future__ import annotations


class InvalidValue(ValueError):
    """A value a person entered was refused; `field` names it and `message` says why in clinic words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidValues(InvalidValue):
    """Several values refused at once (a whole form checked): `errors` maps each field to its message.

    It is an InvalidValue naming the first field, so code that handles one refusal still handles it.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        if not errors:
            raise ValueError("InvalidValues needs at least one error")
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = dict(errors)
