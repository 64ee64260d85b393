"""Therapy notes: write (with risk-check escalation and goal progress), open, list, sign, add addenda.

A note is private to its author unless shared with the care team; every read is audited and a refused read
writes a `denied` event. A signed note never changes: corrections are addenda chained to its digest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.therapy import NoteContent, check_goal_status, check_note, escalations
from ketacare.services import clock, patients
from ketacare.services.access import Actor, decide, signature_name, signing
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.therapy.common import infusions, note_read, patient_or_404, shared_with
from ketacare.services.therapy.schemas import (
    TEXT_FIELDS,
    GoalProgressIn,
    NoteAddendumCreate,
    NoteCreate,
    NoteRead,
    NoteSign,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.measurement import SafetyAlert
from ketacare.store.tables.sessions import InfusionSession
from ketacare.store.tables.therapy import TherapyGoal, TherapyGoalProgress, TherapyNote, TherapyNoteAddendum

ALERT_KIND = "therapy_risk_check"  # the urgent safety alert a positive risk check raises (dashboard)


def _author_name(s: Session, actor: Actor) -> str:
    """The name the note shows for its author: the signature name (display name and credentials)."""
    user = s.get(User, actor.user_id) if actor.user_id is not None else None
    return signature_name(user.display_name, user.credentials) if user and user.display_name else actor.username


def _link_infusion(s: Session, patient_id: int, data: NoteCreate, visit_at: datetime) -> int | None:
    """Return the session an integration note follows (given, or the latest infusion before the visit); refuse
    a preparation visit after the first infusion."""
    started = select(InfusionSession).where(
        InfusionSession.patient_id == patient_id, InfusionSession.infusion_started_at.is_not(None)
    )
    if data.kind == "preparation":
        first = s.scalars(started.order_by(InfusionSession.infusion_started_at).limit(1)).first()
        if first is not None and first.infusion_started_at is not None and first.infusion_started_at < visit_at:
            raise InvalidValue(
                "visit_at", "a preparation visit comes before the first infusion: write an integration note"
            )
        if data.session_id is not None:
            raise InvalidValue("session_id", "a preparation visit follows no infusion: leave the infusion empty")
        return None
    if data.session_id is not None:
        sess = s.get(InfusionSession, data.session_id)
        if sess is None or sess.patient_id != patient_id or sess.infusion_started_at is None:
            raise InvalidValue("session_id", "choose one of this patient's infusions")
        if sess.infusion_started_at > visit_at:
            raise InvalidValue("session_id", "this infusion started after the visit: choose an earlier one")
        return sess.id
    latest = s.scalars(
        started.where(InfusionSession.infusion_started_at <= visit_at)
        .order_by(InfusionSession.infusion_started_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        raise InvalidValue(
            "session_id", "no infusion before this visit: an integration note follows an infusion (or write a "
            "preparation note)"
        )
    return latest.id


def write_note(*, db: Database, actor: Actor, patient_id: int, data: NoteCreate) -> NoteRead:
    """Store a therapy visit's note; a risk answer that escalates raises an urgent safety alert for the
    patient's primary clinician (seen by the whole care team) in the same transaction."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "psychotherapy_note", patient_id=patient_id)
        s, now = uow.session, clock.now()
        if actor.user_id is None:
            raise InvalidValue("author", "a therapy note needs a person's own account: sign in as yourself")
        p = patient_or_404(s, patient_id)
        visit_at = data.visit_at or now
        if visit_at.tzinfo is None:
            raise InvalidValue("visit_at", "give the time with a time zone (e.g. 2026-11-26T09:30:00Z)")
        if visit_at > now:
            raise InvalidValue("visit_at", "a visit note is written after the visit, not in the future")
        texts = {f: getattr(data, f) or None for f in TEXT_FIELDS}
        content = NoteContent(data.kind, data.sharing, data.modality or None, texts, data.risk)
        check_note(content)
        session_id = _link_infusion(s, patient_id, data, visit_at)
        goals = _goal_progress(s, patient_id, data)
        flagged = escalations(data.risk) if data.kind == "integration" else ()
        note = TherapyNote(
            patient_id=patient_id,
            author_id=actor.user_id,
            author_name=_author_name(s, actor),
            kind=data.kind,
            session_id=session_id,
            visit_at=visit_at,
            modality=data.modality or None,
            risk=dict(data.risk) if data.kind == "integration" else {},
            escalated=bool(flagged),
            sharing=data.sharing,
            created_at=now,
            **texts,
        )
        s.add(note)
        s.flush()
        for goal, entry in goals:
            goal.status = entry.status
            goal.updated_at = now
            s.add(
                TherapyGoalProgress(
                    goal_id=goal.id,
                    note_id=note.id,
                    status=entry.status,
                    progress=entry.progress or None,
                    author_id=actor.user_id,
                    at=visit_at,
                )
            )
        uow.audit(
            "create",
            "psychotherapy_note",
            note.id,
            patient_id=patient_id,
            details={"kind": note.kind, "sharing": note.sharing, "session_id": session_id, "escalated": list(flagged)},
        )
        if flagged:
            alert = SafetyAlert(
                patient_id=patient_id, response_id=None, kind=ALERT_KIND, assigned_to=p.primary_clinician_id,
                raised_at=now,
            )
            s.add(alert)
            s.flush()
            uow.audit(
                "create",
                "safety_alert",
                alert.id,
                patient_id=patient_id,
                details={"kind": ALERT_KIND, "assigned_to": alert.assigned_to, "note_id": note.id},
            )
        s.flush()
        return note_read(s, actor, note, {r.session_id: r for r in infusions(s, patient_id)})


