"""Tampering with the audit trail in the database, on SQLite and PostgreSQL (issue 14).

Each attack is either refused by the database (as the connection the app uses) or, done as the owner with the
guards switched off, detected by verification naming the first bad event; the app keeps answering either way.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from ketacare.cli.main import app as cli
from ketacare.config import get_settings
from ketacare.services.access import audit_checkpoints, audit_keys, audit_views, system_actor
from ketacare.services.access.audit import _canonical
from ketacare.services.patients import records as patients
from ketacare.store.tables import AuditEvent


@pytest.fixture
def chain(db, personas, tmp_path):
    """A clinic with some history, a signed checkpoint of its newest event, and the checkpoint directory."""
    for _ in range(3):
        patients.get_chart(db=db, actor=personas["nurse"], patient_id=personas.patient_a)
    directory = tmp_path / "checkpoints"
    audit_checkpoints.write_checkpoint(db=db, actor=system_actor(), key=audit_keys.current(), directory=directory)
    return directory


def _last(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.max(AuditEvent.seq)))


def _verify(db, directory):
    return audit_views.verify(db=db, actor=system_actor(), checkpoint_directory=directory)


def _app_keeps_answering(db, personas):
    chart = patients.get_chart(db=db, actor=personas["nurse"], patient_id=personas.patient_a)
    assert chart.patient.id == personas.patient_a


class Guards:
    """Switch the database guards off and on again, as the owner of the tables can."""

    def __init__(self, db) -> None:
        self.db = db
        self.sqlite_triggers: list[str] = []

    def off(self) -> None:
        with self.db.session() as s:
            if self.db.dialect == "sqlite":
                rows = s.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
                self.sqlite_triggers = [r.sql for r in rows]
                for r in rows:
                    s.execute(text(f"DROP TRIGGER {r.name}"))
            else:
                s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                s.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))

    def on(self) -> None:
        with self.db.session() as s:
            if self.db.dialect == "sqlite":
                for sql in self.sqlite_triggers:
                    s.execute(text(sql))
            else:
                s.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
                s.execute(text("ALTER TABLE audit_chain_head ENABLE TRIGGER USER"))


def _owner(db, *statements: tuple[str, dict]) -> None:
    guards = Guards(db)
    guards.off()
    with db.session() as s:
        for sql, params in statements:
            s.execute(text(sql), params)
    guards.on()


def _row(db, seq: int) -> dict:
    with db.session() as s:
        e = s.get(AuditEvent, seq)
        return {c: getattr(e, c) for c in ("seq", "hash", "occurred_at")}


def _insert_sql(db) -> str:
    return ("INSERT INTO audit_events (seq, occurred_at, actor_username, actor_role, action, resource_type, "
            "outcome, details, prev_hash, hash, seal, stripe, stripe_seq) VALUES (:seq, :at, :who, 'admin', 'view', "
            "'patient_chart', 'success', '{}', :prev, :hash, :seal, 1, :seq)")


def _forged(db, seq: int, prev: str, seal: str | None) -> dict:
    at = "2026-11-30T10:00:00.000000Z"
    body = {"seq": seq, "occurred_at": at, "actor_user_id": None, "actor_username": "ghost", "actor_role": "admin",
            "action": "view", "resource_type": "patient_chart", "resource_id": None, "patient_id": None,
            "outcome": "success", "reason": None, "address": None, "details": "{}", "prev_hash": prev}
    digest = hashlib.sha256(_canonical(body)).hexdigest()
    return {"seq": seq, "at": "2026-11-30 10:00:00.000000" if db.dialect == "sqlite" else at, "who": "ghost",
            "prev": prev, "hash": digest, "seal": seal}


def test_update_is_refused_and_an_owner_update_is_named(db, personas, chain):
    with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
        s.execute(text("UPDATE audit_events SET actor_username = 'x' WHERE seq = 5"))
    _owner(db, ("UPDATE audit_events SET actor_username = 'someone-else' WHERE seq = 5", {}))
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == 5 and "altered" in report.problem
    _app_keeps_answering(db, personas)


def test_an_update_with_the_hash_recomputed_is_caught_by_the_seal(db, personas, chain):
    row = _row(db, 6)
    with db.session() as s:
        e = s.get(AuditEvent, 6)
        body = {c: getattr(e, c) for c in ("seq", "occurred_at", "actor_user_id", "actor_username", "actor_role",
                                            "action", "resource_type", "resource_id", "patient_id", "outcome",
                                            "reason", "address", "details", "prev_hash")}
    body["actor_username"] = "someone-else"
    body["occurred_at"] = row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    new_hash = hashlib.sha256(_canonical(body)).hexdigest()
    _owner(db, ("UPDATE audit_events SET actor_username = 'someone-else', hash = :h WHERE seq = 6", {"h": new_hash}))
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == 6 and "seal" in report.problem


def test_middle_delete_is_refused_and_an_owner_delete_is_named(db, personas, chain):
    with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    _owner(db, ("DELETE FROM audit_events WHERE seq = 4", {}))
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == 4 and "missing" in report.problem
    _app_keeps_answering(db, personas)


def test_last_delete_with_the_head_moved_back_is_caught_by_the_checkpoint(db, personas, chain):
    last = _last(db)  # the checkpoint's own audit event came after the event it signs
    checkpointed = last - 1
    before = _row(db, checkpointed - 1)
    _owner(db,
           ("DELETE FROM audit_events WHERE seq >= :s", {"s": checkpointed}),
           ("UPDATE audit_chain_head SET seq = :s, hash = :h WHERE id = 1", {"s": before["seq"], "h": before["hash"]}))
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == checkpointed and "checkpoint" in report.problem
    _app_keeps_answering(db, personas)


def test_moving_the_head_back_is_refused_as_a_delete_is(db, personas, chain):
    with pytest.raises(DBAPIError, match="cannot be deleted"), db.session() as s:
        s.execute(text("DELETE FROM audit_chain_head"))


def test_a_forged_append_with_recomputed_hashes_is_named(db, personas, chain):
    last = _last(db)
    prev = _row(db, last)["hash"]
    forged = _forged(db, last + 1, prev, seal=None)
    with db.session() as s:  # the database accepts it: it links correctly; only the key can tell
        s.execute(text(_insert_sql(db)), forged)
        s.execute(text("UPDATE audit_chain_head SET seq = :s, hash = :h WHERE id = 1"),
                  {"s": last + 1, "h": forged["hash"]})
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == last + 1 and "seal" in report.problem
    _app_keeps_answering(db, personas)
    forged2 = _forged(db, _last(db) + 1, _row(db, _last(db))["hash"], seal="ab" * 32)  # a made-up seal
    with db.session() as s:
        s.execute(text(_insert_sql(db)), forged2)
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == last + 1
    assert any(f.seq == forged2["seq"] and "seal" in f.problem for f in report.findings)


def test_a_junk_row_is_refused_unless_it_links_and_then_the_app_keeps_answering(db, personas, chain):
    last = _last(db)
    with pytest.raises(DBAPIError, match="next link"), db.session() as s:
        s.execute(text(_insert_sql(db)), _forged(db, last + 5, "f" * 64, None))
    with pytest.raises(DBAPIError, match="next link"), db.session() as s:
        s.execute(text(_insert_sql(db)), _forged(db, last + 1, "f" * 64, None))
    junk = {**_forged(db, last + 1, _row(db, last)["hash"], None), "hash": "e" * 64}
    with db.session() as s:  # at head + 1, linking to the newest event, head not moved: used to stop the app
        s.execute(text(_insert_sql(db)), junk)
    _app_keeps_answering(db, personas)
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == last + 1
    result = CliRunner().invoke(cli, ["audit", "verify"], env=_cli_env(db, chain))
    assert result.exit_code == 1, result.output
    assert f"at event {last + 1}" in result.output


def test_the_head_row_cannot_be_deleted_and_its_loss_is_named(db, personas, chain):
    with pytest.raises(DBAPIError, match="cannot be deleted"), db.session() as s:
        s.execute(text("DELETE FROM audit_chain_head WHERE id = 1"))
    _owner(db, ("DELETE FROM audit_chain_head WHERE id = 1", {}))
    report = _verify(db, chain)
    assert not report.ok and "head record is missing" in report.problem
    _app_keeps_answering(db, personas)
    report = _verify(db, chain)
    if db.dialect == "sqlite":  # its one stripe: the app records the repair in the chain and goes on
        assert not report.ok and report.first_bad_seq is not None and "head was missing" in report.problem
    else:  # the app goes on in the other stripes; the lost head stays named
        assert not report.ok and any("head record is missing" in f.problem for f in report.findings)


def test_a_disabled_or_dropped_trigger_is_named(db, personas, chain):
    with db.session() as s:
        if db.dialect == "sqlite":
            s.execute(text("DROP TRIGGER audit_events_next_link"))
        else:
            s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_next_link"))
    report = _verify(db, chain)
    assert not report.ok and "audit_events_next_link" in report.problem
    _app_keeps_answering(db, personas)


def test_a_forged_checkpoint_is_named(db, personas, chain):
    path = sorted(chain.glob("*.json"))[0]
    data = json.loads(path.read_text())
    data["hash"] = "0" * 64
    path.write_text(json.dumps(data))
    report = _verify(db, chain)
    assert not report.ok and "not signed by the audit key" in report.problem


def test_an_untouched_chain_verifies_with_its_checkpoint(db, personas, chain):
    report = _verify(db, chain)
    assert report.ok, report.findings
    assert report.checkpoints == 1 and report.sealed == report.checked


def _cli_env(db, directory) -> dict[str, str]:
    get_settings.cache_clear()
    return {"KETACARE_DATABASE_URL": db.url, "KETACARE_AUDIT_CHECKPOINT_DIR": str(directory)}


def test_cli_checkpoint_then_verify(db, personas, tmp_path):
    directory = tmp_path / "cp"
    runner = CliRunner()
    r = runner.invoke(cli, ["audit", "checkpoint"], env=_cli_env(db, directory))
    assert r.exit_code == 0, r.output
    assert "checkpoint written" in r.output and len(list(directory.glob("*.json"))) == 1
    r = runner.invoke(cli, ["audit", "verify"], env=_cli_env(db, directory))
    assert r.exit_code == 0, r.output
    assert "1 signed checkpoint(s)" in r.output
    get_settings.cache_clear()


def test_login_still_works_over_http_after_a_row_was_slipped_in_at_head_plus_one(db, personas, chain):
    from fastapi.testclient import TestClient

    from ketacare.app import create_app
    from ketacare.config import Settings
    from tests.conftest import PASSWORD

    last = _last(db)
    with db.session() as s:
        s.execute(text(_insert_sql(db)), {**_forged(db, last + 1, _row(db, last)["hash"], None), "hash": "e" * 64})
    client = TestClient(create_app(Settings(database_url=db.url), db=db))
    r = client.post("/api/v1/auth/login", json={"username": "nurse", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    chart = client.get(f"/api/v1/patients/{personas.patient_a}", headers={"Authorization": f"Bearer {token}"})
    assert chart.status_code == 200
    report = _verify(db, chain)
    assert not report.ok and report.first_bad_seq == last + 1
