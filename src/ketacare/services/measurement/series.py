"""A patient's scores of chosen instruments over time, for other capabilities (no authorization here)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.measurement.responses import _summary
from ketacare.services.measurement.schemas import ScoreSummary
from ketacare.store.tables.measurement import QuestionnaireResponse


def score_series(session: Session, patient_id: int, instrument_ids: Iterable[str]) -> list[ScoreSummary]:
    """Return every scored response of these instruments (not entered in error), oldest first."""
    rows = session.scalars(
        select(QuestionnaireResponse)
        .where(
            QuestionnaireResponse.patient_id == patient_id,
            QuestionnaireResponse.instrument_id.in_(list(instrument_ids)),
            QuestionnaireResponse.entered_in_error.is_(False),
            QuestionnaireResponse.total.is_not(None),
        )
        .order_by(QuestionnaireResponse.answered_at, QuestionnaireResponse.id)
    ).all()
    return [_summary(r) for r in rows]
