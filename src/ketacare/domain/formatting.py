"""Numbers and times for people: one module used by the pages, the live board and the PDF record.

Pure (standard library only; the caller passes the clinic's time zone and, for elapsed time, "now").

- durations: `duration(24.78)` -> "24 min 47 s", `duration(65)` -> "1 h 05 min", `duration(0.25)` -> "15 s";
  `parse_duration` reads them back (so a test can check the round trip);
- masses: `mg(0.0119386)` -> "0.0 mg", `mg(35.04, step=0.1)` -> "35.0 mg": rounded to the step the dosing
  protocol uses (half away from zero), never more decimals than the step, never scientific notation;
- amounts typed by people, e.g. rescue doses: `amount(0.25, "mg")` -> "0.25 mg" (not rounded to a ketamine step);
- vital signs: `vital(182.0)` -> "182", `vital(36.55)` -> "36.6";
- times: `clock_time(t, tz)` -> "14:05:09 CET", `date_time(t, tz)` -> "2026-11-30 14:05 CET", in the clinic's
  zone and labelled with it. Timestamps come from the store in UTC; a naive one is taken as UTC (the store keeps
  UTC), never as local time. For patients, `friendly(t, tz)` -> "Tue 2 Dec, 09:00" (babel, day before month);
- times people type: `parse_local("2026-10-25 02:30", tz, field)` reads the clinic's wall clock and returns UTC.
  A local time that does not exist (the hour skipped when clocks go forward) or happens twice (clocks go back) is
  refused with a message saying how to write it ("02:30 CEST" or "02:30 CET"); it is never guessed.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime

from ketacare.domain.errors import InvalidValue

LOCALE = "en_GB"  # day before month, 24-hour clock (UI.md: dates unambiguous)

DEFAULT_MG_STEP = 0.1  # dose_mg_step of the IV, SC and IM protocols (domain/dosing/protocols/*.toml)
_DASH = "–"


def zone(name: str) -> tzinfo:
    """Return the time zone called `name` (IANA, e.g. "Europe/Berlin", or "UTC"); InvalidValue if unknown."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue(
            "timezone", f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from exc


Rounding = Literal["half_up", "down", "up"]
_MODES = {"half_up": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}


def _seconds(minutes: float, rounding: Rounding = "half_up") -> int:
    if not math.isfinite(minutes):
        raise InvalidValue("minutes", f"{minutes} is not a duration")
    return _to_int(Decimal(repr(float(minutes))) * 60, rounding)


def _to_int(x: Decimal, rounding: Rounding) -> int:
    return int(x.to_integral_value(rounding=_MODES[rounding]))


def duration(minutes: float | None, *, rounding: Rounding = "half_up", empty: str = _DASH) -> str:
    """Return a duration given in minutes for people: "45 s", "24 min 47 s", "24 min", "1 h 05 min", "2 h".

    Under an hour it is shown to the second, from an hour on to the minute. `rounding` is "half_up" (default);
    "down" for a time that falls short of a requirement (59.99 min observed reads "59 min 59 s", never "1 h"),
    "up" for an age that exceeds a limit (15.001 min reads "15 min 01 s", never "15 min")."""
    if minutes is None:
        return empty
    s = _seconds(minutes, rounding)
    sign, s = ("-" if s < 0 else ""), abs(s)
    if s < 60:
        return f"{sign}{s} s"
    if s < 3600:
        m, sec = divmod(s, 60)
        return f"{sign}{m} min" if sec == 0 else f"{sign}{m} min {sec:02d} s"
    # from the minutes, not the rounded seconds (no double rounding)
    h, m = divmod(abs(_to_int(Decimal(repr(float(minutes))), rounding)), 60)
    return f"{sign}{h} h" if m == 0 else f"{sign}{h} h {m:02d} min"


_DURATION = re.compile(r"^(-)?(?:(\d+) h)?\s*(?:(\d+) min)?\s*(?:(\d+) s)?$")


def parse_duration(text: str) -> float:
    """Return the minutes in a duration written by `duration` (e.g. "1 h 05 min" -> 65.0)."""
    m = _DURATION.match(text.strip())
    if not m or not any(m.group(i) for i in (2, 3, 4)):
        raise InvalidValue("duration", f"{text!r} is not a duration such as '24 min 47 s' or '1 h 05 min'")
    h, mi, s = (int(m.group(i) or 0) for i in (2, 3, 4))
    total = h * 60 + mi + s / 60.0
    return -total if m.group(1) else total


