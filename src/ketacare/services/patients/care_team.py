"""Care teams: a patient's prescriber, nurse(s) and therapist; "my patients"; who receives safety alerts."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import Actor, policy, roles_for
from ketacare.services.errors import NotFound
from ketacare.services.patients.schemas import (
    CareTeamMemberRead,
    CareTeamRead,
    CareTeamUpdate,
    ClinicianOption,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import CareTeamMember, Patient, User

_PREFIX = "care_team_"


def positions() -> tuple[str, ...]:
    """Return the positions on a care team, in the policy's order: each `care_team_<position>` action on a
    patient names one, and the roles granted it may hold it (data, never role names in code)."""
    found = [
        g.action.removeprefix(_PREFIX)
        for g in policy.grants()
        if g.resource == "patient" and g.action.startswith(_PREFIX)
    ]
    return tuple(dict.fromkeys(found))


def _wanted(data: CareTeamUpdate) -> list[tuple[str, int | None, str]]:
    """Return (position, user id, form field) for each member sent: `<position>_ids` or `<position>_id`."""
    out: list[tuple[str, int | None, str]] = []
    for position in positions():
        many = getattr(data, f"{position}_ids", None)
        if many is not None:
            out += [(position, uid, f"{position}_ids") for uid in dict.fromkeys(many)]
        else:
            out.append((position, getattr(data, f"{position}_id", None), f"{position}_id"))
    return out


def my_patient_ids(user_id: int) -> Select[int]:
    """Return a query of the ids of the patients whose care team includes `user_id` (or who name them primary)."""
    team = select(CareTeamMember.patient_id).where(CareTeamMember.user_id == user_id)
    return select(Patient.id).where(or_(Patient.id.in_(team), Patient.primary_clinician_id == user_id))


def care_team_user_ids(s: Session, patient_id: int) -> set[int]:
    """Return the user ids of a patient's care team and primary clinician (no authorization here)."""
    ids = set(s.scalars(select(CareTeamMember.user_id).where(CareTeamMember.patient_id == patient_id)))
    primary = s.scalar(select(Patient.primary_clinician_id).where(Patient.id == patient_id))
    return ids | ({primary} if primary else set())


def _options(s: Session) -> dict[str, list[ClinicianOption]]:
    out: dict[str, list[ClinicianOption]] = {}
    for position in positions():
        allowed = roles_for(f"{_PREFIX}{position}", "patient")
        users = s.scalars(
            select(User).where(User.role.in_(allowed), User.is_active.is_(True)).order_by(User.display_name)
        )
        out[position] = [ClinicianOption(user_id=u.id, name=u.display_name or u.username) for u in users]
    return out


def _team(s: Session, patient_id: int) -> CareTeamRead:
    rows = s.execute(
        select(CareTeamMember, User)
        .join(User, User.id == CareTeamMember.user_id)
        .where(CareTeamMember.patient_id == patient_id)
        .order_by(CareTeamMember.id)
    ).all()
    members = [
        CareTeamMemberRead(user_id=u.id, name=u.display_name or u.username, team_role=m.team_role)
        for m, u in sorted(rows, key=lambda r: (_order(r[0].team_role), r[1].display_name))
    ]
    ids: dict[str, list[int]] = {}
    for m in members:
        ids.setdefault(m.team_role, []).append(m.user_id)
    return CareTeamRead(patient_id=patient_id, members=members, member_ids=ids, options=_options(s))


def _order(position: str) -> int:
    known = positions()
    return known.index(position) if position in known else len(known)


def get_care_team(*, db: Database, actor: Actor, patient_id: int) -> CareTeamRead:
    """Return a patient's care team and the clinicians who may join it in each position."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "care_team", patient_id=patient_id)
        if uow.session.get(Patient, patient_id) is None:
            raise NotFound("patient")
        team = _team(uow.session, patient_id)
        uow.audit("view", "care_team", patient_id, patient_id=patient_id)
        return team


def set_care_team(*, db: Database, actor: Actor, patient_id: int, data: CareTeamUpdate) -> CareTeamRead:
    """Replace a patient's care team (one prescriber, any nurses, one therapist); each member must hold a
    clinical role the policy allows in that position and be active. The first prescriber becomes the primary
    clinician when none is set."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("manage", "care_team", patient_id=patient_id)
        s = uow.session
        p = s.get(Patient, patient_id)
        if p is None:
            raise NotFound("patient")
        wanted = _wanted(data)
        for position, uid, field in wanted:
            if uid is None:
                continue
            u = s.get(User, uid)
            allowed = roles_for(f"{_PREFIX}{position}", "patient")
            if u is None or not u.is_active or u.role not in allowed:
                raise InvalidValue(field, f"choose an active {position} from the list")
        before = sorted(
            (m.team_role, m.user_id)
            for m in s.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == patient_id))
        )
        for m in s.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == patient_id)):
            s.delete(m)
        s.flush()
        now = clock.now()
        for position, uid, _ in wanted:
            if uid is not None:
                s.add(
                    CareTeamMember(
                        patient_id=patient_id,
                        user_id=uid,
                        team_role=position,
                        added_by=actor.user_id,
                        added_at=now,
                    )
                )
        if p.primary_clinician_id is None and data.prescriber_id is not None:
            p.primary_clinician_id = data.prescriber_id
        s.flush()
        after = sorted((pos, uid) for pos, uid, _ in wanted if uid is not None)
        uow.audit(
            "update",
            "care_team",
            patient_id,
            patient_id=patient_id,
            details={"before": [f"{r}:{u}" for r, u in before], "after": [f"{r}:{u}" for r, u in after]},
        )
        return _team(s, patient_id)
