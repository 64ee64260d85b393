"""The audit trail: one event per chart read, denied events, append-only, and a verifiable hash chain."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ketacare.services.access import audit_views
from ketacare.services.access.audit import verify_chain
from ketacare.services.errors import Forbidden, HiddenByPolicy
from ketacare.services.patients import records as patients
from ketacare.store.tables import AuditEvent


def _events(db):
    with db.session() as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def _max_seq(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.max(AuditEvent.seq))) or 0


def test_reading_one_chart_writes_exactly_one_view_event(db, personas):
    before = _max_seq(db)
    patients.get_chart(db=db, actor=personas["nurse"], patient_id=personas.patient_a)
    new = [e for e in _events(db) if e.seq > before]
    assert len(new) == 1
    e = new[0]
    assert (e.action, e.resource_type, e.patient_id, e.actor_username, e.actor_role, e.outcome) == (
        "view", "patient_chart", personas.patient_a, "nurse", "nurse", "success")


def test_a_refused_request_writes_a_denied_event_and_nothing_else(db, personas):
    before = _max_seq(db)
    with pytest.raises(Forbidden):
        audit_views.list_events(db=db, actor=personas["prescriber"])
    with pytest.raises(HiddenByPolicy):
        patients.get_chart(db=db, actor=personas["patient_a"], patient_id=personas.patient_b)
    new = [e for e in _events(db) if e.seq > before]
    assert [(e.action, e.outcome, e.actor_username) for e in new] == [
        ("denied", "denied", "prescriber"), ("denied", "denied", "patienta")]
    assert new[1].patient_id == personas.patient_b


def test_untouched_chain_verifies(db, personas):
    with db.session() as s:
        report = verify_chain(s)
    assert report.ok and report.checked == _max_seq(db) > 10


def test_the_database_refuses_update_and_delete_of_audit_rows(db, personas):
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session() as s:
            s.execute(text("UPDATE audit_events SET reason = 'x' WHERE seq = 1"))
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session() as s:
            s.execute(text("DELETE FROM audit_events WHERE seq = 1"))


def _drop_triggers(db):
    with db.session() as s:
        if db.dialect == "sqlite":
            s.execute(text("DROP TRIGGER audit_events_no_update"))
            s.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            s.execute(text("DROP TRIGGER audit_events_no_update ON audit_events"))
            s.execute(text("DROP TRIGGER audit_events_no_delete ON audit_events"))


def _verify(db):
    with db.session() as s:
        return verify_chain(s)


def test_an_altered_row_is_named(db, personas):
    _drop_triggers(db)
    with db.session() as s:
        s.execute(text("UPDATE audit_events SET actor_username = 'someone-else' WHERE seq = 5"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 5 and "altered" in report.problem


def test_a_removed_row_is_named(db, personas):
    _drop_triggers(db)
    with db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 4 and "missing" in report.problem


def test_an_inserted_row_is_named(db, personas):
    last = _max_seq(db)
    with db.session() as s:
        prev = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == last))
        s.execute(text(
            "INSERT INTO audit_events (seq, occurred_at, actor_username, actor_role, action, resource_type, "
            "outcome, details, prev_hash, hash, stripe, stripe_seq) VALUES (:seq, :at, 'ghost', 'admin', 'view', "
            "'patient_chart', 'success', '{}', :prev, :hash, 1, :seq)"),
            {"seq": last + 1, "at": "2026-01-01 00:00:00.000000" if db.dialect == "sqlite" else "2026-01-01T00:00Z",
             "prev": prev, "hash": "f" * 64})
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == last + 1


def test_a_row_inserted_in_the_middle_breaks_the_link(db, personas):
    _drop_triggers(db)
    with db.session() as s:
        # shift the tail up by one and slip a forged event in at seq 3
        tail = s.execute(text("SELECT seq FROM audit_events WHERE seq >= 3 ORDER BY seq DESC")).scalars().all()
        for seq in tail:
            s.execute(text("UPDATE audit_events SET seq = seq + 1, stripe_seq = stripe_seq + 1 WHERE seq = :s"),
                      {"s": seq})
        s.execute(text(
            "INSERT INTO audit_events (seq, occurred_at, actor_username, actor_role, action, resource_type, "
            "outcome, details, prev_hash, hash, stripe, stripe_seq) SELECT 3, occurred_at, 'ghost', 'admin', "
            "'view', 'patient_chart', 'success', '{}', hash, hash, 1, 3 FROM audit_events WHERE seq = 2"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 3


def test_verify_service_records_its_run(db, personas):
    report = audit_views.verify(db=db, actor=personas["admin"])
    assert report.ok
    assert _events(db)[-1].action == "verify"


def test_patient_sees_who_viewed_their_record(db, personas):
    patients.get_chart(db=db, actor=personas["therapist"], patient_id=personas.patient_a)
    log = audit_views.access_log(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert any(e.actor_username == "therapist" and e.action == "view" for e in log)
    with pytest.raises(HiddenByPolicy):
        audit_views.access_log(db=db, actor=personas["patient_a"], patient_id=personas.patient_b)


def test_another_patients_refused_attempt_does_not_show_their_account_name(db, personas):
    with pytest.raises(HiddenByPolicy):
        patients.get_chart(db=db, actor=personas["patient_b"], patient_id=personas.patient_a)
    log = audit_views.access_log(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    names = {e.actor_username for e in log}
    assert personas["patient_b"].username not in names
    assert any(e.actor_username == "another portal account" and e.outcome == "denied" for e in log)


def test_events_removed_from_the_end_are_named(db, personas):
    last = _max_seq(db)
    _drop_triggers(db)
    with db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": last - 1})
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == last - 1 and "removed from the end" in report.problem


def test_concurrent_appenders_never_fork_the_chain(db, personas):
    import threading

    barrier = threading.Barrier(4)

    def read_charts():
        barrier.wait()
        for _ in range(10):
            patients.get_chart(db=db, actor=personas["nurse"], patient_id=personas.patient_a)

    threads = [threading.Thread(target=read_charts) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    report = _verify(db)
    assert report.ok, report.problem
