"""`check FACTS.json` CLI on the shipped example."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ketacare.cli.eligibility import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "eligibility-facts.json"
runner = CliRunner()


def test_json_output_on_the_example_has_decision_findings_missing_and_stage():
    result = runner.invoke(app, ["check", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["decision"] == "eligible_with_cautions"
    assert doc["rule_set"] == "bokma2019"
    bzd = next(f for f in doc["findings"] if f["rule_id"] == "INT-BZD-BLUNTED-RESPONSE")
    assert bzd["severity"] == "caution" and "15.0 mg/day diazepam-equivalents" in bzd["message"]
    assert bzd["source"]
    assert doc["missing"] == []
    assert doc["treatment_resistance"]["status"] == "met"
    assert doc["treatment_resistance"]["stage"] == 2


def test_rule_set_option_selects_delphi():
    result = runner.invoke(app, ["check", str(EXAMPLE), "--rule-set", "delphi2024", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["rule_set"] == "delphi2024"
    assert doc["treatment_resistance"]["rule_set_label"] == "Delphi 2024"


def test_human_output_shows_the_decision_and_stage():
    result = runner.invoke(app, ["check", str(EXAMPLE)])
    assert result.exit_code == 0
    assert "eligible_with_cautions" in result.stdout
    assert "stage 2" in result.stdout


def test_malformed_field_exits_2_naming_the_field(tmp_path: Path):
    doc = json.loads(EXAMPLE.read_text())
    doc["medications"][1] = {"name": "lorazepam", "dose_mg_per_day": "a lot"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = runner.invoke(app, ["check", str(bad), "--json"])
    assert result.exit_code == 2
    assert "medications[1].dose_mg_per_day" in result.stderr
    assert result.stdout == ""


def test_unreadable_json_exits_2(tmp_path: Path):
    bad = tmp_path / "broken.json"
    bad.write_text("{ not json")
    result = runner.invoke(app, ["check", str(bad), "--json"])
    assert result.exit_code == 2
    assert "not readable JSON" in result.stderr


def test_missing_file_exits_2(tmp_path: Path):
    result = runner.invoke(app, ["check", str(tmp_path / "nope.json")])
    assert result.exit_code == 2


def test_human_output_prints_sources_as_author_year():
    result = runner.invoke(app, ["check", str(EXAMPLE)], terminal_width=200)
    assert result.exit_code == 0
    assert "Andrashko 2020" in result.stdout  # the benzodiazepine caution's source
    assert "andrashko2020" not in result.stdout and "[S50a]" not in result.stdout
