"""Every stored row that belongs to one patient, found by following foreign keys from the patient: the base of the
patient's own export (right of access) and, later, of FHIR `$everything`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from ketacare.store.tables import Base

# Not part of a patient's record: accounts, sign-in state, the audit chain itself (the access log is exported
# separately, without other people's details), one-time link uses (hashes only) and clinic configuration.
_NOT_RECORD = {
    "users",
    "auth_sessions",
    "login_throttle",
    "audit_events",
    "audit_chain_head",
    "clinic_meta",
    "questionnaire_link_uses",
    "rescue_formulary_entries",
}
_SECRET_WORDS = ("hash", "token", "secret", "password", "canonical")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {
        c.name: _plain(getattr(row, c.name))
        for c in table.columns
        if not any(word in c.name for word in _SECRET_WORDS)
    }


def patient_rows(s: Session, patient_id: int) -> dict[str, list[dict[str, Any]]]:
    """Return the patient's row and every row linked to it (directly or through its sessions, orders,
    responses, ...), table by table, in id order; secrets and hashes left out."""
    tables = Base.metadata.tables
    found: dict[str, list[dict[str, Any]]] = {
        "patients": [
            _row(tables["patients"], r)
            for r in s.execute(select(tables["patients"]).where(tables["patients"].c.id == patient_id))
        ]
    }
    ids: dict[str, set[Any]] = {"patients": {patient_id}}
    changed = True
    while changed:
        changed = False
        for name, table in sorted(tables.items()):
            if name in found or name in _NOT_RECORD:
                continue
            links = [
                fk
                for fk in table.foreign_keys
                if fk.column.table.name in ids and fk.column.table.name != name
            ]
            if not links:
                continue
            condition = or_(*(fk.parent.in_(sorted(ids[fk.column.table.name])) for fk in links))
            pk = list(table.primary_key.columns)
            rows = s.execute(select(table).where(condition).order_by(*pk)).all()
            found[name] = [_row(table, r) for r in rows]
            if len(pk) == 1:
                ids[name] = {getattr(r, pk[0].name) for r in rows}
            changed = True
    return found


def referenced_users(rows: dict[str, list[dict[str, Any]]]) -> set[int]:
    """Return the ids of the staff named in the rows (who recorded, signed, checked ...)."""
    tables = Base.metadata.tables
    users: set[int] = set()
    for name, items in rows.items():
        for fk in tables[name].foreign_keys:
            if fk.column.table.name == "users":
                users.update(v for r in items if isinstance(v := r.get(fk.parent.name), int))
    return users
