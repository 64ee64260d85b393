"""Demo care teams: every patient has the prescriber; the nurse and the therapist each follow a share of them.

So "my patients" differs per clinician (the therapist sees about a third of the clinic) and safety alerts reach
the whole team. The first portal patients (patient1..3), the featured patient and every patient with an open
safety alert have a full team, so each clinician's dashboard shows that alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from ketacare.services.patients import CareTeamUpdate, set_care_team
from ketacare.store.tables.measurement import SafetyAlert

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 25  # after the scores (20), which raise the demo's safety alert; before orders and sessions


def extend(ctx: DemoContext) -> None:
    """Assign a care team to every demo patient."""
    prescriber = ctx.staff.get("prescriber")
    nurse = ctx.staff.get("nurse")
    therapist = ctx.staff.get("therapist")
    with ctx.db.session() as s:
        alerted = set(s.scalars(select(SafetyAlert.patient_id).where(SafetyAlert.acknowledged_at.is_(None))))
    full = set(ctx.patient_ids[:3]) | {ctx.patient_ids[-1]} | alerted
    for k, pid in enumerate(ctx.patient_ids):
        with_nurse = pid in full or k % 5 < 3  # about 60 %
        with_therapist = pid in full or k % 3 == 0  # about a third
        set_care_team(
            db=ctx.db,
            actor=ctx.actor,
            patient_id=pid,
            data=CareTeamUpdate(
                prescriber_id=prescriber,
                nurse_ids=[nurse] if with_nurse and nurse else [],
                therapist_id=therapist if with_therapist else None,
            ),
        )
