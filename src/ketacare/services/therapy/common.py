"""What the therapy use cases share: the patient's infusions in order, who may open a note, reading a note."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.therapy import modalities, note_kinds, offset_words, risk_questions
from ketacare.services import patients
from ketacare.services.access import Actor, decide
from ketacare.services.errors import NotFound
from ketacare.services.therapy.schemas import TEXT_FIELDS, AddendumRead, InfusionRef, NoteRead
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import InfusionSession
from ketacare.store.tables.therapy import TherapyNote, TherapyNoteAddendum


def patient_or_404(s: Session, patient_id: int) -> Patient:
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def patient_name(p: Patient) -> str:
    return f"{p.family_name}, {p.given_name}"


def infusions(s: Session, patient_id: int) -> list[InfusionRef]:
    """Return the patient's infusions (sessions whose infusion started), numbered 1, 2, ... in start order."""
    rows = s.scalars(
        select(InfusionSession)
        .where(InfusionSession.patient_id == patient_id, InfusionSession.infusion_started_at.is_not(None))
        .order_by(InfusionSession.infusion_started_at, InfusionSession.id)
    )
    return [
        InfusionRef(session_id=r.id, number=k, ended_at=r.infusion_ended_at)
        for k, r in enumerate(rows, start=1)
    ]


def shared_with(s: Session, actor: Actor, note: TherapyNote) -> bool:
    """Return True when `note` is shared with the care team and `actor` is on the patient's care team."""
    if note.sharing != "care_team" or actor.user_id is None:
        return False
    return actor.user_id in patients.care_team_user_ids(s, note.patient_id)


def may_open(s: Session, actor: Actor, note: TherapyNote) -> bool:
    """Return True when the policy lets `actor` read `note` (its author, or a care-team member once shared)."""
    return decide(
        actor, "read", "psychotherapy_note", author_id=note.author_id, shared=shared_with(s, actor, note)
    ).allowed


def timing(note: TherapyNote, refs: dict[int, InfusionRef], first: InfusionRef | None) -> str:
    """Say when the visit was relative to the infusion it follows ("2 days after infusion 3")."""
    ref = refs.get(note.session_id) if note.session_id else None
    if ref is not None and ref.ended_at is not None:
        return offset_words(ref.ended_at, note.visit_at, ref.number)
    if ref is not None:
        return f"after infusion {ref.number}"
    if note.kind == "preparation":  # refused after the first infusion began
        return "before the first infusion"
    return ""


def escalated_items(note: TherapyNote) -> list[str]:
    return [q.label for q in risk_questions() if note.risk.get(q.key) in q.escalate]


def note_read(s: Session, actor: Actor, note: TherapyNote, refs: dict[int, InfusionRef]) -> NoteRead:
    """Return a note the reader may open, with its addenda (no authorization here)."""
    first = min(refs.values(), key=lambda r: r.number) if refs else None
    addenda = s.scalars(
        select(TherapyNoteAddendum).where(TherapyNoteAddendum.note_id == note.id).order_by(TherapyNoteAddendum.id)
    )
    texts = {f: v for f in TEXT_FIELDS if (v := getattr(note, f))}
    return NoteRead(
        id=note.id,
        patient_id=note.patient_id,
        kind=note.kind,
        kind_label=note_kinds().get(note.kind, note.kind),
        author_id=note.author_id,
        author_name=note.author_name,
        visit_at=note.visit_at,
        infusion=refs.get(note.session_id) if note.session_id else None,
        timing=timing(note, refs, first),
        modality=note.modality,
        modality_label=modalities().get(note.modality) if note.modality else None,
        texts=texts,
        risk=dict(note.risk or {}),
        escalated=note.escalated,
        escalated_items=escalated_items(note),
        sharing="care_team" if note.sharing == "care_team" else "private",
        signed_at=note.signed_at,
        signed_meaning=note.signed_meaning,
        digest_sha256=note.digest_sha256,
        addenda=[
            AddendumRead(id=a.id, text=a.text, author_name=a.author_name, at=a.at, digest_sha256=a.digest_sha256)
            for a in addenda
        ],
        version=note.version,
        mine=note.author_id == actor.user_id,
    )
