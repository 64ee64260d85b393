"""`ketacare messages send` and `messages log`: exit 2 with a message without an SMTP server or with a bad status;
an empty run is a clean no-op (safe from cron every minute)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import get_settings
from tests.cli.test_main_cli import cli_db  # noqa: F401  (fixture)

runner = CliRunner()


def test_send_needs_an_smtp_host_and_log_refuses_an_unknown_status(cli_db, monkeypatch):  # noqa: F811
    monkeypatch.setenv("KETACARE_SMTP_HOST", "")
    get_settings.cache_clear()
    r = runner.invoke(app, ["messages", "send"])
    assert r.exit_code == 2 and "SMTP" in r.stderr
    r = runner.invoke(app, ["messages", "log", "--status", "lost"])
    assert r.exit_code == 2 and "status" in r.stderr
    monkeypatch.setenv("KETACARE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KETACARE_SMTP_PORT", "9")  # nothing is due, so nothing connects
    get_settings.cache_clear()
    r = runner.invoke(app, ["messages", "send", "--json", "--no-questionnaires"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"queued": 0, "sent": 0, "failed": 0, "skipped": 0, "errors": []}
    r = runner.invoke(app, ["messages", "log", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == []
