"""Demo integration therapy (issue 17): the demo therapist follows the patients who had infusions, with a
preparation and an integration note (shared, signed), a private note, goals with progress, one integration visit
due now (an infusion two days ago) and others overdue (infusions a week or more ago without a note)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.demo.sessions import _actor, _session
from ketacare.services import clock, therapy
from ketacare.services.access import Actor
from ketacare.services.patients import CareTeamUpdate, set_care_team
from ketacare.store.db import Database
from ketacare.store.tables import CareTeamMember
from ketacare.store.tables.sessions import InfusionSession

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 60  # after the demo sessions (50): notes follow their infusions

NO_RISK = {"suicidal_ideation": "none", "suicidal_behaviour": "no", "self_harm": "no", "harm_to_others": "no"}


def _ended(ctx: DemoContext) -> list[tuple[int, datetime]]:
    """Return (patient, first infusion end) for every patient with a completed infusion, earliest first."""
    with ctx.db.session() as s:
        rows = s.execute(
            select(InfusionSession.patient_id, InfusionSession.infusion_ended_at)
            .where(InfusionSession.infusion_ended_at.is_not(None))
            .order_by(InfusionSession.infusion_ended_at)
        ).all()
    first: dict[int, datetime] = {}
    for pid, ended in rows:
        if ended is not None:
            first.setdefault(pid, ended)
    return list(first.items())


def _with_therapist(ctx: DemoContext, pid: int) -> None:
    """Keep the patient's care team and add the demo therapist to it."""
    with ctx.db.session() as s:
        members = list(s.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == pid)))
    prescriber = next((m.user_id for m in members if m.team_role == "prescriber"), ctx.staff.get("prescriber"))
    nurses = [m.user_id for m in members if m.team_role == "nurse"]
    set_care_team(
        db=ctx.db,
        actor=ctx.actor,
        patient_id=pid,
        data=CareTeamUpdate(prescriber_id=prescriber, nurse_ids=nurses, therapist_id=ctx.staff["therapist"]),
    )


def extend(ctx: DemoContext) -> None:
    """Seed notes, goals and due visits for the demo therapist."""
    if "therapist" not in ctx.staff:
        return
    ended = _ended(ctx)
    if not ended:
        return
    for pid, _ in ended:
        _with_therapist(ctx, pid)
    therapist = _actor(ctx, "therapist")
    db = ctx.db
    featured, first_end = ended[0]
    # The featured patient: preparation before the first infusion, integration after it, goals, and a second
    # infusion two days ago whose integration visit is due now.
    prep = therapy.write_note(
        db=db,
        actor=therapist,
        patient_id=featured,
        data=therapy.NoteCreate(
            kind="preparation",
            visit_at=first_end - timedelta(days=2),
            intentions="Understand what keeps the worry going; sleep through the night again.",
            expectations="Hopes for relief within the first week; worried about feeling out of control.",
            set_and_setting="Quiet room, eye mask, own playlist; partner drives home.",
            safety_plan="Call the clinic or the crisis line; partner knows the warning signs.",
            sharing="care_team",
        ),
    )
    _sign(db, therapist, prep)
    goal_sleep = therapy.add_goal(
        db=db, actor=therapist, patient_id=featured, data=therapy.GoalCreate(goal="Sleep six hours most nights")
    )
    therapy.add_goal(
        db=db, actor=therapist, patient_id=featured, data=therapy.GoalCreate(goal="Return to work three days a week")
    )
    integ = therapy.write_note(
        db=db,
        actor=therapist,
        patient_id=featured,
        data=therapy.NoteCreate(
            kind="integration",
            visit_at=first_end + timedelta(days=1, hours=2),
            modality="cbt",
            themes="Catastrophic thoughts about work; relief noticed the evening after the infusion.",
            insights="Noticed that the worry is a habit, not a warning.",
            coping_skills="Worry postponement; paced breathing.",
            homework="Worry diary, 15 minutes at 18:00 daily.",
            risk=NO_RISK,
            sharing="care_team",
            goal_progress=[
                therapy.GoalProgressIn(
                    goal_id=goal_sleep.id, status="progressing", progress="Slept 5-6 h on three nights."
                )
            ],
        ),
    )
    _sign(db, therapist, integ)
    rng = np.random.default_rng(ctx.rng.randint(0, 2**31))
    start = clock.now().replace(microsecond=0) - timedelta(hours=50)
    _session(ctx, featured, "Chair 3", start, live=False, rng=rng)
    # A second patient: a private note (only the therapist reads it), not signed yet.
    if len(ended) > 1:
        pid, end = ended[1]
        therapy.write_note(
            db=db,
            actor=therapist,
            patient_id=pid,
            data=therapy.NoteCreate(
                kind="integration",
                visit_at=end + timedelta(days=2),
                modality="act",
                themes="Grief for the years lost to panic; values clarification.",
                narrative="Private process note: family history discussed in detail.",
                risk=NO_RISK,
                sharing="private",
            ),
        )
    # The others' integration visits stay overdue: the therapist's list shows them.


def _sign(db: Database, actor: Actor, note: therapy.NoteRead) -> None:
    therapy.sign_note(
        db=db, actor=actor, note_id=note.id, data=therapy.NoteSign(version=note.version, password=DEMO_PASSWORD)
    )
