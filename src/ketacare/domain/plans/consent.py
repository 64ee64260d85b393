"""Consent templates as data (`data/consent/*.toml`): one versioned document per product and route.

Each document explains the treatment in plain words: what it is, that it is off-label where it is, the evidence for
each anxiety indication (including where it is thin or negative), the risks every patient must read, the
alternatives, and the items a ketamine consent often misses (Mathai 2022: pre-treatment evaluation, support during
treatment, long-term risks, psychotherapy). A file missing any of them, or citing an unknown source, is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ketacare.domain.datafiles import load_toml
from ketacare.domain.plans.datacheck import DataFileError, check_source, check_table

_PACKAGE = "ketacare.domain.plans.data.consent"

REQUIRED_SECTIONS = (  # the Mathai 2022 checklist, plus what the treatment is and the patient's choice
    "what-it-is",
    "off-label",
    "pre-treatment-evaluation",
    "on-the-day",
    "long-term-risks",
    "psychotherapy",
    "alternatives",
    "your-choice",
)
REQUIRED_RISKS = ("dissociation", "blood-pressure", "nausea", "misuse", "bladder", "driving")
INDICATIONS = ("gad", "social-anxiety", "panic", "ptsd")
STRENGTHS = ("some", "thin", "mixed", "none")
_CITED = re.compile(r"\[[a-z][a-z0-9-]*(?:, [a-z][a-z0-9-]*)*\]")


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    text: str


@dataclass(frozen=True)
class IndicationEvidence:
    """The evidence for one indication in plain words; `strength` is "some", "thin", "mixed" or "none"."""

    id: str
    name: str
    strength: str
    text: str


@dataclass(frozen=True)
class ConsentTemplate:
    """A versioned consent document for one product and its routes."""

    id: str
    version: str
    effective: dt.date
    title: str
    product: str
    routes: tuple[str, ...]
    off_label: bool
    valid_months: int
    valid_source: str
    reconsent_on_new_version: bool  # a signature of an earlier version no longer counts (the clinic's choice)
    reconsent_source: str
    sections: tuple[Section, ...]
    indications: tuple[IndicationEvidence, ...]
    risks: tuple[Section, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def section(self, section_id: str) -> Section:
        """Return the section `section_id`."""
        return next(s for s in self.sections if s.id == section_id)

    def risk(self, risk_id: str) -> Section:
        """Return the risk `risk_id`."""
        return next(r for r in self.risks if r.id == risk_id)

    def covers(self, route: str) -> bool:
        """Return True when this document covers `route` (a protocol route: iv, sc, im, oral, ...)."""
        return route in self.routes

    def texts(self) -> list[str]:
        """Return every text a patient reads in this document, in order."""
        return [self.title, *(s.text for s in self.sections), *(i.text for i in self.indications),
                *(r.text for r in self.risks)]


def _entries(raw: dict[str, Any], key: str, required: tuple[str, ...], where: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = list(raw.get(key, []))
    ids = [e.get("id") for e in entries]
    missing = [r for r in required if r not in ids]
    if missing:
        raise DataFileError(f"{where}: {key} missing for {', '.join(missing)}")
    for e in entries:
        here = f"{where} {key} {e.get('id')}"
        check_table(e, here)
        if any(c.isdigit() for c in e["text"]) and not _CITED.search(e["text"]):
            raise DataFileError(f"{here}: a text with numbers must cite its source as [key]")
    return entries


def parse_consent_template(raw: dict[str, Any]) -> ConsentTemplate:
    """Return the consent document in `raw` (a parsed TOML file), or refuse it naming what is wrong."""
    where = f"consent {raw.get('id', '?')}"
    check_table(raw, where)
    check_source(raw.get("checklist_source"), f"{where} checklist_source")
    if not isinstance(raw.get("effective"), dt.date):
        raise DataFileError(f"{where}: effective must be a date (YYYY-MM-DD)")
    if not raw.get("version") or not raw.get("routes"):
        raise DataFileError(f"{where}: version and routes are required")
    validity = raw.get("validity", {})
    check_table(validity, f"{where} validity")
    reconsent = raw.get("reconsent", {})
    if not isinstance(reconsent.get("on_new_version"), bool):
        raise DataFileError(f"{where}: reconsent.on_new_version must be true or false (the clinic's choice)")
    sections = _entries(raw, "section", REQUIRED_SECTIONS, where)
    indications = _entries(raw, "indication", INDICATIONS, where)
    risks = _entries(raw, "risk", REQUIRED_RISKS, where)
    bad = [i["id"] for i in indications if i.get("strength") not in STRENGTHS]
    if bad:
        raise DataFileError(f"{where}: strength must be one of {', '.join(STRENGTHS)} ({', '.join(bad)})")
    return ConsentTemplate(
        id=str(raw["id"]),
        version=str(raw["version"]),
        effective=raw["effective"],
        title=str(raw["title"]),
        product=str(raw["product"]),
        routes=tuple(raw["routes"]),
        off_label=bool(raw["off_label"]),
        valid_months=int(validity["months"]),
        valid_source=check_source(validity.get("source"), f"{where} validity"),
        reconsent_on_new_version=reconsent["on_new_version"],
        reconsent_source=check_source(reconsent.get("source"), f"{where} reconsent"),
        sections=tuple(Section(str(s["id"]), str(s["heading"]), str(s["text"])) for s in sections),
        indications=tuple(
            IndicationEvidence(str(i["id"]), str(i["name"]), str(i["strength"]), str(i["text"])) for i in indications
        ),
        risks=tuple(Section(str(r["id"]), str(r["name"]), str(r["text"])) for r in risks),
        raw=raw,
    )


def consent_template_ids() -> tuple[str, ...]:
    """Return the ids of every consent document shipped, sorted."""
    names = (p.name for p in resources.files(_PACKAGE).iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(n.removesuffix(".toml") for n in names))


@cache
def consent_templates() -> dict[str, ConsentTemplate]:
    """Return every consent document by id (each checked: required sections, risks, indications, sources)."""
    out: dict[str, ConsentTemplate] = {}
    for cid in consent_template_ids():
        c = parse_consent_template(load_toml(_PACKAGE, f"{cid}.toml"))
        if c.id != cid:
            raise DataFileError(f"consent file {cid}.toml holds id {c.id!r}")
        out[cid] = c
    return out


def consent_for_route(route: str) -> tuple[ConsentTemplate, ...]:
    """Return the consent documents that cover `route`, by id."""
    return tuple(c for c in consent_templates().values() if c.covers(route))


def document_digest(template: ConsentTemplate) -> str:
    """Return the SHA-256 (hex) of the text a patient reads in `template`, kept with each signature."""
    return hashlib.sha256("\n".join([template.id, template.version, *template.texts()]).encode()).hexdigest()
