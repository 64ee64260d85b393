"""Pharmacokinetics of IV ketamine: published models, exact linear solver, population simulation and
plasma TCI.

Public API (what the dose-order service calls):
- `individualize(model_id, weight_kg, age_y=None, height_cm=None, sex=None, force=False, effect_site=False)`
- `Regimen().bolus(t_min, dose_mg).infusion(t_start_min, t_end_min, rate_mg_per_min)`,
  `Regimen.constant_infusion(dose_mg, duration_min)`
- `simulate(params, regimen, times_min) -> ConcentrationProfile` (ng/mL), `exposure(profile, threshold)`
- `simulate_population(params, regimen, times_min, n, rng)`, `plasma_tci(params, target_ng_per_ml,
duration_min)`
- `model_ids()`, `model_info(id)`, `default_model_id()`
"""

from ketacare.domain.pk.catalogue import (
    ModelInfo,
    PkParameters,
    default_model_id,
    individualize,
    model_ids,
    model_info,
    published_iiv_cv,
)
from ketacare.domain.pk.metrics import Exposure, exposure
from ketacare.domain.pk.population import PopulationProfile, simulate_population
from ketacare.domain.pk.prediction import (
    ConcentrationRange,
    PredictedCurve,
    concentration_ranges,
    predict_infusion,
)
from ketacare.domain.pk.regimen import Bolus, Infusion, Regimen
from ketacare.domain.pk.solver import ConcentrationProfile, simulate, simulate_batch
from ketacare.domain.pk.tci import TciPlan, TciStep, plasma_tci

__all__ = [
    "Bolus",
    "ConcentrationRange",
    "PredictedCurve",
    "concentration_ranges",
    "predict_infusion",
    "ConcentrationProfile",
    "Exposure",
    "Infusion",
    "ModelInfo",
    "PkParameters",
    "PopulationProfile",
    "Regimen",
    "TciPlan",
    "TciStep",
    "default_model_id",
    "exposure",
    "individualize",
    "model_ids",
    "model_info",
    "plasma_tci",
    "published_iiv_cv",
    "simulate",
    "simulate_batch",
    "simulate_population",
]
