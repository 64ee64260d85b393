"""The consent check of a dosing appointment: the patient's signed consent in force for the order's route at the
appointment's start (the plans capability's consent status), in clinic words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ketacare.services import plans

CONSENT_SERVICE_AVAILABLE = True


def consent_problem(s: Session, patient_id: int, route: str, at: datetime) -> str | None:
    """Return why the patient has no signed consent in force for `route` at `at` (UTC), else None."""
    status = plans.status_in_session(s, patient_id, route, at)
    return None if status.in_force else f"no signed consent in force for this route: {status.reason}"