def _goal_progress(s: Session, patient_id: int, data: NoteCreate) -> list[tuple[TherapyGoal, GoalProgressIn]]:
    out: list[tuple[TherapyGoal, GoalProgressIn]] = []
    problems: dict[str, str] = {}
    for k, entry in enumerate(data.goal_progress):
        goal = s.get(TherapyGoal, entry.goal_id)
        if goal is None or goal.patient_id != patient_id:
            problems[f"goal_progress.{k}.goal_id"] = "choose one of this patient's goals"
            continue
        try:
            check_goal_status(entry.status, f"goal_progress.{k}.status")
        except InvalidValues as e:
            problems.update(e.errors)
            continue
        out.append((goal, entry))
    if problems:
        raise InvalidValues(problems)
    return out


def _load(uow: UnitOfWork, note_id: int, patient_id: int | None) -> TherapyNote:
    note = uow.session.get(TherapyNote, note_id)
    if note is None or (patient_id is not None and note.patient_id != patient_id):
        uow.authorize("read", "therapy", patient_id=patient_id)
        raise NotFound("note")
    return note


def get_note(*, db: Database, actor: Actor, note_id: int, patient_id: int | None = None) -> NoteRead:
    """Open one note: its author, or a care-team member when it is shared; a refusal is audited (404)."""
    with UnitOfWork(db, actor) as uow:
        note = _load(uow, note_id, patient_id)
        s = uow.session
        uow.authorize(
            "read",
            "psychotherapy_note",
            patient_id=note.patient_id,
            author_id=note.author_id,
            shared=shared_with(s, actor, note),
        )
        uow.audit("view", "psychotherapy_note", note.id, patient_id=note.patient_id)
        return note_read(s, actor, note, {r.session_id: r for r in infusions(s, note.patient_id)})


