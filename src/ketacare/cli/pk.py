"""CLI adapter for the PK core: list models, simulate one patient or a population, plan a plasma TCI."""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import typer

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk import (
    PkParameters,
    Regimen,
    default_model_id,
    individualize,
    model_ids,
    model_info,
    plasma_tci,
    simulate,
    simulate_population,
)
from ketacare.domain.pk.catalogue import defaults
from ketacare.domain.sources import plain
from ketacare.domain.units import parse_height, parse_weight

app = typer.Typer(
    help="Ketamine pharmacokinetics: models, simulation, population bands, plasma TCI.", no_args_is_help=True
)

WEIGHT_HELP = 'Body weight with its unit: "70 kg" or "154 lb" (a bare number is refused, never assumed).'
HEIGHT_HELP = 'Height with its unit: "175 cm", "69 in" or "5 ft 9 in" (a bare number is refused, never assumed).'


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _weight_kg(text: str) -> float:
    return parse_weight(text, field="weight")  # the unit is required, as everywhere else


def _height_cm(text: str | None) -> float | None:
    return None if text is None else parse_height(text, field="height")


def _times(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidValue("at", f"'{text}' is not a comma-separated list of minutes") from exc


def _params(
    model: str,
    weight: str,
    age: float | None,
    height: str | None,
    sex: str | None,
    force: bool,
    effect_site: bool,
) -> PkParameters:
    return individualize(
        model,
        _weight_kg(weight),
        age_y=age,
        height_cm=_height_cm(height),
        sex=sex,
        force=force,
        effect_site=effect_site,
    )


def _total_dose_mg(dose_mg_per_kg: float, p: PkParameters) -> float:
    if p.weight_kg is None:  # pragma: no cover - individualize() always keeps the weight the command was given
        raise InvalidValue("weight", "the model kept no body weight to scale the dose by")
    return dose_mg_per_kg * p.weight_kg


def _emit(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload))
        return
    for k, v in payload.items():
        typer.echo(f"{k}: {v}")


def _rounded(a: Any) -> list[float]:
    return [round(float(x), 6) for x in np.atleast_1d(a)]


ModelOpt = typer.Option(None, "--model", help="Model id (see `models`); default: the clinic default model.")
WeightOpt = typer.Option(..., "--weight", help=WEIGHT_HELP)
AgeOpt = typer.Option(None, "--age", help="Age in years (required for paediatric models).")
HeightOpt = typer.Option(None, "--height", help=HEIGHT_HELP)
SexOpt = typer.Option(None, "--sex", help="male or female (no current ketamine model uses it).")
ForceOpt = typer.Option(
    False, "--force", help="Use a model outside its population (paediatric model for an adult)."
)
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON only.")


@app.command("models")
def models_cmd(as_json: bool = JsonOpt) -> None:
    """List the PK models with population, structure and verification flags."""
    rows: list[dict[str, Any]] = []
    for mid in model_ids():
        i = model_info(mid)
        rows.append(
            {
                "id": i.id,
                "name": i.name,
                "drug": i.drug,
                "population": i.population,
                "compartments": i.compartments,
                "metabolite": i.has_metabolite,
                "ke0_available": i.ke0_available,
                "ke0_published": i.ke0_published,
                "iiv_parameters": list(i.iiv_parameters),
                "doi": i.doi,
                "citation": i.citation,
                "default": mid == default_model_id(),
            }
        )
    if as_json:
        typer.echo(json.dumps({"models": rows}))
    else:
        for r in rows:
            typer.echo(
                f"{r['id']:14} {r['population']:10} {r['compartments']}-cmt  {r['name']} ({plain(r['citation'])})"
                + ("  [default]" if r["default"] else "")
            )


@app.command("simulate")
def simulate_cmd(
    model: str = ModelOpt,
    weight: str = WeightOpt,
    age: float = AgeOpt,
    height: str = HeightOpt,
    sex: str = SexOpt,
    force: bool = ForceOpt,
    dose_mg_per_kg: float = typer.Option(..., "--dose-mg-per-kg", help="Dose in mg per kg of body weight."),
    duration_min: float = typer.Option(40.0, "--duration-min", help="Infusion duration in minutes."),
    at: str = typer.Option("10,20,40,60,120", "--at", help="Comma-separated output times in minutes."),
    effect_site: bool = typer.Option(False, "--effect-site", help="Also print Ce (ke0 is NOT published)."),
    as_json: bool = JsonOpt,
) -> None:
    """Simulate a constant infusion of dose-mg-per-kg over duration-min and print concentrations (ng/mL)."""
    try:
        p = _params(model or default_model_id(), weight, age, height, sex, force, effect_site)
        if not (0 < dose_mg_per_kg <= 10):
            raise InvalidValue("dose_mg_per_kg", f"{dose_mg_per_kg} mg/kg is outside 0-10 mg/kg")
        reg = Regimen.constant_infusion(_total_dose_mg(dose_mg_per_kg, p), duration_min)
        pr = simulate(p, reg, _times(at))
    except InvalidValue as e:
        _fail(str(e))
    out: dict[str, Any] = {
        "model": p.model_id,
        "weight_kg": p.weight_kg,
        "dose_mg": round(reg.total_dose_mg, 6),
        "times_min": _rounded(pr.times_min),
        "plasma_ng_per_ml": _rounded(pr.plasma_ng_per_ml),
    }
    if pr.effect_ng_per_ml is not None:
        out["effect_ng_per_ml"] = _rounded(pr.effect_ng_per_ml)
    if pr.metabolite_ng_per_ml is not None:
        out["metabolite_ng_per_ml"] = _rounded(pr.metabolite_ng_per_ml)
    out["notes"] = list(p.notes)
    _emit(out, as_json)


