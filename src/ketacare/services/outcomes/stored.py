"""Keep the dashboard digests in the database (one frame of numpy columns and the mark it was read at), so that a
process that starts reads them instead of digesting every patient again (issue 15: nothing one process needs is kept
only in another's memory). The rows are derived data: a wrong or missing row is rebuilt from the patient's records."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ketacare.services.outcomes.digest import Digest, Judged
from ketacare.services.outcomes.schemas import ModelEstimate
from ketacare.store.tables.outcomes import (
    OutcomeDigest,
    OutcomeDigestFrame,
    OutcomeDigestMark,
    OutcomeModelFit,
)

KEY = "dashboard"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FITS_KEPT = 64  # model fits kept (filters in use times recent data versions); more: start again


def settings_hash(*parts: object) -> str:
    """Return a stable hash of what every digest depends on besides the patient's records."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _us(t: datetime | None) -> int | None:
    return None if t is None else (t - _EPOCH) // timedelta(microseconds=1)


def _at(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def decode(x: list[Any]) -> Digest:
    """Return the digest of one decoded JSON array (as `encode` wrote it)."""
    j = x[14]
    judged = None if j is None else Judged(
        responded=j[0], remitted=j[1], rapid=j[2], diagnosis=j[3], diagnosis_label=j[4], dose_band=j[5],
        dose_label=j[6], after_session=tuple((k, r, m) for k, r, m in j[7]),
        at_points=tuple((k, r, m) for k, r, m in j[8]),
        by_week={w: v for w, v in j[9]}, model_sessions=j[10], model_pct=j[11], followed_days=j[12], relapsed=j[13],
    )  # fmt: skip
    return Digest(
        patient_id=x[0], diagnosis=x[1], diagnosis_display=x[2], protocol=x[3], clinician_id=x[4], first_chair=x[5],
        first_day=date.fromordinal(x[6]) if x[6] is not None else None, screened=x[7], eligible=x[8],
        consented=x[9], treated=x[10], maintained=x[11], last_aborted=x[12], last_started_at=_at(x[13]),
        judged=judged, sessions=x[15], side_effects=x[16], grade3=x[17], types=Counter(x[18]), bp_rises=x[19],
    )  # fmt: skip


def read_frame(s: Session) -> tuple[str, str, bytes] | None:
    """Return the stored (settings hash, mark JSON, frame bytes), or None before the first dashboard."""
    if s.get_bind().dialect.name == "postgresql":
        # in binary format: PostgreSQL's text format doubles the bytes (hex) and the driver must decode them
        raw: Any = s.connection().connection.driver_connection
        with raw.cursor(binary=True) as cur:
            cur.execute("SELECT settings, mark, body FROM outcome_digest_frames WHERE key = %s", (KEY,))
            got = cur.fetchone()
        return None if got is None else (str(got[0]), str(got[1]), bytes(got[2]))
    row = s.execute(
        select(OutcomeDigestFrame.settings, OutcomeDigestFrame.mark, OutcomeDigestFrame.body).where(
            OutcomeDigestFrame.key == KEY
        )
    ).first()
    return None if row is None else (row[0], row[1], bytes(row[2]))


def read_frame_mark(s: Session) -> tuple[str, str] | None:
    """Return the stored frame's (settings hash, mark JSON) without its body."""
    row = s.execute(
        select(OutcomeDigestFrame.settings, OutcomeDigestFrame.mark).where(OutcomeDigestFrame.key == KEY)
    ).first()
    return None if row is None else (row[0], row[1])


def write_frame(s: Session, settings: str, mark: str, body: bytes) -> None:
    """Store the frame of every digest and the mark it was read at (replacing the one kept)."""
    s.execute(delete(OutcomeDigestFrame).where(OutcomeDigestFrame.key == KEY))
    s.execute(insert(OutcomeDigestFrame).values(key=KEY, settings=settings, mark=mark, body=body))


def read_legacy(s: Session) -> tuple[str, str, dict[int, Digest]] | None:
    """Return the digests kept as one JSON row per patient (before the frame) with their settings and mark."""
    row = s.execute(
        select(OutcomeDigestMark.settings, OutcomeDigestMark.mark).where(OutcomeDigestMark.key == KEY)
    ).first()
    if row is None:
        return None
    bodies = s.scalars(select(OutcomeDigest.body).order_by(OutcomeDigest.patient_id)).all()
    return row[0], row[1], {x[0]: decode(x) for x in json.loads("[" + ",".join(bodies) + "]")}


def drop_legacy(s: Session) -> None:
    """Empty the per-patient JSON rows once their digests are in a stored frame."""
    s.execute(delete(OutcomeDigest))
    s.execute(delete(OutcomeDigestMark))


def read_fit(s: Session, key: str) -> ModelEstimate | None:
    """Return the model fitted on the rows hashed to `key`, if one was stored."""
    text = s.scalar(select(OutcomeModelFit.fit).where(OutcomeModelFit.key == key))
    return None if text is None else ModelEstimate.model_validate_json(text)


def write_fit(s: Session, key: str, fit: ModelEstimate) -> None:
    """Store a model fit under the hash of its rows (the kept fits are dropped when there are too many)."""
    if (s.scalar(select(func.count()).select_from(OutcomeModelFit)) or 0) >= FITS_KEPT:
        s.execute(delete(OutcomeModelFit))
    s.execute(delete(OutcomeModelFit).where(OutcomeModelFit.key == key))
    s.execute(insert(OutcomeModelFit).values(key=key, fit=fit.model_dump_json()))
