"""The `pk` CLI: JSON output for the issue's example, and exit code 2 with a message for bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketacare.cli.pk import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def test_models_json_lists_all_models():
    r = _run("models", "--json")
    assert r.exit_code == 0
    ids = {m["id"] for m in json.loads(r.stdout)["models"]}
    assert {
        "domino",
        "clements1981",
        "hijazi2003",
        "kamp2020",
        "herd2007",
        "elkomy2015",
        "hornik2018",
        "flint2017",
    } <= ids


def test_simulate_issue_example():
    r = _run(
        "simulate",
        "--model",
        "kamp2020",
        "--weight",
        "70 kg",
        "--dose-mg-per-kg",
        "0.5",
        "--duration-min",
        "40",
        "--at",
        "10,20,40,60,120",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["times_min"] == [10, 20, 40, 60, 120]
    assert out["plasma_ng_per_ml"][2] == pytest.approx(253.052, abs=1e-3)
    assert "metabolite_ng_per_ml" not in out and "effect_ng_per_ml" not in out


def test_weight_in_pounds_equals_kilograms():
    a = json.loads(
        _run(
            "simulate", "--model", "kamp2020", "--weight", "154.32 lb", "--dose-mg-per-kg", "0.5", "--json"
        ).stdout
    )
    assert a["weight_kg"] == pytest.approx(70.0, abs=0.01)


def test_no_norketamine_curve_and_effect_printed_where_modelled():
    r = _run(
        "simulate",
        "--model",
        "flint2017",
        "--weight",
        "70 kg",
        "--age",
        "40",
        "--force",
        "--dose-mg-per-kg",
        "0.5",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["plasma_ng_per_ml"]) == 5 and "metabolite_ng_per_ml" not in out  # issue 11 point 6
    r = _run(
        "simulate",
        "--model",
        "domino",
        "--weight",
        "70 kg",
        "--dose-mg-per-kg",
        "0.5",
        "--effect-site",
        "--json",
    )
    assert len(json.loads(r.stdout)["effect_ng_per_ml"]) == 5


@pytest.mark.parametrize(
    "args",
    [
        ("--model", "nosuch", "--weight", "70 kg"),
        ("--model", "kamp2020", "--weight", "70 stone"),
        ("--model", "herd2007", "--weight", "70 kg", "--age", "40"),
        ("--model", "herd2007", "--weight", "30 kg"),
        ("--model", "kamp2020", "--weight", "7000 kg"),
    ],
)
def test_bad_input_exits_2_with_message(args):
    r = _run("simulate", *args, "--dose-mg-per-kg", "0.5", "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "error:" in r.stderr


def test_paediatric_model_allowed_when_forced():
    r = _run(
        "simulate",
        "--model",
        "herd2007",
        "--weight",
        "70 kg",
        "--age",
        "40",
        "--force",
        "--dose-mg-per-kg",
        "0.5",
        "--json",
    )
    assert r.exit_code == 0
    assert json.loads(r.stdout)["notes"]


def test_population_prints_bands():
    r = _run(
        "population",
        "--model",
        "herd2007",
        "--weight",
        "30 kg",
        "--age",
        "9",
        "--dose-mg-per-kg",
        "0.5",
        "--n",
        "200",
        "--seed",
        "1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert all(
        a <= b <= c
        for a, b, c in zip(out["p5_ng_per_ml"], out["median_ng_per_ml"], out["p95_ng_per_ml"], strict=True)
    )
    r = _run("population", "--model", "kamp2020", "--weight", "70 kg", "--dose-mg-per-kg", "0.5", "--seed", "1")
    assert r.exit_code == 2


def test_tci_prints_schedule():
    r = _run(
        "tci",
        "--model",
        "kamp2020",
        "--weight",
        "70 kg",
        "--target",
        "200",
        "--duration-min",
        "40",
        "--max-rate-mg-per-min",
        "100",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["schedule"][0]["rate_mg_per_min"] == pytest.approx(30.54, abs=0.01)
    assert out["total_dose_mg"] == pytest.approx(34.66, abs=0.01)


@pytest.mark.parametrize("command", ["simulate", "population", "tci"])
@pytest.mark.parametrize("option", [("--weight", "30"), ("--height", "130")])
def test_a_bare_number_is_refused_the_unit_is_required(command, option):
    """Issue 11 point 12: "--weight 70" was read as kg; a weight or height without its unit exits 2."""
    extra = {"tci": ["--target", "200"], "population": ["--dose-mg-per-kg", "0.5", "--seed", "1", "--n", "50"]}.get(
        command, ["--dose-mg-per-kg", "0.5"]
    )
    args = ["--model", "herd2007", "--age", "9", "--weight", "30 kg", "--height", "130 cm"]
    args[args.index(option[0]) + 1] = option[1]
    assert _run(command, *args, *extra, "--json").exit_code == 2
    args[args.index(option[0]) + 1] = option[1] + (" kg" if option[0] == "--weight" else " cm")
    ok = _run(command, *args, *extra, "--json")
    assert ok.exit_code == 0, ok.output
    args[args.index(option[0]) + 1] = option[1]
    r = _run(command, *args, *extra, "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert f"error: {option[0][2:]}" in r.stderr and "unit" in r.stderr
