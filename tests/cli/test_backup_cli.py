"""`ketacare backup-key`, `backup` and `restore` as an operator runs them (issue 15): say what they did, exit 2
with a message on bad input, and a restore drill into an empty database verifies."""

from __future__ import annotations

from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import get_settings
from ketacare.demo.patients import seed as seed_demo

runner = CliRunner()


def _run(monkeypatch, url, args):
    monkeypatch.setenv("KETACARE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return runner.invoke(app, args)
    finally:
        get_settings.cache_clear()


def test_restore_drill_from_the_command_line(sqlite_db, tmp_path, monkeypatch):
    seed_demo(sqlite_db, n_patients=4, seed_value=3)
    key, out, target = tmp_path / "clinic.key", tmp_path / "nightly.kcbackup", tmp_path / "restored.db"
    assert _run(monkeypatch, sqlite_db.url, ["backup-key", str(key)]).exit_code == 0
    made = _run(monkeypatch, sqlite_db.url, ["backup", str(out), "--key-file", str(key)])
    assert made.exit_code == 0, made.output
    assert "(encrypted)" in made.output and "chain intact" in " ".join(made.output.split())
    again = _run(monkeypatch, sqlite_db.url, ["backup", str(out)])
    assert again.exit_code == 2 and "exists" in again.output
    no_key = _run(monkeypatch, f"sqlite:///{target}", ["restore", str(out)])
    assert no_key.exit_code == 2 and "key file" in no_key.output
    done = _run(monkeypatch, f"sqlite:///{target}", ["restore", str(out), "--key-file", str(key)])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())  # the console wraps long lines
    assert "all row counts match" in said and "audit chain intact" in said and "head matches" in said
    assert "signed records intact" in said