def _cv(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        return {k.strip().upper(): float(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError as exc:
        raise InvalidValue("cv", f"'{text}' is not like CL=30,V1=40") from exc


@app.command("population")
def population_cmd(
    model: str = ModelOpt,
    weight: str = WeightOpt,
    age: float = AgeOpt,
    height: str = HeightOpt,
    sex: str = SexOpt,
    force: bool = ForceOpt,
    dose_mg_per_kg: float = typer.Option(..., "--dose-mg-per-kg", help="Dose in mg per kg of body weight."),
    duration_min: float = typer.Option(40.0, "--duration-min", help="Infusion duration in minutes."),
    at: str = typer.Option("10,20,40,60,120", "--at", help="Comma-separated output times in minutes."),
    n: int = typer.Option(1000, "--n", help="Number of virtual patients."),
    seed: int = typer.Option(..., "--seed", help="Random seed (results are reproducible)."),
    cv: str = typer.Option(
        None, "--cv", help="Override IIV as CV%, e.g. CL=30,V1=40 (needed if none published)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Simulate n virtual patients and print the median and 5-95% band of plasma ketamine (ng/mL)."""
    try:
        p = _params(model or default_model_id(), weight, age, height, sex, force, False)
        if not (1 <= n <= 1_000_000):
            raise InvalidValue("n", "n must be 1 to 1,000,000")
        reg = Regimen.constant_infusion(_total_dose_mg(dose_mg_per_kg, p), duration_min)
        pop = simulate_population(p, reg, _times(at), n, np.random.default_rng(seed), _cv(cv))
    except InvalidValue as e:
        _fail(str(e))
    _emit(
        {
            "model": p.model_id,
            "n": n,
            "seed": seed,
            "iiv_cv_percent": pop.iiv_cv_percent,
            "times_min": _rounded(pop.times_min),
            "median_ng_per_ml": _rounded(pop.median),
            "p5_ng_per_ml": _rounded(pop.p5),
            "p95_ng_per_ml": _rounded(pop.p95),
        },
        as_json,
    )


@app.command("tci")
def tci_cmd(
    model: str = ModelOpt,
    weight: str = WeightOpt,
    age: float = AgeOpt,
    height: str = HeightOpt,
    sex: str = SexOpt,
    force: bool = ForceOpt,
    target: float = typer.Option(..., "--target-ng-per-ml", "--target", help="Plasma target in ng/mL."),
    duration_min: float = typer.Option(40.0, "--duration-min", help="How long to hold the target (min)."),
    step_s: float = typer.Option(
        None, "--step-s", help="Pump update step in seconds (default from data: 10 s)."
    ),
    max_rate: float = typer.Option(
        None, "--max-rate-mg-per-min", help="Pump limit in mg/min (default from data)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Compute the STANPUMP-style rate schedule that reaches and holds a plasma target."""
    cfg = defaults()["tci"]
    try:
        p = _params(model or default_model_id(), weight, age, height, sex, force, False)
        plan = plasma_tci(
            p,
            target,
            duration_min,
            step_min=(step_s / 60.0) if step_s else float(cfg["update_step_min"]),
            max_rate_mg_per_min=max_rate if max_rate else float(cfg["max_rate_mg_per_min"]),
            tolerance_fraction=float(cfg["overshoot_tolerance_fraction"]),
        )
    except InvalidValue as e:
        _fail(str(e))
    _emit(
        {
            "model": p.model_id,
            "target_ng_per_ml": target,
            "total_dose_mg": round(plan.total_dose_mg, 6),
            "time_to_target_min": plan.time_to_target_min,
            "schedule": [
                {
                    "t_start_min": round(s.t_start_min, 6),
                    "t_end_min": round(s.t_end_min, 6),
                    "rate_mg_per_min": round(s.rate_mg_per_min, 6),
                }
                for s in plan.steps
            ],
        },
        as_json,
    )


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
