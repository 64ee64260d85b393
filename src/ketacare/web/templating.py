"""Jinja2 environment with the display filters every page uses (units, 24-hour times in the clinic's zone, ISO
dates, durations, doses). The formatting itself lives in `ketacare.domain.formatting`, shared with the PDF."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ketacare.config import Settings
from ketacare.domain import formatting as fmt
from ketacare.domain import sources, units
from ketacare.domain.clinic import dial_href
from ketacare.services import clinic, clock
from ketacare.services.access import may, signing

WEB = Path(__file__).parent
# Shared layouts in web/templates; each capability's pages in web/<capability>/templates (names are unique).
TEMPLATE_DIRS = [WEB / "templates", *sorted(p for p in WEB.glob("*/templates") if p != WEB / "templates")]


def _d(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def age_years(dob: date, on: date | None = None) -> int:
    on = on or date.today()
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def cite(text: str | None) -> Markup:
    """Render cited text: each bibliography key becomes "Author Year" linked to its entry on /sources."""
    out = []
    for part in sources.cite_parts("" if text is None else str(text)):
        if part.is_source:
            entry = sources.bibliography()[part.key]
            title = escape(f"{entry.authors} {entry.title}. {entry.published}")
            out.append(f'<a class="cite" href="/sources#{part.key}" title="{title}">{escape(part.text)}</a>')
        elif part.label:
            out.append(f'<span class="cite-label">{escape(part.text)}</span>')
        else:
            out.append(str(escape(part.text)))
    return Markup("".join(out))  # noqa: S704 - every part was escaped above


# The clinic settings in force for the page being rendered (set by `rendering.render` from the database), so the
# filters show times in the clinic's zone and weights in its unit as saved on /admin/clinic.
_CLINIC: ContextVar[clinic.ClinicSettingsRead | None] = ContextVar("clinic", default=None)


@contextmanager
def clinic_in_force(settings: clinic.ClinicSettingsRead) -> Iterator[None]:
    """Render templates with `settings` as the clinic's settings."""
    token = _CLINIC.set(settings)
    try:
        yield
    finally:
        _CLINIC.reset(token)


class _ClinicZone:
    """The clinic's time zone for the page being rendered, else the environment's (a page outside `render`)."""

    def __init__(self, fallback: str) -> None:
        self.fallback = fmt.zone(fallback)

    def get(self) -> tzinfo:
        c = _CLINIC.get()
        return fmt.zone(c.timezone) if c is not None else self.fallback


def compile_templates(templates: Jinja2Templates) -> None:
    """Compile every page template now (a server's start), not on the first request for it: the board page's first
    render spent ~250 ms compiling board.html and its layout while the requests behind it waited (issue 15)."""
    for name in templates.env.list_templates(filter_func=lambda n: n.endswith(".html")):
        templates.env.get_template(name)


def make_templates(settings: Settings) -> Jinja2Templates:
    """Return the templates object with Ketacare's filters and the clinic's display units."""
    t = Jinja2Templates(directory=[str(d) for d in TEMPLATE_DIRS])
    env = t.env

    def unit(name: str) -> str:
        c = _CLINIC.get()
        return str(getattr(c if c is not None else settings, name))

    env.filters["weight"] = lambda kg: "" if kg is None else units.format_weight(kg, unit("weight_unit"))  # type: ignore[arg-type]
    env.filters["height"] = lambda cm: "" if cm is None else units.format_height(cm, unit("height_unit"))  # type: ignore[arg-type]
    zone = _ClinicZone(settings.timezone)
    # Times in the clinic's zone, 24-hour, labelled with the zone ("2026-11-30 14:05 CET", "14:05:09 CET");
    # `clock` leaves the label off for table cells whose column header names the zone (`tz_label()`).
    env.filters["dt"] = lambda v, seconds=False, label=True: fmt.date_time(
        v, zone.get(), seconds=seconds, label=label
    )
    env.filters["hms"] = lambda v: fmt.clock_time(v, zone.get())
    env.filters["hm"] = lambda v: fmt.clock_time(v, zone.get(), seconds=False)
    env.filters["clock"] = lambda v, seconds=True: fmt.clock_time(
        v, zone.get(), seconds=seconds, label=fmt.zone_label(zone.get(), v) != fmt.zone_label(zone.get(), clock.now())
    )  # a time from before a daylight-saving change keeps its own label ("01:50:00 EDT" under "(EST)")
    # For patients: "Tue 2 Dec, 09:00" (babel), and the day alone "Tue 2 Dec 2026".
    env.filters["friendly"] = lambda v: fmt.friendly(v, zone.get(), now=clock.now())
    env.filters["friendly_date"] = lambda v: fmt.friendly_date(v, zone.get())
    env.filters["day"] = fmt.day  # a calendar date for patients: "3 Feb 1990"
    # A time as typed into an entry field in the clinic's zone ("2026-11-30 14:05"), for prefilled values.
    env.filters["local_input"] = lambda v: fmt.local_input(v, zone.get())
    env.filters["duration"] = fmt.duration  # minutes -> "24 min 47 s", "1 h 05 min"
    env.filters["elapsed"] = lambda start: fmt.elapsed(start, clock.now())  # since `start`: "24 min 47 s"
    env.filters["mg"] = fmt.mg  # to the protocol's dose step (default 0.1 mg): "35.0 mg"
    env.filters["num"] = fmt.number  # fixed decimals, never "e-05"
    env.filters["vital"] = fmt.vital  # "182", "36.6"
    env.filters["amount"] = (
        fmt.amount
    )  # entered amounts, e.g. rescue doses: "0.25 mg", never rounded to a step
    env.globals["tz_label"] = lambda: fmt.zone_label(zone.get(), clock.now())
    # A date ("2026-11-22"); for a stored time, the day it is in the clinic's zone (never "2026-11-22T05:00:00+00:00").
    env.filters["d"] = lambda v: fmt.date_time(v, zone.get())[:10] if isinstance(v, datetime) else _d(v)
    env.filters["age"] = age_years
    env.filters["label"] = lambda s: "" if s is None else str(s).replace("_", " ")
    env.filters["cite"] = cite
    env.filters["dial"] = dial_href  # "+49 30 1234" -> "tel:+49301234": the link dials the number shown
    env.globals["demo"] = settings.demo
    # Signatures: the meaning stored with one ("Approved"), and what signing an action means, for its form.
    env.filters["meaning"] = lambda key: (m.label if (m := signing.meaning(key)) else "Signed")
    env.globals["signing_meaning"] = signing.meaning_of
    env.globals["may"] = lambda actor, action, resource: actor is not None and may(actor, action, resource)
    return t
