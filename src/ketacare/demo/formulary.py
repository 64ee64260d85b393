"""Demo rescue formulary (issue #12): a complete EXAMPLE formulary so the demo clinic can record rescue doses.

A real clinic starts with an empty formulary: Ketacare ships no rescue doses (no citable psychiatric
guideline gives them). The doses below are illustrative values chosen for the synthetic demo clinic,
not verified and not a recommendation; every entry says so in its approver and source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketacare.services.access import Actor
from ketacare.services.sessions import formulary
from ketacare.services.sessions.formulary import FormularyEntryIn, FormularyRetire

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 45  # before the demo sessions (50)
APPROVED = "Demo clinic example - not a clinical recommendation"
SOURCE = "DEMO EXAMPLE ONLY: illustrative doses for synthetic data, not verified; {why}"
ENTRIES = [
    ("ondansetron", "iv", ["nausea", "vomiting"], 4, 8, "mg", 2, 16, "named in ED ketamine pathways [curbside-health]"),
    ("ondansetron", "po", ["nausea", "vomiting"], 4, 8, "mg", 2, 16, "named in ED ketamine pathways [curbside-health]"),
    ("labetalol", "iv", ["raised_bp"], 5, 20, "mg", 3, 60, "anecdotal [sdn-forum]; see [yip2022]"),
    ("clonidine", "po", ["raised_bp"], 75, 150, "microgram", 1, None, "anecdotal [sdn-forum]"),
    ("midazolam", "iv", ["anxiety_agitation"], 0.5, 2, "mg", 2, 4, "emergence reactions [nct02909465]; may blunt "
     "ketamine's effect [andrashko2020]"),
]  # fmt: skip


def extend(ctx: DemoContext) -> None:
    """Add the example entries (as the demo prescriber) and one retired entry, to show that retired ones are kept."""
    prescriber = Actor(user_id=ctx.staff["prescriber"], username="prescriber", role="prescriber")
    for drug, route, treats, lo, hi, unit, n, total, why in ENTRIES:
        formulary.add_entry(db=ctx.db, actor=prescriber, data=FormularyEntryIn(
            drug=drug, route=route, indications=treats, dose_min=lo, dose_max=hi, dose_unit=unit,
            max_doses_per_session=n, max_total_per_session=total, approved_by=APPROVED,
            source=SOURCE.format(why=why), note="Demo example entry."))  # fmt: skip
    old = formulary.add_entry(db=ctx.db, actor=prescriber, data=FormularyEntryIn(
        drug="metoclopramide", route="iv", indications=["nausea"], dose_min=10, dose_max=10, dose_unit="mg",
        max_doses_per_session=1, approved_by=APPROVED, source=SOURCE.format(why="shown retired"),
        note="Demo example entry."))  # fmt: skip
    formulary.retire_entry(
        db=ctx.db,
        actor=prescriber,
        entry_id=old.id,
        data=FormularyRetire(version=old.version, reason="Demo: replaced by ondansetron"),
    )
