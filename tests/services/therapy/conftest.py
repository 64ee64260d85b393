"""Fixtures for the therapy services: completed infusions for patient A and a care team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ketacare.services.patients import CareTeamUpdate, set_care_team
from ketacare.store.tables.sessions import InfusionSession

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
NO_RISK = {"suicidal_ideation": "none", "suicidal_behaviour": "no", "self_harm": "no", "harm_to_others": "no"}


def add_infusion(db, patient_id: int, ended_at: datetime) -> int:
    """Store a completed infusion (started 40 min before `ended_at`) and return its session id."""
    with db.session() as s:
        sess = InfusionSession(
            patient_id=patient_id, chair="Chair 1", product="racemic_ketamine", state="discharged",
            scheduled_at=ended_at - timedelta(hours=1), infusion_started_at=ended_at - timedelta(minutes=40),
            infusion_ended_at=ended_at, created_at=ended_at, updated_at=ended_at, overrides=[],
        )
        s.add(sess)
        s.flush()
        return sess.id


@pytest.fixture
def clinic(personas, monkeypatch):
    """Patient A with two infusions (5 days and 30 h ago); the care team: prescriber, therapist (not the nurse)."""
    from ketacare.services import clock

    monkeypatch.setattr(clock, "now", lambda: NOW)
    first = add_infusion(personas.db, personas.patient_a, NOW - timedelta(days=5))
    second = add_infusion(personas.db, personas.patient_a, NOW - timedelta(hours=30))
    set_care_team(
        db=personas.db, actor=personas["system"], patient_id=personas.patient_a,
        data=CareTeamUpdate(prescriber_id=personas["prescriber"].user_id, therapist_id=personas["therapist"].user_id),
    )
    return personas, first, second
