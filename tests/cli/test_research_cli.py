"""`ketacare research export --format parquet --out DIR`: researchers only; bad options exit 2."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import get_settings
from tests.conftest import make_personas

runner = CliRunner()


@pytest.fixture
def cli_db(sqlite_db, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    make_personas(sqlite_db)
    yield sqlite_db
    get_settings.cache_clear()


def test_a_researcher_exports_parquet_from_the_command_line(cli_db, tmp_path):
    r = runner.invoke(
        app, ["research", "export", "--format", "parquet", "--out", str(tmp_path / "x"), "--as", "researcher", "--json"]
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["risk"]["patients"] == 2
    assert pq.read_table(tmp_path / "x" / "patients.parquet").num_rows == 2
    assert (tmp_path / "x" / "data_dictionary.csv").exists()


def test_other_accounts_and_bad_options_are_refused(cli_db, tmp_path):
    r = runner.invoke(app, ["research", "export", "--out", str(tmp_path), "--as", "nurse"])
    assert r.exit_code != 0 and not (tmp_path / "patients.csv").exists()
    r = runner.invoke(app, ["research", "export", "--out", str(tmp_path), "--as", "researcher", "--format", "xlsx"])
    assert r.exit_code == 2 and "--format" in r.output