def elapsed(start: datetime | str | None, now: datetime, *, empty: str = _DASH) -> str:
    """Return the time from `start` to `now` as a duration ("24 min 47 s"); `empty` when there is no start."""
    t = _as_datetime(start)
    if t is None:
        return empty
    return duration((now - t).total_seconds() / 60.0)


def _places(step: Decimal) -> int:
    exp = step.normalize().as_tuple().exponent
    return max(0, -int(exp))


def quantity(
    value: float | None, step: float, unit: str = "", *, sign: bool = False, empty: str = _DASH
) -> str:
    """Return `value` rounded to `step` (half away from zero) with exactly the step's decimals and no
    exponent, e.g. quantity(0.0119386, 0.1, "mg") -> "0.0 mg", quantity(37.5, 5, "mg") -> "40 mg".
    With `sign`, a difference: "+1.5 mg", "-0.3 mg", "0.0 mg"."""
    if value is None:
        return empty
    if not math.isfinite(value):
        raise InvalidValue("value", f"{value} is not a number")
    try:
        q = Decimal(repr(float(step)))
    except InvalidOperation as exc:  # pragma: no cover - repr of a float is always a Decimal
        raise InvalidValue("step", f"{step} is not a step") from exc
    if q <= 0:
        raise InvalidValue("step", f"rounding step {step} must be above 0")
    n = (Decimal(repr(float(value))) / q).to_integral_value(rounding=ROUND_HALF_UP)
    rounded = n * q
    places = _places(q)
    text = f"{rounded:.{places}f}"
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]  # "-0.0" reads as a negative dose
    if sign and rounded > 0:
        text = "+" + text
    return f"{text} {unit}" if unit else text


def mg(value: float | None, step: float | None = None, *, sign: bool = False, empty: str = _DASH) -> str:
    """Return a mass in mg rounded to the protocol's dose step (default 0.1 mg), e.g. "35.0 mg"."""
    return quantity(value, step or DEFAULT_MG_STEP, "mg", sign=sign, empty=empty)


def number(value: float | None, places: int = 0, *, sign: bool = False, empty: str = _DASH) -> str:
    """Return `value` with `places` decimals (half away from zero), never in scientific notation."""
    if value is None:
        return empty
    return quantity(value, float(Decimal(1).scaleb(-places)), "", sign=sign)


def amount(value: float | None, unit: str = "", *, max_places: int = 3, empty: str = _DASH) -> str:
    """Return an amount someone entered (e.g. a rescue dose from the clinic's formulary) without rounding it to
    a ketamine step: up to `max_places` decimals, trailing zeros dropped, never an exponent ("0.25 mg")."""
    if value is None:
        return empty
    text = quantity(value, float(Decimal(1).scaleb(-max_places)))
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = "0" if text == "-0" else text
    return f"{text} {unit}" if unit else text


def vital(value: float | None, *, empty: str = _DASH) -> str:
    """Return a vital-sign value as monitors show it: whole numbers plain ("182"), else one decimal ("36.6")."""
    if value is None:
        return empty
    text = quantity(value, 0.1)
    return text[:-2] if text.endswith(".0") else text


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # the store keeps UTC


def zone_label(tz: tzinfo, at: datetime | str | None = None) -> str:
    """Return the short name of `tz` at `at` (e.g. "UTC", "CET", or "CEST" in summer)."""
    t = _as_datetime(at) or datetime(2000, 1, 1, tzinfo=UTC)
    return t.astimezone(tz).tzname() or str(tz)


def clock_time(
    value: datetime | str | None, tz: tzinfo, *, seconds: bool = True, label: bool = True, empty: str = _DASH
) -> str:
    """Return the 24-hour clock time of `value` in `tz`, labelled with the zone: "14:05:09 CET"."""
    t = _as_datetime(value)
    if t is None:
        return empty
    local = t.astimezone(tz)
    text = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{text} {local.tzname()}" if label else text


def date_time(
    value: datetime | str | None, tz: tzinfo, *, seconds: bool = False, label: bool = True, empty: str = ""
) -> str:
    """Return date and 24-hour time of `value` in `tz`, labelled with the zone: "2026-11-30 14:05 CET"."""
    t = _as_datetime(value)
    if t is None:
        return empty
    local = t.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname()}" if label else text


def friendly(
    value: datetime | str | None, tz: tzinfo, *, now: datetime | None = None, empty: str = _DASH
) -> str:
    """Return a time for patients in `tz`: "Tue 2 Dec, 09:00" ("Tue 2 Dec 2025, 09:00" when `now` is given and
    falls in another year)."""
    t = _as_datetime(value)
    if t is None:
        return empty
    local = t.astimezone(tz)
    same_year = now is None or _as_datetime(now).astimezone(tz).year == local.year  # type: ignore[union-attr]
    pattern = "EEE d MMM, HH:mm" if same_year else "EEE d MMM y, HH:mm"
    return _babel_datetime(local, pattern, tzinfo=tz, locale=LOCALE)


