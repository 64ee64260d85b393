"""The discharge instructions a clinic ships with (`data/discharge_instructions.toml`, version 0) and how a line
is filled in for the clinic ("{clinic_phone}")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ketacare.domain.datafiles import load_toml
from ketacare.domain.plans.datacheck import DataFileError, check_source, check_table

PHONE_PLACEHOLDER = "{clinic_phone}"


@dataclass(frozen=True)
class ShippedInstructions:
    """The shipped instructions: a heading and (title, lines) sections, with their sources."""

    heading: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    source: str
    note: str


@cache
def shipped_discharge_instructions() -> ShippedInstructions:
    """Return the shipped discharge instructions; a file without sources or sections is refused."""
    raw = load_toml("ketacare.domain.plans.data", "discharge_instructions.toml")
    check_source(raw.get("source"), "discharge_instructions.toml")
    check_table({k: v for k, v in raw.items() if k != "sections"}, "discharge_instructions.toml")
    if not raw.get("sections"):
        raise DataFileError("discharge_instructions.toml: needs at least one section")
    return ShippedInstructions(
        heading=raw["heading"],
        sections=tuple((sec["title"], tuple(sec["lines"])) for sec in raw["sections"]),
        source=raw["source"],
        note=raw["note"],
    )


def fill_line(line: str, clinic_phone: str) -> str:
    """Return `line` with "{clinic_phone}" replaced by the clinic's phone (or a blank to write it in)."""
    return line.replace(PHONE_PLACEHOLDER, clinic_phone or "(the clinic's number: ask the nurse)")
