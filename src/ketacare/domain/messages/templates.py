"""Message templates: the shipped wording, the placeholders a template may use, checks and rendering (pure)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue, InvalidValues

DATA = "ketacare.domain.messages.data"
DEFAULT_LOCALE = "en_GB"  # day before month, 24-hour clock

# Text that reads like a dose or a drug amount: a message says where and when, never what is given.
_DOSE = re.compile(r"\d\s*(mg|mcg|µg|ug|ml|mL|g/kg|mg/kg|units?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MessageTemplate:
    """One message's wording: `essential` ones go even to patients who opted out of the others."""

    id: str
    name: str
    essential: bool
    subject: str
    body: str


@cache
def shipped_templates() -> dict[str, MessageTemplate]:
    """Return the templates shipped in data/messages.toml (version 0 of each), by id."""
    raw = load_toml(DATA, "messages.toml")["template"]
    return {
        t["id"]: MessageTemplate(t["id"], t["name"], bool(t["essential"]), t["subject"], t["body"]) for t in raw
    }


@cache
def placeholders() -> dict[str, str]:
    """Return the placeholders a template may use, with what each one holds."""
    return dict(load_toml(DATA, "messages.toml")["placeholders"])


def _names(text: str, field: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as e:
        raise InvalidValue(field, f"unbalanced braces: {e} (write {{{{ for a brace)") from None


def check_template(subject: str, body: str) -> None:
    """Refuse (InvalidValues naming the field) unknown placeholders, doses, or an empty or multi-line subject."""
    errors: dict[str, str] = {}
    allowed = placeholders()
    for field, text in (("subject", subject), ("body", body)):
        if not text.strip():
            errors[field] = "write the text"
            continue
        try:
            unknown = sorted(n for n in _names(text, field) if n not in allowed)
        except InvalidValue as e:
            errors[field] = e.message
            continue
        if unknown:
            errors[field] = (
                f"unknown placeholder {{{unknown[0]}}}: use one of " + ", ".join(f"{{{k}}}" for k in allowed)
            )
        elif _DOSE.search(text):
            errors[field] = "a message carries no dose or drug amount (say where and when, not what is given)"
    if "subject" not in errors and ("\n" in subject.strip() or "\r" in subject):
        errors["subject"] = "the subject is one line"
    if errors:
        raise InvalidValues(errors)


def render(text: str, values: dict[str, str]) -> str:
    """Return `text` with its placeholders filled from `values` (a missing value reads as empty)."""
    names = _names(text, "text")
    return text.format(**{n: values.get(n, "") for n in names})


def check_locale(name: str) -> str:
    """Return `name` if babel knows the locale (e.g. "en_US", "es_US"); InvalidValue("locale") if not."""
    try:
        Locale.parse(name)
    except (ValueError, TypeError, UnknownLocaleError):
        raise InvalidValue("locale", f"unknown language setting {name!r} (use e.g. en_US, en_GB, es_US)") from None
    return name


def when_values(starts_at: datetime, tz: tzinfo, locale: str, prefix: str = "") -> dict[str, str]:
    """Return {when, date, time} for an appointment at `starts_at` in the clinic's zone and language."""
    local = starts_at.astimezone(tz)
    day = format_skeleton("MMMEd", local, tzinfo=tz, locale=locale)
    clock = format_time(local, "short", tzinfo=tz, locale=locale)
    return {
        f"{prefix}when": f"{day}, {clock}",
        f"{prefix}date": format_date(local.date(), "full", locale=locale),
        f"{prefix}time": clock,
    }