def canonical(note: TherapyNote) -> str:
    """Return the note's canonical JSON: what a signature covers."""
    body = {
        "id": note.id,
        "patient_id": note.patient_id,
        "author_id": note.author_id,
        "kind": note.kind,
        "session_id": note.session_id,
        "visit_at": note.visit_at.isoformat(),
        "modality": note.modality,
        "texts": {f: getattr(note, f) for f in TEXT_FIELDS},
        "risk": note.risk,
        "sharing": note.sharing,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_note(
    *, db: Database, actor: Actor, note_id: int, data: NoteSign, patient_id: int | None = None
) -> NoteRead:
    """Sign your own note (re-authenticated); a signed note changes only by addenda."""
    with db.session() as s:
        found = s.get(TherapyNote, note_id)
        if found is not None and patient_id is not None and found.patient_id != patient_id:
            found = None
        author, patient_id = (found.author_id, found.patient_id) if found else (None, patient_id)
    if author is None:
        with UnitOfWork(db, actor) as uow:
            _load(uow, note_id, patient_id)
    with UnitOfWork(db, actor) as uow:  # the author rule first: nobody else is even asked for a password
        uow.authorize("sign", "psychotherapy_note", patient_id=patient_id, author_id=author)
    signer = signing.confirm(
        db=db,
        actor=actor,
        action="therapy_note_sign",
        credentials=data,
        policy=("create", "psychotherapy_note"),
        resource_id=note_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        note = _load(uow, note_id, None)
        uow.authorize("sign", "psychotherapy_note", patient_id=note.patient_id, author_id=note.author_id)
        if note.version != data.version:
            raise Conflict("note", current_version=note.version, sent_version=data.version)
        if note.signed_at is not None:
            raise InvalidValue("version", "this note is signed already: add an addendum to correct it")
        note.canonical = canonical(note)
        note.digest_sha256 = hashlib.sha256(note.canonical.encode()).hexdigest()
        note.signed_at = clock.now()
        note.signed_meaning = signer.meaning
        s.flush()
        uow.audit(
            "sign",
            "psychotherapy_note",
            note.id,
            patient_id=note.patient_id,
            details={**signer.audit_details(), "digest": note.digest_sha256},
        )
        return note_read(s, actor, note, {r.session_id: r for r in infusions(s, note.patient_id)})


def add_addendum(
    *, db: Database, actor: Actor, note_id: int, data: NoteAddendumCreate, patient_id: int | None = None
) -> NoteRead:
    """Add a correction to your own signed note, chained to the digest of the note (or the last addendum)."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        note = _load(uow, note_id, patient_id)
        uow.authorize("amend", "psychotherapy_note", patient_id=note.patient_id, author_id=note.author_id)
        if note.signed_at is None or note.digest_sha256 is None:
            raise InvalidValue("text", "the note is not signed yet: sign it first (addenda correct signed notes)")
        last = s.scalars(
            select(TherapyNoteAddendum)
            .where(TherapyNoteAddendum.note_id == note.id)
            .order_by(TherapyNoteAddendum.id.desc())
            .limit(1)
        ).first()
        prev = last.digest_sha256 if last else note.digest_sha256
        at = clock.now()
        digest = hashlib.sha256(f"{prev}|{data.text}|{actor.username}|{at.isoformat()}".encode()).hexdigest()
        a = TherapyNoteAddendum(
            note_id=note.id,
            text=data.text,
            author_id=actor.user_id,
            author_name=_author_name(s, actor),
            prev_digest=prev,
            digest_sha256=digest,
            at=at,
        )
        s.add(a)
        s.flush()
        uow.audit("create", "therapy_note_addendum", a.id, patient_id=note.patient_id, details={"note_id": note.id})
        return note_read(s, actor, note, {r.session_id: r for r in infusions(s, note.patient_id)})


def readable_notes(s: Session, actor: Actor, patient_id: int) -> tuple[list[TherapyNote], list[TherapyNote]]:
    """Return (notes `actor` may open, the others), newest visit first."""
    rows = list(
        s.scalars(
            select(TherapyNote)
            .where(TherapyNote.patient_id == patient_id)
            .order_by(TherapyNote.visit_at.desc(), TherapyNote.id.desc())
        )
    )
    on_team = actor.user_id is not None and actor.user_id in patients.care_team_user_ids(s, patient_id)
    open_, closed = [], []
    for n in rows:
        if may_open_fast(actor, n, on_team):
            open_.append(n)
        else:
            closed.append(n)
    return open_, closed


def may_open_fast(actor: Actor, note: TherapyNote, on_team: bool) -> bool:
    """`may_open` with the care-team membership already known (one query per patient, not per note)."""
    return decide(
        actor, "read", "psychotherapy_note", author_id=note.author_id, shared=note.sharing == "care_team" and on_team
    ).allowed

