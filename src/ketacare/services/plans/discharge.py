"""Discharge instructions: the clinic's versioned text (an administrator edits it with a reason; version 0 is the
shipped text), the sheet given to a patient at discharge, and the patient's and escort's acknowledgements that
discharge waits for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans.discharge import fill_line, shipped_discharge_instructions
from ketacare.services import clinic, clock
from ketacare.services.access import Actor
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.plans.schemas import (
    AcknowledgementIn,
    AcknowledgementRead,
    CrisisLineRead,
    DischargeSheet,
    InstructionSection,
    InstructionsRead,
    InstructionsUpdate,
    PrintedInstructions,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient, User
from ketacare.store.tables.clinic import ClinicSettingsVersion
from ketacare.store.tables.plans import DischargeAcknowledgement, DischargeInstructionsVersion
from ketacare.store.tables.sessions import InfusionSession

RESOURCE = "discharge_instructions"
SHEET = "discharge_sheet"  # the instructions as given at one session, with its acknowledgements
PARTIES = ("patient", "escort")
# The session states in which the instructions are read and acknowledged (before the patient leaves).
ACK_STATES = ("infusing", "paused", "recovery")


def _shipped() -> InstructionsRead:
    sh = shipped_discharge_instructions()
    return InstructionsRead(
        version=0,
        heading=sh.heading,
        sections=[InstructionSection(title=t, lines=list(lines)) for t, lines in sh.sections],
        source=sh.source,
    )


def _read(row: DischargeInstructionsVersion) -> InstructionsRead:
    return InstructionsRead(
        **row.data,
        version=row.version,
        source="clinic-default",
        changed_by_name=row.changed_by_name,
        changed_at=row.changed_at,
        reason=row.reason,
    )


def instructions_in_force(s: Session) -> InstructionsRead:
    """Return the newest saved version of the instructions, or the shipped text (version 0)."""
    row = s.scalars(
        select(DischargeInstructionsVersion).order_by(DischargeInstructionsVersion.version.desc()).limit(1)
    ).first()
    return _shipped() if row is None else _read(row)


def instructions_version(s: Session, version: int) -> InstructionsRead | None:
    """Return one version of the instructions (0: shipped), or None when there is no such version."""
    if version == 0:
        return _shipped()
    row = s.scalars(select(DischargeInstructionsVersion).where(DischargeInstructionsVersion.version == version)).first()
    return None if row is None else _read(row)


def current_instructions(*, db: Database, actor: Actor) -> InstructionsRead:
    """Return the instructions in force (staff: the admin page, the API)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        return instructions_in_force(uow.session)


def instructions_history(*, db: Database, actor: Actor) -> list[InstructionsRead]:
    """Return every version, newest first, ending with the shipped text (version 0)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        rows = uow.session.scalars(
            select(DischargeInstructionsVersion).order_by(DischargeInstructionsVersion.version.desc())
        )
        return [*map(_read, rows), _shipped()]


def save_instructions(*, db: Database, actor: Actor, data: InstructionsUpdate) -> InstructionsRead:
    """Save a new version of the instructions with its reason; an edit of an older version is refused (409)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("update", RESOURCE)
        s = uow.session
        now_in_force = instructions_in_force(s)
        if data.base_version != now_in_force.version:
            raise Conflict("discharge instructions", current_version=now_in_force.version,
                           sent_version=data.base_version)
        user = s.get(User, actor.user_id) if actor.user_id else None
        row = DischargeInstructionsVersion(
            version=now_in_force.version + 1,
            data=data.model_dump(include={"heading", "sections"}),
            reason=data.reason,
            changed_by=actor.user_id,
            changed_by_name=(user.display_name if user is not None and user.display_name else actor.username),
            changed_at=clock.now(),
        )
        s.add(row)
        s.flush()
        uow.audit("update", RESOURCE, row.version, reason=data.reason, details={"version": row.version})
        return _read(row)


def _settings(s: Session) -> clinic.ClinicSettingsRead:
    """Return the clinic's settings in force, read inside the caller's transaction (SQLite allows one writer)."""
    row = s.scalars(select(ClinicSettingsVersion).order_by(ClinicSettingsVersion.version.desc()).limit(1)).first()
    if row is None:
        return clinic.from_environment()
    return clinic.ClinicSettingsRead(**row.data, version=row.version)


def printed(s: Session, ins: InstructionsRead) -> PrintedInstructions:
    """Return the instructions as given to a patient: the clinic's phone filled in, its crisis lines beside."""
    settings = _settings(s)
    return PrintedInstructions(
        version=ins.version,
        heading=ins.heading,
        sections=[InstructionSection(title=sec.title, lines=[fill_line(line, settings.phone) for line in sec.lines])
                  for sec in ins.sections],
        clinic_name=settings.name,
        clinic_phone=settings.phone,
        crisis_lines=[CrisisLineRead(name=c.name, number=c.number, when=c.when) for c in settings.crisis_lines],
        source=ins.source,
    )


