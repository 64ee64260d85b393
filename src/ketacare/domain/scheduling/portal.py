"""The portal's words for appointments (`data/portal.toml`): each type's name for patients, the instructions to
read before it (each with its source), and how long a visit takes in plain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from ketacare.domain.datafiles import load_toml

_PACKAGE = "ketacare.domain.scheduling.data"


@dataclass(frozen=True)
class Instruction:
    """One thing to do before an appointment, with the bibliography keys or label it comes from."""

    id: str
    text: str
    source: str


@dataclass(frozen=True)
class PortalWords:
    """Appointment type names and instructions for patients."""

    names: dict[str, str]
    instructions: dict[str, tuple[Instruction, ...]]
    day_parts: dict[str, int]


@cache
def portal_words() -> PortalWords:
    """Return the portal's appointment names and instructions by appointment type id."""
    raw = load_toml(_PACKAGE, "portal.toml")
    names = {str(t["id"]): str(t["name"]) for t in raw["type"]}
    by_type: dict[str, list[Instruction]] = {}
    for i in raw["instruction"]:
        item = Instruction(id=str(i["id"]), text=str(i["text"]), source=str(i["source"]))
        for type_id in i["types"]:
            by_type.setdefault(str(type_id), []).append(item)
    parts = {str(k): int(v) for k, v in raw["day_parts"].items()}
    return PortalWords(names=names, instructions={k: tuple(v) for k, v in by_type.items()}, day_parts=parts)


def about(minutes: float) -> str:
    """Return a visit's length in plain words: "about 20 minutes", "about 1 hour", "about 2½ hours"."""
    if minutes < 55:
        return f"about {max(5, 5 * round(minutes / 5)):g} minutes"
    halves = round(minutes / 30)
    whole, half = divmod(halves, 2)
    text = f"{whole}{'½' if half else ''}"
    return f"about {text} hour" if halves == 2 else f"about {text} hours"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def suggest_start(current: datetime, after: date, days: Sequence[str], parts: Sequence[str]) -> datetime:
    """Return a local start to offer for a patient's move request: the first day after `after` on one of the
    preferred weekdays (any day if none), at the start of the first preferred part of the day (else the current
    time of day). `current` is the appointment's local start (aware)."""
    hours = portal_words().day_parts
    at = time(hours[parts[0]]) if parts and parts[0] in hours else current.timetz().replace(tzinfo=None)
    wanted = {WEEKDAYS.index(d) for d in days if d in WEEKDAYS} or set(range(7))
    day = after + timedelta(days=1)
    while day.weekday() not in wanted:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=current.tzinfo)
