"""Published ketamine PK models (data files in `models/`) and their resolution to one patient's parameters.

Each model file gives parameters with units, covariate scaling as data
(`value * (weight_kg / reference) ** exponent`), inter-individual variability (CV%) where published, ke0
where available, verification status and source.
Parameters are converted to canonical macro form: volumes in L, clearances in L/min, ke0 in 1/min.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.units import check_weight_kg

_PACKAGE = "ketacare.domain.pk.models"
_UNIT_FACTORS = {"L": 1.0, "L/min": 1.0, "L/h": 1.0 / 60.0, "1/min": 1.0, "1/h": 1.0 / 60.0}
_MACRO = ("V1", "CL", "V2", "Q2", "V3", "Q3", "CLM", "VM")
_MICRO = ("K10", "K12", "K21", "K13", "K31")
_SEXES = {"male", "female"}


@dataclass(frozen=True)
class PkParameters:
    """One patient's (or, with array fields, many patients') canonical PK parameters.

    Volumes in L, clearances in L/min, rate constants in 1/min. `n_compartments` is 1-3; `v2_l`/`q2_l_per_min`
    (and the `3` pair) are ignored beyond it. `ke0_per_min` adds an effect site; `clm_l_per_min`/`vm_l` add a
    metabolite compartment fed by `fraction_metabolised` of the parent's elimination.
    """

    model_id: str
    n_compartments: int
    v1_l: Any
    cl_l_per_min: Any
    v2_l: Any = 0.0
    q2_l_per_min: Any = 0.0
    v3_l: Any = 0.0
    q3_l_per_min: Any = 0.0
    ke0_per_min: Any = None
    clm_l_per_min: Any = None
    vm_l: Any = None
    fraction_metabolised: float = 1.0
    metabolite_name: str | None = None
    weight_kg: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def has_effect_site(self) -> bool:
        return self.ke0_per_min is not None

    @property
    def has_metabolite(self) -> bool:
        return self.clm_l_per_min is not None

    def macro(self) -> dict[str, Any]:
        """Return the canonical macro parameters by name (V1, CL, V2, Q2, V3, Q3, CLM, VM)."""
        out = {"V1": self.v1_l, "CL": self.cl_l_per_min}
        if self.n_compartments >= 2:
            out.update(V2=self.v2_l, Q2=self.q2_l_per_min)
        if self.n_compartments >= 3:
            out.update(V3=self.v3_l, Q3=self.q3_l_per_min)
        if self.has_metabolite:
            out.update(CLM=self.clm_l_per_min, VM=self.vm_l)
        return out


@dataclass(frozen=True)
class ModelInfo:
    """Summary of one model data file, for listings."""

    id: str
    name: str
    drug: str
    population: str
    compartments: int
    has_metabolite: bool
    ke0_available: bool
    ke0_published: bool
    iiv_parameters: tuple[str, ...]
    doi: str
    citation: str


@cache
def model_ids() -> tuple[str, ...]:
    """Return the ids of all shipped PK models, sorted."""
    names = [p.name for p in resources.files(_PACKAGE).iterdir() if p.name.endswith(".toml")]
    return tuple(sorted(n[:-5] for n in names if n != "defaults.toml"))


def model_data(model_id: str) -> dict[str, Any]:
    """Return the parsed data file of `model_id`; refuse unknown ids."""
    if model_id not in model_ids():
        raise InvalidValue("model", f"unknown PK model '{model_id}'; known models: {', '.join(model_ids())}")
    return load_toml(_PACKAGE, f"{model_id}.toml")


def defaults() -> dict[str, Any]:
    """Return the clinic PK defaults (default model, adult age, TCI settings) from `models/defaults.toml`."""
    return load_toml(_PACKAGE, "defaults.toml")


def default_model_id() -> str:
    """Return the id of the clinic's default PK model."""
    return str(defaults()["default_model"]["id"])


def model_info(model_id: str) -> ModelInfo:
    """Return a summary of `model_id` for listings."""
    d = model_data(model_id)
    eff = d.get("effect_site")
    return ModelInfo(
        id=d["id"],
        name=d["name"],
        drug=d["drug"],
        population=d["population"],
        compartments=int(d["compartments"]),
        has_metabolite="metabolite" in d,
        ke0_available=eff is not None,
        ke0_published=bool(eff and eff.get("published")),
        iiv_parameters=tuple(sorted(published_iiv_cv(model_id))),
        doi=d["source"].get("doi", ""),
        citation=d["source"]["citation"],
    )


def published_iiv_cv(model_id: str) -> dict[str, float]:
    """Return the model's inter-individual variability as {canonical parameter: CV %}."""
    out: dict[str, float] = {}
    for name, p in model_data(model_id)["parameters"].items():
        if "cv_percent" in p:
            out[p.get("cv_parameter", name)] = float(p["cv_percent"])
    return out


def published_iiv_correlations(model_id: str) -> list[tuple[str, str, float]]:
    """Return the model's correlations between random effects as (param a, param b, r)."""
    return [(c["a"], c["b"], float(c["r"])) for c in model_data(model_id).get("iiv_correlation", [])]


def _scaled(name: str, p: Mapping[str, Any], covariates: Mapping[str, float]) -> float:
    unit = p["unit"]
    if unit not in _UNIT_FACTORS:
        raise ValueError(f"parameter {name}: unsupported unit {unit!r}")
    value = float(p["value"]) * _UNIT_FACTORS[unit]
    scale = p.get("scale")
    if scale:
        cov = covariates[scale["covariate"]]
        value *= (cov / float(scale["reference"])) ** float(scale["exponent"])
    return value


