"""Read the clinical data files that ship inside the `domain` package."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_toml(package: str, name: str) -> dict[str, Any]:
    """Return the parsed TOML data file `name` shipped in `package` (cached; treat as read-only)."""
    with resources.files(package).joinpath(name).open("rb") as fh:
        return tomllib.load(fh)


def domain_data(name: str) -> dict[str, Any]:
    """Return the parsed TOML file `name` from `ketacare/domain/data/`."""
    return load_toml("ketacare.domain.data", name)