def given_instructions(s: Session, session_id: int) -> tuple[int, list[str]]:
    """Return the version of the instructions a session's patient was given (the one acknowledged, else the one
    in force) and its lines as printed ("Section: line", the clinic's phone filled in); for the signed record."""
    acks = acknowledgements(s, session_id)
    ins = (instructions_version(s, acks[0].instructions_version) if acks else None) or instructions_in_force(s)
    phone = _settings(s).phone
    return ins.version, [f"{sec.title}: {fill_line(line, phone)}" for sec in ins.sections for line in sec.lines]


def acknowledgements(s: Session, session_id: int) -> list[AcknowledgementRead]:
    """Return the acknowledgements recorded for a session (patient first)."""
    rows = s.scalars(select(DischargeAcknowledgement).where(DischargeAcknowledgement.session_id == session_id))
    return sorted((AcknowledgementRead.model_validate(r) for r in rows), key=lambda a: PARTIES.index(a.party))


def acknowledgements_complete(s: Session, session_id: int) -> bool:
    """Return whether both the patient and the escort acknowledged the discharge instructions (discharge guard)."""
    return {a.party for a in acknowledgements(s, session_id)} == set(PARTIES)


def acknowledged_sessions(s: Session, session_ids: list[int]) -> set[int]:
    """Return which of the sessions have both acknowledgements (one statement, for the board's chairs)."""
    parties: dict[int, set[str]] = {}
    if session_ids:
        for sid, party in s.execute(
            select(DischargeAcknowledgement.session_id, DischargeAcknowledgement.party).where(
                DischargeAcknowledgement.session_id.in_(session_ids)
            )
        ):
            parties.setdefault(sid, set()).add(party)
    return {sid for sid, got in parties.items() if got == set(PARTIES)}


def _session(s: Session, session_id: int) -> InfusionSession:
    sess = s.get(InfusionSession, session_id)
    if sess is None:
        raise NotFound("infusion session")
    return sess


def _sheet(s: Session, sess: InfusionSession) -> DischargeSheet:
    acks = acknowledgements(s, sess.id)
    version = acks[0].instructions_version if acks else None
    ins = (instructions_version(s, version) if version is not None else None) or instructions_in_force(s)
    p = s.get(Patient, sess.patient_id)
    return DischargeSheet(
        session_id=sess.id,
        patient_id=sess.patient_id,
        patient_name=f"{p.given_name} {p.family_name}" if p else "",
        instructions=printed(s, ins),
        acknowledgements=acks,
        escort_name=p.escort_name if p else None,
        complete={a.party for a in acks} == set(PARTIES),
    )


def discharge_sheet(*, db: Database, actor: Actor, session_id: int) -> DischargeSheet:
    """Return the instructions of a session (the version acknowledged, else the one in force) and the
    acknowledgements; a patient reads only their own sessions'."""
    with UnitOfWork(db, actor) as uow:
        sess = _session(uow.session, session_id)
        uow.authorize("read", SHEET, patient_id=sess.patient_id)
        sheet = _sheet(uow.session, sess)
        uow.audit("view", SHEET, session_id, patient_id=sess.patient_id)
        return sheet


def patient_sheets(*, db: Database, actor: Actor, patient_id: int, limit: int = 5) -> list[DischargeSheet]:
    """Return the instructions of a patient's newest discharged sessions (the portal shows them)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", SHEET, patient_id=patient_id)
        s = uow.session
        rows = s.scalars(
            select(InfusionSession)
            .where(InfusionSession.patient_id == patient_id, InfusionSession.discharged_at.is_not(None))
            .order_by(InfusionSession.discharged_at.desc())
            .limit(limit)
        )
        out = [_sheet(s, sess) for sess in rows]
        uow.audit("list", SHEET, patient_id=patient_id, details={"results": len(out)})
        return out


def acknowledge(*, db: Database, actor: Actor, session_id: int, data: AcknowledgementIn) -> DischargeSheet:
    """Record that the patient or the escort read the instructions (typed name, the version they read, who
    recorded it and when); once per party; only before discharge and only for the version in force."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        sess = _session(s, session_id)
        uow.authorize("chart", "infusion_session", patient_id=sess.patient_id)
        if sess.state not in ACK_STATES:
            raise InvalidValue("party", "the instructions are acknowledged after the infusion, before discharge")
        in_force = instructions_in_force(s)
        acks = acknowledgements(s, sess.id)
        version = acks[0].instructions_version if acks else in_force.version
        if data.instructions_version != version:
            raise InvalidValue("instructions_version",
                               f"the instructions shown were version {data.instructions_version}; version {version} "
                               "is the one to read: reload the page and read it again")
        if any(a.party == data.party for a in acks):
            raise InvalidValue("party", f"the {data.party} has already acknowledged the instructions")
        row = DischargeAcknowledgement(
            session_id=sess.id,
            patient_id=sess.patient_id,
            party=data.party,
            name=data.name,
            instructions_version=version,
            acknowledged_at=clock.now(),
            recorded_by=actor.user_id,
            recorded_by_username=actor.username,
        )
        s.add(row)
        s.flush()
        uow.audit("acknowledge", RESOURCE, sess.id, patient_id=sess.patient_id,
                  details={"party": data.party, "version": version})
        return _sheet(s, sess)
