"""Outcomes dashboard digests kept in the database, shared by every app process (issue 18, issue 15)."""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, Base


class OutcomeDigest(Base):
    """One patient's dashboard digest (JSON), as of the mark in `outcome_digest_marks`; derived, rebuilt at will."""

    __tablename__ = "outcome_digests"

    patient_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text, info=DATE_PHI)  # holds session days and times


class OutcomeDigestMark(Base):
    """How far the stored digests have read, and under which definitions and clinic zone they were made."""

    __tablename__ = "outcome_digest_marks"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    settings: Mapped[str] = mapped_column(String(64))  # hash of the definitions and the clinic zone
    mark: Mapped[str] = mapped_column(Text)  # JSON of cache.Mark


class OutcomeModelFit(Base):
    """A fitted outcomes mixed model (JSON of its estimate), keyed by a hash of the rows it was fitted on."""

    __tablename__ = "outcome_model_fits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fit: Mapped[str] = mapped_column(Text)


class OutcomeDigestFrame(Base):
    """Every patient's dashboard digest as numpy columns (one .npz), as of `mark`; derived, rebuilt at will.

    Replaces the per-patient JSON rows above (read once to convert, then emptied)."""

    __tablename__ = "outcome_digest_frames"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    settings: Mapped[str] = mapped_column(String(64))  # hash of the definitions and the clinic zone
    mark: Mapped[str] = mapped_column(Text)  # JSON of cache.Mark
    body: Mapped[bytes] = mapped_column(LargeBinary, info=DATE_PHI)  # holds session days and times
