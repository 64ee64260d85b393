"""Keep the dashboard digests in the database (one JSON row per patient and one mark), so that a process that
starts reads them instead of digesting every patient again (issue 15: nothing one process needs is kept only in
another's memory). The rows are derived data: a wrong or missing row is rebuilt from the patient's records."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ketacare.services.outcomes.digest import Digest, Judged
from ketacare.services.outcomes.schemas import ModelEstimate
from ketacare.store.tables.outcomes import OutcomeDigest, OutcomeDigestMark, OutcomeModelFit

KEY = "dashboard"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 5000
FITS_KEPT = 64  # model fits kept (filters in use times recent data versions); more: start again


def settings_hash(*parts: object) -> str:
    """Return a stable hash of what every digest depends on besides the patient's records."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _us(t: datetime | None) -> int | None:
    return None if t is None else (t - _EPOCH) // timedelta(microseconds=1)


def _at(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def encode(p: Digest) -> str:
    """Return the digest as a compact JSON array (the field order below)."""
    j = p.judged
    judged = None if j is None else [
        j.responded, j.remitted, j.rapid, j.diagnosis, j.diagnosis_label, j.dose_band, j.dose_label,
        j.after_session, j.at_points, [[w, v] for w, v in j.by_week.items()],
        j.model_sessions, j.model_pct, j.followed_days, j.relapsed,
    ]  # fmt: skip
    return json.dumps(
        [
            p.patient_id, p.diagnosis, p.diagnosis_display, p.protocol, p.clinician_id, p.first_chair,
            p.first_day.toordinal() if p.first_day else None, p.screened, p.eligible, p.consented, p.treated,
            p.maintained, p.last_aborted, _us(p.last_started_at), judged, p.sessions, p.side_effects, p.grade3,
            dict(p.types), p.bp_rises,
        ],
        separators=(",", ":"),
    )  # fmt: skip


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


def read_mark(s: Session) -> tuple[str, str] | None:
    """Return the stored (settings hash, mark JSON), or None before the first dashboard."""
    row = s.execute(select(OutcomeDigestMark.settings, OutcomeDigestMark.mark).where(OutcomeDigestMark.key == KEY))
    first = row.first()
    return None if first is None else (first[0], first[1])


def read_all(s: Session) -> dict[int, Digest]:
    """Return every stored digest in patient order (one query; the rows are parsed as one JSON document)."""
    bodies = s.scalars(select(OutcomeDigest.body).order_by(OutcomeDigest.patient_id)).all()
    return {x[0]: decode(x) for x in json.loads("[" + ",".join(bodies) + "]")}


def write(s: Session, settings: str, mark: str, digests: dict[int, Digest], changed: Iterable[int] | None) -> None:
    """Store the digests of the `changed` patients (None: replace every row) and the mark they were read at."""
    if changed is None:
        s.execute(delete(OutcomeDigest))
        ids = list(digests)
    else:
        ids = sorted(changed)
        for i in range(0, len(ids), _CHUNK):
            s.execute(delete(OutcomeDigest).where(OutcomeDigest.patient_id.in_(ids[i : i + _CHUNK])))
    rows = [{"patient_id": pid, "body": encode(digests[pid])} for pid in ids if pid in digests]
    for i in range(0, len(rows), _CHUNK):
        s.execute(insert(OutcomeDigest), rows[i : i + _CHUNK])
    s.execute(delete(OutcomeDigestMark).where(OutcomeDigestMark.key == KEY))
    s.execute(insert(OutcomeDigestMark).values(key=KEY, settings=settings, mark=mark))


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
