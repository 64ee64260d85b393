"""The outcome definitions in force: the shipped rules with the clinic's primary instrument per diagnosis."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketacare.domain import outcomes
from ketacare.services import clinic
from ketacare.store.db import Database


def in_force(db: Database) -> outcomes.Definitions:
    """Return the shipped definitions with the clinic's choice of primary instruments applied."""
    return outcomes.with_primary_instruments(outcomes.shipped(), clinic.current(db).outcome_primary_instruments)


def in_force_in(s: Session) -> outcomes.Definitions:
    """Return the definitions in force, read in the caller's transaction."""
    return outcomes.with_primary_instruments(outcomes.shipped(), clinic.current_in(s).outcome_primary_instruments)
