"""`ketacare outcomes`: one patient's outcome and the dashboard as JSON; bad dates exit 2 naming the field."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import get_settings
from tests.conftest import make_personas
from tests.services.test_outcomes import add_course

runner = CliRunner()


@pytest.fixture
def cli_personas(sqlite_db, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    yield make_personas(sqlite_db)
    get_settings.cache_clear()


def test_patient_and_dashboard_as_json(cli_personas):
    add_course(cli_personas.db, cli_personas.patient_a)
    r = runner.invoke(app, ["outcomes", "patient", str(cli_personas.patient_a), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "remitted"
    r = runner.invoke(app, ["outcomes", "dashboard", "--json", "--diagnosis", "gad"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["judged"] == 1


def test_bad_dates_exit_2_naming_the_field(cli_personas):
    r = runner.invoke(app, ["outcomes", "dashboard", "--from", "2026-10-01", "--to", "2026-09-01"])
    assert r.exit_code == 2
    assert "date_to" in r.output and "on or after" in r.output
    r = runner.invoke(app, ["outcomes", "dashboard", "--from", "yesterday"])
    assert r.exit_code == 2 and "date_from" in r.output
