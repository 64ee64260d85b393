"""Jinja2 environment with the display filters every page uses (units, 24-hour times in the clinic's zone, ISO
dates, durations, doses). The formatting itself lives in `ketacare.domain.formatting`, shared with the PDF."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ketacare.config import Settings
from ketacare.domain import formatting as fmt
from ketacare.domain import sources, units
from ketacare.services import clock
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


def make_templates(settings: Settings) -> Jinja2Templates:
    """Return the templates object with Ketacare's filters and the clinic's display units."""
    t = Jinja2Templates(directory=[str(d) for d in TEMPLATE_DIRS])
    env = t.env
    env.filters["weight"] = lambda kg: "" if kg is None else units.format_weight(kg, settings.weight_unit)
    env.filters["height"] = lambda cm: "" if cm is None else units.format_height(cm, settings.height_unit)
    tz = fmt.zone(settings.timezone)
    # Times in the clinic's zone, 24-hour, labelled with the zone ("2026-11-30 14:05 CET", "14:05:09 CET");
    # `clock` leaves the label off for table cells whose column header names the zone (`tz_label()`).
    env.filters["dt"] = lambda v, seconds=False, label=True: fmt.date_time(v, tz, seconds=seconds, label=label)
    env.filters["hms"] = lambda v: fmt.clock_time(v, tz)
    env.filters["hm"] = lambda v: fmt.clock_time(v, tz, seconds=False)
    env.filters["clock"] = lambda v, seconds=True: fmt.clock_time(v, tz, seconds=seconds, label=False)
    env.filters["duration"] = fmt.duration  # minutes -> "24 min 47 s", "1 h 05 min"
    env.filters["elapsed"] = lambda start: fmt.elapsed(start, clock.now())  # since `start`: "24 min 47 s"
    env.filters["mg"] = fmt.mg  # to the protocol's dose step (default 0.1 mg): "35.0 mg"
    env.filters["num"] = fmt.number  # fixed decimals, never "e-05"
    env.filters["vital"] = fmt.vital  # "182", "36.6"
    env.filters["amount"] = fmt.amount  # entered amounts, e.g. rescue doses: "0.25 mg", never rounded to a step
    env.globals["tz_label"] = lambda: fmt.zone_label(tz, clock.now())
    env.globals["tz_name"] = settings.timezone  # IANA name, for scripts that show clock times (board.js)
    env.filters["d"] = _d
    env.filters["age"] = age_years
    env.filters["label"] = lambda s: "" if s is None else str(s).replace("_", " ")
    env.filters["cite"] = cite
    env.globals["weight_unit"] = settings.weight_unit
    env.globals["demo"] = settings.demo
    # Signatures: the meaning stored with one ("Approved"), and what signing an action means, for its form.
    env.filters["meaning"] = lambda key: (m.label if (m := signing.meaning(key)) else "Signed")
    env.globals["signing_meaning"] = signing.meaning_of
    env.globals["may"] = lambda actor, action, resource: actor is not None and may(actor, action, resource)
    return t