def _check_population(d: Mapping[str, Any], age_y: float | None, force: bool) -> list[str]:
    adult_age = float(defaults()["adult"]["min_age_y"])
    notes: list[str] = []
    if d["population"] == "paediatric":
        if age_y is None and not force:
            raise InvalidValue(
                "age_y",
                f"model '{d['id']}' is a paediatric model: age is required (and must be under "
                f"{adult_age:g} y) unless forced",
            )
        if age_y is not None and age_y >= adult_age and not force:
            raise InvalidValue(
                "model",
                f"model '{d['id']}' was fitted in children; refused for an adult ({age_y:g} y) unless forced",
            )
        if force:
            notes.append(f"paediatric model '{d['id']}' used outside its population (forced)")
    elif age_y is not None and age_y < adult_age:
        if not force:
            raise InvalidValue(
                "model",
                f"model '{d['id']}' was fitted in adults; refused for a {age_y:g}-year-old unless forced",
            )
        notes.append(f"adult model '{d['id']}' used for a patient under {adult_age:g} y (forced)")
    return notes


def _check_covariates(
    weight_kg: float | None, age_y: float | None, height_cm: float | None, sex: str | None, paediatric: bool
) -> float:
    if weight_kg is None:
        raise InvalidValue("weight_kg", "body weight in kg is required for every PK model")
    try:
        w = float(weight_kg)
    except (TypeError, ValueError) as exc:
        raise InvalidValue("weight_kg", f"'{weight_kg}' is not a weight in kg") from exc
    if paediatric:
        if not (math.isfinite(w) and 0.3 <= w <= 300.0):
            raise InvalidValue("weight_kg", f"weight {w:g} kg is not plausible")
    else:
        w = check_weight_kg(w)
    if age_y is not None and not (math.isfinite(float(age_y)) and 0.0 <= float(age_y) <= 120.0):
        raise InvalidValue("age_y", f"age {age_y} y is not plausible")
    if height_cm is not None and not (math.isfinite(float(height_cm)) and 30.0 <= float(height_cm) <= 260.0):
        raise InvalidValue("height_cm", f"height {height_cm} cm is not plausible")
    if sex is not None and sex not in _SEXES:
        raise InvalidValue("sex", f"sex must be one of {sorted(_SEXES)}, not '{sex}'")
    return w


def individualize(
    model_id: str,
    weight_kg: float | None,
    age_y: float | None = None,
    height_cm: float | None = None,
    sex: str | None = None,
    force: bool = False,
    effect_site: bool = False,
) -> PkParameters:
    """Resolve `model_id`'s covariate equations for one patient and return canonical parameters.

    Weight in kg (required by every model); age in years (required for paediatric models, which are
    refused for
    adults unless `force`). `effect_site=True` adds the model's ke0, which for every ketamine model is a
    synthetic value (no published ketamine ke0 exists) and is flagged in `notes`.
    """
    d = model_data(model_id)
    notes = _check_population(d, age_y, force)
    w = _check_covariates(weight_kg, age_y, height_cm, sex, d["population"] == "paediatric")
    lo_hi = d.get("weight_range_kg")
    if lo_hi and not (lo_hi[0] <= w <= lo_hi[1]):
        notes.append(f"weight {w:g} kg outside the model's studied range {lo_hi[0]:g}-{lo_hi[1]:g} kg")
    cov = {"weight_kg": w}
    raw = {name: _scaled(name, p, cov) for name, p in d["parameters"].items()}
    n = int(d["compartments"])
    if "K10" in raw:
        v1 = raw["V1"]
        m = {"V1": v1, "CL": raw["K10"] * v1}
        if n >= 2:
            m["Q2"] = raw["K12"] * v1
            m["V2"] = m["Q2"] / raw["K21"]
        if n >= 3:
            m["Q3"] = raw["K13"] * v1
            m["V3"] = m["Q3"] / raw["K31"]
    else:
        m = {k: raw[k] for k in _MACRO if k in raw}
    ke0 = None
    if effect_site:
        eff = d.get("effect_site")
        if eff is None:
            raise InvalidValue(
                "effect_site", f"model '{model_id}' has no ke0 (none published, none transcribed)"
            )
        ke0 = float(eff["ke0"]) * _UNIT_FACTORS[eff["unit"]]
        if not eff.get("published"):
            notes.append(f"ke0 {ke0:g}/min is not published ({eff['status']})")
    met = d.get("metabolite")
    if met and d.get("deviation"):
        notes.append(d["deviation"])
    return PkParameters(
        model_id=model_id,
        n_compartments=n,
        v1_l=m["V1"],
        cl_l_per_min=m["CL"],
        v2_l=m.get("V2", 0.0),
        q2_l_per_min=m.get("Q2", 0.0),
        v3_l=m.get("V3", 0.0),
        q3_l_per_min=m.get("Q3", 0.0),
        ke0_per_min=ke0,
        clm_l_per_min=m.get("CLM") if met else None,
        vm_l=m.get("VM") if met else None,
        fraction_metabolised=float(met["fraction_formed"]) if met else 1.0,
        metabolite_name=met["name"] if met else None,
        weight_kg=w,
        notes=tuple(notes),
    )
