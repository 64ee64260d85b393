"""The demo's live feeder: readings stay plausible, a failing chair is logged once and the others go on."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from ketacare.demo import sessions as demo_sessions
from ketacare.demo.patients import seed as seed_demo
from ketacare.domain.sessions.vitals import PLAUSIBLE, VITALS
from ketacare.services import clock
from ketacare.services.access import system_actor
from ketacare.services.sessions import board, workflow
from ketacare.services.sessions import vitals as session_vitals
from ketacare.services.sessions.schemas import TransitionRequest
from ketacare.store.db import Database


@pytest.fixture(scope="module")
def seeded_demo(sqlite_template, tmp_path_factory) -> Path:
    """A small demo clinic, seeded once for the module (seeding costs about a minute on CI); each test gets a copy."""
    path = tmp_path_factory.mktemp("feeder") / "demo.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    seed_demo(db, n_patients=12, seed_value=7)
    db.dispose()  # the last connection checkpoints the WAL into the file that is copied
    return path


@pytest.fixture
def demo_db(seeded_demo, tmp_path):
    path = tmp_path / "demo.db"
    shutil.copy(seeded_demo, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def ticking(monkeypatch):
    """A clock that moves 5 s per tick (the services and the feeder read the same clock)."""
    t = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: t["now"])

    def advance(seconds: float = 5.0) -> None:
        t["now"] += timedelta(seconds=seconds)

    return advance


def _live(db):
    return {c.chair: c for c in board.board_snapshot(db=db, actor=system_actor("t"), audit_view=False)}


def test_the_feeder_posts_plausible_readings_for_the_live_chairs(demo_db, ticking):
    feeder = demo_sessions.LiveFeeder(demo_db)
    actor = system_actor("demo-gateway")
    before = _live(demo_db)
    assert set(demo_sessions.LIVE_CHAIRS) <= set(before)
    for _ in range(24):  # two minutes of demo
        ticking()
        assert feeder.tick(actor) == 3
    after = _live(demo_db)
    for chair in demo_sessions.LIVE_CHAIRS:
        latest = after[chair].latest
        for v in VITALS:
            lo, hi = PLAUSIBLE[v]
            assert lo <= latest[v].value <= hi
        # Close to the chair's own curve, not drifting away from where the seeded history left it.
        assert abs(latest["sbp"].value - before[chair].latest["sbp"].value) < 40
    assert not feeder.failures


def test_the_episode_chair_answers_to_a_pause(demo_db, ticking):
    """Chair 2's patient climbs to a HIGH alarm level while the pump runs; pausing brings BP down."""
    feeder = demo_sessions.LiveFeeder(demo_db)
    actor = system_actor("demo-gateway")
    chair = demo_sessions.EPISODE_CHAIR
    sid = _live(demo_db)[chair].session_id
    sbp = []
    for k in range(12 * 6):  # six minutes, pump running
        ticking()
        feeder.tick(actor)
        if k >= 12 * 5:  # the board is read in the last minute (the readings the assertion is about)
            sbp.append(_live(demo_db)[chair].latest["sbp"].value)
    assert len(sbp) == 12 and max(sbp) >= 180
    prescriber = demo_sessions._actor(_Ctx(demo_db), "prescriber")
    r = workflow.apply_event(
        db=demo_db, actor=prescriber, session_id=sid, data=TransitionRequest(event="pause")
    )
    assert r.allowed, r
    assert _live(demo_db)[chair].state == "paused"
    for _ in range(12 * 10):  # ten minutes paused
        ticking()
        feeder.tick(actor)
    late = _live(demo_db)[chair]
    assert late.latest["sbp"].value < 170
    assert late.trend.sbp[-1] < 170 and max(late.trend.sbp) < 180  # the last 20 readings


class _Ctx:
    def __init__(self, db):
        from sqlalchemy import select

        from ketacare.store.tables import User

        with db.session() as s:
            self.staff = {u.username: u.id for u in s.scalars(select(User))}
        self.db = db


def test_a_failing_chair_is_logged_once_and_the_others_go_on(demo_db, ticking, monkeypatch, caplog):
    feeder = demo_sessions.LiveFeeder(demo_db)
    actor = system_actor("demo-gateway")
    broken = _live(demo_db)["Chair 1"].session_id
    real = session_vitals.record_batch

    def flaky(*, session_id, **kw):
        if session_id == broken:
            raise RuntimeError("monitor gateway unreachable")
        return real(session_id=session_id, **kw)

    monkeypatch.setattr(session_vitals, "record_batch", flaky)
    caplog.set_level(logging.ERROR, logger="ketacare.demo.sessions")
    for _ in range(5):
        ticking()
        assert feeder.tick(actor) == 2  # chairs 2 and 3 still get their readings
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "Chair 1" in errors[0].getMessage() and "monitor gateway unreachable" in errors[0].getMessage()
    assert list(feeder.failures.values()) == [5]