def friendly_date(value: datetime | str | None, tz: tzinfo, *, empty: str = _DASH) -> str:
    """Return the day of `value` in `tz` for patients: "Tue 2 Dec 2026"."""
    t = _as_datetime(value)
    if t is None:
        return empty
    return _babel_datetime(t.astimezone(tz), "EEE d MMM y", tzinfo=tz, locale=LOCALE)


_LOCAL = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2})(?::(\d{2}))?\s*([A-Za-z+\-][A-Za-z0-9+\-:]*)?$")


def local_input(value: datetime | str | None, tz: tzinfo) -> str:
    """Return `value` as a person types it in `tz` ("2026-11-30 14:05"), with the zone's short name when that
    wall-clock time happens twice on a day the clocks go back ("2026-10-25 02:30 CEST")."""
    t = _as_datetime(value)
    if t is None:
        return ""
    local = t.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M")
    naive = local.replace(tzinfo=None)
    if naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset():
        text += f" {local.tzname()}"
    return text


def parse_local(text: str | None, tz: tzinfo, field: str) -> datetime | None:
    """Return the UTC time of a wall-clock time typed in the clinic's zone `tz` (blank is None).

    Accepts "2026-11-30 14:05", "2026-11-30T14:05" (a datetime-local field) and, to say which of two equal wall
    times is meant, a trailing zone short name or UTC offset ("2026-10-25 02:30 CEST", "... +02:00"). Refuses a
    time that does not exist in `tz` (clocks went forward) and an ambiguous one (clocks went back) without that."""
    raw = (text or "").strip()
    if not raw:
        return None
    example = f"e.g. 2026-11-30 14:05 ({zone_label(tz)})"
    m = _LOCAL.match(raw)
    if not m:
        raise InvalidValue(field, f"enter the date and time, {example}")
    day, hm, sec, suffix = m.groups()
    try:
        naive = datetime.fromisoformat(f"{day}T{hm.zfill(5)}:{sec or '00'}")
    except ValueError:
        raise InvalidValue(field, f"enter the date and time, {example}") from None
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    shown = naive.strftime("%Y-%m-%d %H:%M")
    if suffix:
        for cand in (first, second):
            if suffix.upper() == (cand.tzname() or "").upper() or _offset_matches(suffix, cand):
                if cand.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
                    return cand.astimezone(UTC)
        names = " or ".join(dict.fromkeys(c.tzname() or "" for c in (first, second)))
        raise InvalidValue(field, f"{suffix!r} is not the clinic's time zone at {shown}: write {names}")
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise InvalidValue(
            field,
            f"{shown} does not exist in the clinic's time zone: the clocks went forward that night "
            f"({first.tzname()} to {second.tzname()}); enter the time the clock showed",
        )
    raise InvalidValue(
        field,
        f"{shown} happened twice that night (the clocks went back): write {shown} {first.tzname()} for the first "
        f"time or {shown} {second.tzname()} for the second",
    )


def _offset_matches(suffix: str, t: datetime) -> bool:
    m = re.match(r"^(?:UTC|GMT)?([+\-])(\d{1,2}):?(\d{2})?$", suffix.upper())
    off = t.utcoffset()
    if not m or off is None:
        return False
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    return (minutes if m.group(1) == "+" else -minutes) == int(off.total_seconds() // 60)


def day(value: date | None, *, empty: str = _DASH) -> str:
    """Return a calendar date for patients: "3 Feb 1990"."""
    if value is None:
        return empty
    return _babel_date(value, "d MMM y", locale=LOCALE)


def long_time(value: datetime | str | None, tz: tzinfo, *, now: datetime | None = None, empty: str = _DASH) -> str:
    """Return a time for patients in full words in `tz`: "Tuesday 8 December at 9:00 am" (the year added when `now`
    falls in another year)."""
    t = _as_datetime(value)
    if t is None:
        return empty
    local = t.astimezone(tz)
    same_year = now is None or _as_datetime(now).astimezone(tz).year == local.year  # type: ignore[union-attr]
    day_text = _babel_datetime(local, "EEEE d MMMM" if same_year else "EEEE d MMMM y", tzinfo=tz, locale=LOCALE)
    hour = local.hour % 12 or 12
    return f"{day_text} at {hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
