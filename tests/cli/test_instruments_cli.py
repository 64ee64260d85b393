"""`ketacare instruments list` and `ketacare score` through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ketacare.cli.measurement import instruments_app, score_app

runner = CliRunner()


def test_list_json_has_every_instrument():
    result = runner.invoke(instruments_app, ["list", "--json"])
    assert result.exit_code == 0
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert {
        "gad7",
        "phq9",
        "oasis",
        "pcl5",
        "mini_spin",
        "pdss_sr",
        "hama",
        "cadss",
        "cadss6",
        "moaas",
        "cssrs_screen",
        "aldrete",
        "audit_c",
        "puf",
    } == set(rows)
    assert rows["gad7"]["items"] == 7 and rows["gad7"]["rater"] == "patient"
    assert rows["gad7"]["loinc"] == {"panel": "69737-5", "total": "70274-6"}
    assert rows["hama"]["loinc"] is None and rows["hama"]["rater"] == "clinician"
    assert set(rows["pcl5"]) >= {"id", "name", "items", "rater", "licence", "loinc"}


def test_list_table():
    result = runner.invoke(instruments_app, ["list"])
    assert result.exit_code == 0 and "gad7" in result.stdout


def test_score_json():
    result = runner.invoke(score_app, ["gad7", "--answers", "1,2,3,0,1,2,3", "--json"])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["instrument"] == "gad7" and out["total"] == 12 and out["severity"] == "moderate"
    assert out["flags"] == ["screen_positive"] and out["subscales"] == {}


def test_score_text():
    result = runner.invoke(score_app, ["gad7", "--answers", "1,2,3,0,1,2,3"])
    assert result.exit_code == 0 and "total: 12 / 21" in result.stdout and "moderate" in result.stdout


def test_empty_place_is_a_missing_item():
    result = runner.invoke(score_app, ["phq9", "--answers", "0,0,,0,0,0,0,0,1", "--json"])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["total"] is None and out["missing_items"] == ["phq9_3"]
    assert out["flags"] == ["suicide_risk"] and "item 3 (phq9_3)" in out["reason"]


def test_subscales_in_json():
    result = runner.invoke(score_app, ["pcl5", "--answers", ",".join(["1"] * 20), "--json"])
    assert json.loads(result.stdout)["subscales"] == {"B": 5, "C": 2, "D": 7, "E": 6}


def test_cssrs_risk_level_is_the_severity():
    result = runner.invoke(score_app, ["cssrs_screen", "--answers", "1,1,0,1,0,0,", "--json"])
    out = json.loads(result.stdout)
    assert out["severity"] == "high" and out["derived"] == {"risk_level": "high"}


def test_value_not_allowed_exits_2_naming_the_item():
    result = runner.invoke(score_app, ["gad7", "--answers", "1,2,9,0,1,2,3", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "item 3 (gad7_3)" in result.stderr


def test_text_answer_exits_2_naming_the_item():
    result = runner.invoke(score_app, ["gad7", "--answers", "1,two,1,0,1,2,3"])
    assert result.exit_code == 2 and "item 2 (gad7_2)" in result.stderr


def test_wrong_number_of_answers_exits_2_naming_the_item():
    result = runner.invoke(score_app, ["gad7", "--answers", "1,2,3,0,1,2"])
    assert result.exit_code == 2 and "item 7 (gad7_7)" in result.stderr
    result = runner.invoke(score_app, ["gad7", "--answers", "1,2,3,0,1,2,3,1"])
    assert result.exit_code == 2 and "answer 8" in result.stderr


def test_unknown_instrument_exits_2():
    result = runner.invoke(score_app, ["gad8", "--answers", "1"])
    assert result.exit_code == 2 and "unknown instrument" in result.stderr
