"""`ketacare dose`: calc prints the order as JSON; refusals and bad units exit 2 naming the field."""

import json

from typer.testing import CliRunner

from ketacare.cli.dosing import app

runner = CliRunner()
START = ["--start", "2025-03-03T09:00"]
WOMAN = [
    "calc",
    "--protocol",
    "iv-standard",
    "--weight",
    "96 kg",
    "--height",
    "165 cm",
    "--sex",
    "female",
    *START,
]


def test_calc_at_bmi_30_or_more_asks_for_the_basis_and_lists_the_candidates():
    result = runner.invoke(app, [*WOMAN, "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("weight_basis:") and "recommends ideal" in result.stderr
    assert "--weight-basis actual: 96 kg -> 48 mg, 0.5 mg/kg of actual weight" in result.stderr
    assert "--weight-basis ideal: 56.91 kg -> 28.5 mg, 0.297 mg/kg of actual weight" in result.stderr


def test_calc_json_for_the_96_kg_165_cm_woman():
    result = runner.invoke(app, [*WOMAN, "--weight-basis", "ideal", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "dosing_weight_kg",
        "weight_basis",
        "dose_mg",
        "volume_ml",
        "rate_ml_per_h",
        "duration_min",
        "candidates",
        "limit_messages",
    ):
        assert key in data
    assert data["weight_basis"] == "ideal" and data["dose_mg"] == 28.5
    assert {c["basis"]: c["dose_mg"] for c in data["candidates"]} == {
        "actual": 48.0,
        "ideal": 28.5,
        "adjusted": 36.3,
    }
    assert [c["basis"] for c in data["candidates"] if c["chosen"]] == ["ideal"]
    assert data["weight_basis_chosen"] is True and data["mg_per_kg_actual"] == 0.297
    assert data["computed_dose_mg"] == 28.455
    assert data["end"] == "2025-03-03T09:40:00"


def test_calc_worked_example_150_ml_per_h():
    args = [
        "calc",
        "--protocol",
        "iv-standard",
        "--weight",
        "70 kg",
        "--height",
        "175 cm",
        "--sex",
        "male",
        "--mg-per-kg",
        "0.5",
        "--json",
        *START,
    ]
    data = json.loads(runner.invoke(app, args).stdout)
    assert (data["dose_mg"], data["volume_ml"], data["rate_ml_per_h"], data["duration_min"]) == (
        35.0,
        100.0,
        150.0,
        40.0,
    )


def test_weight_basis_override_needs_reason():
    result = runner.invoke(app, [*WOMAN, "--weight-basis", "actual", "--json"])
    assert result.exit_code == 2 and result.stderr.startswith("weight_basis_reason:")
    result = runner.invoke(app, [*WOMAN, "--weight-basis", "actual", "--reason", "trial dosing", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["dose_mg"] == 48.0


def test_hard_limit_exits_2_with_the_message():
    result = runner.invoke(
        app, [*WOMAN, "--weight-basis", "ideal", "--mg-per-kg", "1.5", "--reason", "please", "--json"]
    )
    assert result.exit_code == 2
    assert "hard" in result.stderr and "mg_per_kg_max" in result.stderr
    assert result.stdout == ""


def test_soft_limit_without_reason_exits_2_and_with_reason_passes():
    ideal = [*WOMAN, "--weight-basis", "ideal"]
    result = runner.invoke(app, [*ideal, "--mg-per-kg", "0.75", "--json"])
    assert result.exit_code == 2 and "soft" in result.stderr and "reason" in result.stderr
    result = runner.invoke(app, [*ideal, "--mg-per-kg", "0.75", "--reason", "partial response", "--json"])
    assert result.exit_code == 0
    messages = json.loads(result.stdout)["limit_messages"]
    assert messages[0]["level"] == "soft" and messages[0]["reason"] == "partial response"


def test_bad_units_exit_2_naming_the_field():
    for weight in ("82", "82 stone"):
        args = [
            "calc",
            "--protocol",
            "iv-standard",
            "--weight",
            weight,
            "--height",
            "165 cm",
            "--sex",
            "female",
        ]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 2 and result.stderr.startswith("weight:") and result.stdout == ""
    result = runner.invoke(
        app,
        [
            "calc",
            "--protocol",
            "iv-standard",
            "--weight",
            "82 kg",
            "--height",
            "165",
            "--sex",
            "female",
            "--json",
        ],
    )
    assert result.exit_code == 2 and result.stderr.startswith("height:")


def test_esketamine_calc_counts_devices():
    args = ["calc", "--protocol", "esketamine-in", "--age", "70", "--session-number", "1", "--json", *START]
    data = json.loads(runner.invoke(app, args).stdout)
    assert data["dose_mg"] == 28.0 and data["preparation"]["devices"] == 1 and data["weight_basis"] is None


def test_human_readable_output_runs():
    result = runner.invoke(app, [*WOMAN, "--weight-basis", "ideal"])
    assert result.exit_code == 0 and "28.5 mg" in result.stdout and "computed 28.455 mg" in result.stdout
    assert "prescriber's choice" in result.stdout


def test_an_oral_dose_is_given_exactly_or_refused_with_the_nearest_doses():
    result = runner.invoke(app, ["calc", "--protocol", "oral", "--dose-mg", "60", "--json", *START])
    assert result.exit_code == 0 and json.loads(result.stdout)["dose_mg"] == 60.0
    result = runner.invoke(
        app, ["calc", "--protocol", "oral", "--dose-mg", "62", "--vial-strength", "50", "--json", *START]
    )
    assert (
        result.exit_code == 2 and result.stderr.startswith("dose_mg:") and "60 mg or 65 mg" in result.stderr
    )


def test_protocols_json_lists_the_library_with_sources():
    result = runner.invoke(app, ["protocols", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {p["id"] for p in data} == {
        "iv-standard",
        "iv-slow",
        "sc-ascending",
        "im",
        "oral",
        "sublingual",
        "esketamine-in",
    }
    assert all(p["dose"]["source"] for p in data)


def test_a_refusal_names_its_source_as_author_year():
    args = [*WOMAN, "--weight-basis", "ideal", "--mg-per-kg", "1.5", "--reason", "please", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "(source: Fava 2020)" in result.stderr  # the hard limit's source, never a key or an internal tag
    assert "fava2020" not in result.stderr
