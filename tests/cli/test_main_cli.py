"""The command line as a script sees it: JSON output, exit 2 with a message on bad input, nothing stored."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_db(sqlite_db, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    yield sqlite_db
    get_settings.cache_clear()


def _json(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_add_in_pounds_then_show(cli_db):
    p = _json(["patients", "add", "--given", "Eve", "--family", "Stone", "--dob", "1990-02-03", "--sex", "female",
               "--weight", "180 lb", "--height", "5 ft 9 in", "--json"])
    chart = _json(["patients", "show", p["mrn"], "--json"])
    assert chart["clinical"]["latest_weight_kg"] == 81.65
    assert _json(["patients", "list", "--q", "sto", "--json"])["total"] == 1


@pytest.mark.parametrize("weight,words", [("1800 kg", "plausible"), ("82", "unit"), ("82 stone", "stone")])
def test_bad_weight_exits_2_with_message_and_stores_nothing(cli_db, weight, words):
    r = runner.invoke(app, ["patients", "add", "--given", "Eve", "--family", "Stone", "--dob", "1990-02-03",
                            "--sex", "female", "--weight", weight])
    assert r.exit_code == 2
    assert "weight" in r.stderr and words in r.stderr
    assert _json(["patients", "list", "--json"])["total"] == 0


def test_a_possible_duplicate_exits_2_naming_it_until_confirmed(cli_db):
    eve = ["patients", "add", "--given", "Eve", "--family", "Stone", "--dob", "1990-02-03", "--sex", "female"]
    _json([*eve, "--json"])
    r = runner.invoke(app, [*eve[:3], "Eva", *eve[4:]])
    assert r.exit_code == 2 and "confirm_not_duplicate" in r.stderr and "Stone, Eve" in r.stderr
    assert _json([*eve[:3], "Eva", *eve[4:], "--not-duplicate", "--json"])["given_name"] == "Eva"


def test_bad_date_and_sex_exit_2(cli_db):
    r = runner.invoke(app, ["patients", "add", "--given", "E", "--family", "S", "--dob", "03/02/1990", "--sex", "f"])
    assert r.exit_code == 2 and "dob" in r.stderr


def test_user_add_applies_the_password_policy(cli_db):
    r = runner.invoke(app, ["user", "add", "kim", "--role", "nurse", "--name", "Kim", "--password", "short"])
    assert r.exit_code == 2 and "at least 12" in r.stderr
    r = runner.invoke(app, ["user", "add", "kim", "--role", "nurse", "--name", "Kim", "--password",
                            "a long enough phrase", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["role"] == "nurse"


def test_audit_verify_exit_codes(cli_db):
    _json(["patients", "add", "--given", "Eve", "--family", "Stone", "--dob", "1990-02-03", "--sex", "female",
           "--json"])
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0 and "intact" in r.stdout
    with cli_db.session() as s:
        from sqlalchemy import text

        s.execute(text("DROP TRIGGER audit_events_no_update"))
        s.execute(text("UPDATE audit_events SET reason = 'edited' WHERE seq = 1"))
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 1 and "event 1" in r.stderr


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", f"sqlite:///{tmp_path}/new.db")
    get_settings.cache_clear()
    r = runner.invoke(app, ["patients", "list"])
    get_settings.cache_clear()
    assert r.exit_code == 1 and "ketacare db upgrade" in r.stderr


def test_demo_seeds_a_reproducible_clinic(tmp_path, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", f"sqlite:///{tmp_path}/demo.db")
    get_settings.cache_clear()
    r = runner.invoke(app, ["demo", "--no-serve", "--patients", "12"])
    assert r.exit_code == 0, r.output
    assert "prescriber" in r.stdout and "patient1" in r.stdout
    listing = _json(["patients", "list", "--json", "--per-page", "50"])
    assert listing["total"] >= 12
    again = runner.invoke(app, ["demo", "--no-serve", "--patients", "12"])  # second start: no re-seeding
    assert again.exit_code == 0 and _json(["patients", "list", "--json"])["total"] == listing["total"]
    get_settings.cache_clear()


def test_user_add_takes_only_a_role_of_the_policy(cli_db):
    for role in ("surgeon", "system"):  # unknown; the local operator is not an account role
        r = runner.invoke(app, ["user", "add", "kim", "--role", role, "--name", "Kim", "--password",
                                "a long enough phrase"])
        assert r.exit_code == 2 and "role" in r.stderr and f"unknown role '{role}'" in r.stderr
    r = runner.invoke(app, ["user", "add", "pat", "--role", "patient", "--name", "Pat", "--password",
                            "a long enough phrase"])
    assert r.exit_code == 2 and "patient_id" in r.stderr


def test_reminders_send_needs_an_smtp_host(cli_db, monkeypatch):
    monkeypatch.setenv("KETACARE_SMTP_HOST", "")
    get_settings.cache_clear()
    r = runner.invoke(app, ["reminders", "send"])
    assert r.exit_code == 2 and "SMTP" in r.stderr


def test_every_command_group_is_attached():
    r = runner.invoke(app, ["--help"])
    for group in ("db", "user", "patients", "audit", "instruments", "reminders", "messages", "dose", "pk",
                  "eligibility", "score", "serve", "demo"):
        assert group in r.stdout


def test_serve_runs_one_process_per_core_on_postgresql_and_one_on_sqlite():
    from ketacare.cli.main import default_workers

    assert default_workers("postgresql", 2) == 2 and default_workers("postgresql", None) == 1
    assert default_workers("sqlite", 8) == 1
