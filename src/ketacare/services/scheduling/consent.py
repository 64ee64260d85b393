"""Hook for the consent check of a dosing appointment.

No consent service is on main yet (branch `consent` builds signed consent per route). Until it lands, this hook
answers "not checked" (None): bookings are not refused for consent, and every appointment says
`consent_checked = False` so no page implies a check that did not happen. When the consent service lands,
`consent_problem` asks it and returns its refusal in clinic words.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

CONSENT_SERVICE_AVAILABLE = False


def consent_problem(s: Session, patient_id: int, route: str, on: date) -> str | None:
    """Return why the patient has no signed consent in force for `route` on `on`, else None (hook: not checked)."""
    del s, patient_id, route, on
    return None
