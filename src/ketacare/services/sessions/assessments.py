"""The assessments due around one infusion session, each done (score, time) or due, with its entry link."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.orm import Session

from ketacare.domain.sessions.assessments import session_assessments
from ketacare.services.measurement import ScoreSummary
from ketacare.services.sessions.facts import PRE_SESSION_CONTEXTS, session_scores
from ketacare.services.sessions.schemas import AssessmentStatus
from ketacare.store.tables.sessions import InfusionSession


def assessment_status(s: Session, sess: InfusionSession) -> list[AssessmentStatus]:
    """Return each scheduled assessment of the session with its latest result for this session, or due.

    Before-session assessments count in any pre-session context (as the pre-check guard does); the others in
    any context linked to the session.
    """
    any_context = session_scores(s, sess)
    pre: dict[str, ScoreSummary] = {}
    for ctx in ("pre_session", "baseline"):
        for iid, r in session_scores(s, sess, ctx).items():
            if iid not in pre or r.answered_at > pre[iid].answered_at:
                pre[iid] = r
    out = []
    for a in session_assessments():
        pool = pre if a.context in PRE_SESSION_CONTEXTS else any_context
        done = [pool[i] for i in a.instruments if i in pool]
        latest = max(done, key=lambda r: (r.answered_at, r.response_id)) if done else None
        query = urlencode({"session_id": sess.id, "context": a.context})
        out.append(
            AssessmentStatus(
                id=a.id,
                label=a.label,
                stage=a.stage,
                context=a.context,
                status="done" if latest else "due",
                instrument_id=latest.instrument_id if latest else a.instruments[0],
                total=latest.total if latest else None,
                severity=latest.severity if latest else None,
                answered_at=latest.answered_at if latest else None,
                entry_url=f"/patients/{sess.patient_id}/questionnaires/{a.instruments[0]}?{query}",
                source=a.source,
            )
        )
    return out
