"""The striped audit chain on PostgreSQL (issue 15): concurrent appenders never wait, every stripe is checked."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ketacare.services.access import audit, system_actor
from ketacare.services.access.audit import PendingEvent, verify_chain


def _event(n: int) -> PendingEvent:
    return PendingEvent("view", "patient_chart", str(n), None, "success", None, {})


def _two_stripes(db) -> list[dict[str, object]]:
    """Append from two open transactions at once (the first holds its stripe); return both appends' events."""
    actor = system_actor("stripes")
    with db.session() as first:
        one = audit.append(first, actor, [_event(1), _event(2)])
        with db.session() as second:  # would wait for `first` to commit if the chain had one head
            two = audit.append(second, actor, [_event(3)])
    return [*one, *two]


@pytest.fixture
def striped(db, personas):
    if db.dialect == "sqlite":
        pytest.skip("SQLite has one stripe (its write lock serializes appenders)")
    return _two_stripes(db)


def _verify(db):
    with db.session() as s:
        return verify_chain(s)


def test_concurrent_appends_take_different_stripes_and_verify(db, striped):
    assert striped[0]["stripe"] != striped[2]["stripe"]
    assert striped[1]["prev_hash"] == striped[0]["hash"]
    report = _verify(db)
    assert report.ok, report.findings
    with db.session() as s:
        assert report.checked == s.scalar(text("SELECT count(*) FROM audit_events"))


def _owner(db, sql: str, params: dict) -> None:
    with db.session() as s:
        s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        s.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))
        s.execute(text(sql), params)
        s.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        s.execute(text("ALTER TABLE audit_chain_head ENABLE TRIGGER USER"))


def test_an_event_removed_from_the_middle_of_a_stripe_is_named(db, striped):
    second = striped[2]
    _two_stripes(db)  # one more event in the second stripe, so its first is in the middle
    _owner(db, "DELETE FROM audit_events WHERE seq = :s", {"s": second["seq"]})
    report = _verify(db)
    assert not report.ok and "missing" in report.problem


def test_an_event_removed_from_the_end_of_a_stripe_is_named_by_its_head(db, striped):
    second = striped[2]
    _owner(db, "DELETE FROM audit_events WHERE seq = :s", {"s": second["seq"]})
    report = _verify(db)
    assert not report.ok
    assert any(f.seq is not None and "removed from the end" in f.problem for f in report.findings)


def test_the_link_guard_refuses_an_event_that_skips_a_place_in_its_stripe(db, striped):
    second = striped[2]
    with pytest.raises(DBAPIError, match="next link"), db.session() as s:
        s.execute(text(
            "INSERT INTO audit_events (seq, occurred_at, actor_username, actor_role, action, resource_type, outcome, "
            "details, prev_hash, hash, stripe, stripe_seq) VALUES (:seq, now(), 'ghost', 'admin', 'view', "
            "'patient_chart', 'success', '{}', :prev, :prev, :stripe, :place)"),
            {"seq": 10**9, "prev": second["hash"], "stripe": second["stripe"], "place": int(second["stripe_seq"]) + 2})
