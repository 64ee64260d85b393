"""A patient's therapy page, and the shared notes a prescriber reads beside the treatment plan."""

from __future__ import annotations

from ketacare.domain.therapy import modalities, note_kinds
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.therapy.common import infusions, note_read, patient_name, patient_or_404, timing
from ketacare.services.therapy.goals import goal_reads
from ketacare.services.therapy.notes import readable_notes
from ketacare.services.therapy.schemas import NoteSummary, PlanNote, TherapyView
from ketacare.services.therapy.visits import visits_for
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.sessions import InfusionSession

SUMMARY_CHARS = 280


def therapy_view(*, db: Database, actor: Actor, patient_id: int) -> TherapyView:
    """Return the therapy page: the notes the reader may open (audited, by id), others' private notes as bare
    entries, goals, integration visits after recent infusions, and the patient's infusions."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "therapy", patient_id=patient_id)
        s = uow.session
        p = patient_or_404(s, patient_id)
        refs = infusions(s, patient_id)
        by_session = {r.session_id: r for r in refs}
        readable, hidden = readable_notes(s, actor, patient_id)
        notes = [note_read(s, actor, n, by_session) for n in readable]
        first = None
        if refs:
            sess = s.get(InfusionSession, refs[0].session_id)
            first = sess.infusion_started_at if sess else None
        view = TherapyView(
            patient_id=patient_id,
            patient_name=patient_name(p),
            mrn=p.mrn,
            notes=notes,
            private_entries=[
                NoteSummary(
                    id=n.id, kind_label=note_kinds().get(n.kind, n.kind), author_name=n.author_name, visit_at=n.visit_at
                )
                for n in hidden
            ],
            goals=goal_reads(s, patient_id, {n.id for n in readable}),
            visits=visits_for(s, [patient_id], clock.now(), include_done=True),
            infusions=refs,
            first_infusion_at=first,
        )
        uow.audit(
            "view",
            "therapy",
            patient_id,
            patient_id=patient_id,
            details={"notes_read": [n.id for n in readable], "private_not_shown": len(hidden)},
        )
        return view


def _summary(texts: dict[str, str | None]) -> str:
    keys = ("themes", "insights", "homework")
    parts = [f"{k.capitalize()}: {v}" for k in keys if (v := texts.get(k))]
    text = " · ".join(parts) or (texts.get("narrative") or "")
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def notes_for_plan(*, db: Database, actor: Actor, patient_id: int, limit: int = 10) -> list[PlanNote]:
    """Return the newest therapy notes the reader may open for a patient (shared with the care team, or their
    own), summarised for the treatment plan page and the chart; the reads are audited."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "therapy", patient_id=patient_id)
        s = uow.session
        patient_or_404(s, patient_id)
        by_session = {r.session_id: r for r in infusions(s, patient_id)}
        first = min(by_session.values(), key=lambda r: r.number) if by_session else None
        readable, _ = readable_notes(s, actor, patient_id)
        out = [
            PlanNote(
                id=n.id,
                kind_label=note_kinds().get(n.kind, n.kind),
                author_name=n.author_name,
                visit_at=n.visit_at,
                timing=timing(n, by_session, first),
                modality_label=modalities().get(n.modality) if n.modality else None,
                summary=_summary({f: getattr(n, f) for f in ("themes", "insights", "homework", "narrative")}),
                escalated=n.escalated,
                signed=n.signed_at is not None,
            )
            for n in readable[:limit]
        ]
        if out:
            uow.audit("view", "psychotherapy_note", patient_id=patient_id, details={"notes_read": [n.id for n in out]})
        return out
