"""Jinja2 environment with the display filters every page uses (units, 24-hour times, ISO dates)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ketacare.config import Settings
from ketacare.domain import sources, units
from ketacare.services.access import may

WEB = Path(__file__).parent
# Shared layouts in web/templates; each capability's pages in web/<capability>/templates (names are unique).
TEMPLATE_DIRS = [WEB / "templates", *sorted(p for p in WEB.glob("*/templates") if p != WEB / "templates")]


def _dt(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


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
    return Markup("".join(out))


def make_templates(settings: Settings) -> Jinja2Templates:
    """Return the templates object with Ketacare's filters and the clinic's display units."""
    t = Jinja2Templates(directory=[str(d) for d in TEMPLATE_DIRS])
    env = t.env
    env.filters["weight"] = lambda kg: "" if kg is None else units.format_weight(kg, settings.weight_unit)
    env.filters["height"] = lambda cm: "" if cm is None else units.format_height(cm, settings.height_unit)
    env.filters["dt"] = _dt
    env.filters["d"] = _d
    env.filters["age"] = age_years
    env.filters["label"] = lambda s: "" if s is None else str(s).replace("_", " ")
    env.filters["cite"] = cite
    env.globals["weight_unit"] = settings.weight_unit
    env.globals["demo"] = settings.demo
    env.globals["may"] = lambda actor, action, resource: actor is not None and may(actor, action, resource)
    return t
