"""Predicted plasma curve of a planned IV regimen: typical curve, population median and 5-95% band, and the
concentration ranges the literature links to ketamine effects (data in `prediction.toml`, with sources).

Units: weight kg, age years, dose mg, times minutes from the start of the infusion, concentrations ng/mL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk.catalogue import individualize, model_info, published_iiv_cv
from ketacare.domain.pk.metrics import exposure
from ketacare.domain.pk.population import simulate_population
from ketacare.domain.pk.regimen import Regimen
from ketacare.domain.pk.solver import simulate


def _data() -> dict[str, Any]:
    return load_toml("ketacare.domain.pk", "prediction.toml")


@dataclass(frozen=True)
class ConcentrationRange:
    """A concentration range (ng/mL) the literature links to an effect; `kind` is "band" or "line"."""

    id: str
    label: str
    kind: str
    low_ng_per_ml: float
    high_ng_per_ml: float
    source: str
    note: str


def concentration_ranges() -> tuple[ConcentrationRange, ...]:
    """Return the literature concentration ranges (ng/mL) shown on predicted curves, with their sources."""
    return tuple(
        ConcentrationRange(
            str(r["id"]),
            str(r["label"]),
            str(r["kind"]),
            float(r["low_ng_per_ml"]),
            float(r["high_ng_per_ml"]),
            str(r["source"]),
            str(r["note"]),
        )
        for r in _data()["range"]
    )


@dataclass(frozen=True)
class IivChoice:
    """The inter-individual variability used for a band: CV% per parameter and whether it is published."""

    cv_percent: dict[str, float]
    published: bool
    source: str
    note: str


def iiv_for(model_id: str) -> IivChoice:
    """Return the model's published IIV (CV%), or the documented default for the parameters it has."""
    published = published_iiv_cv(model_id)
    if published:
        cite = model_info(model_id).citation
        return IivChoice(published, True, cite, "published inter-individual variability of the model")
    d = _data()["default_iiv"]
    typical = individualize(model_id, 70.0, force=True).macro()
    cv = {k: float(v) for k, v in d["cv_percent"].items() if k in typical}
    return IivChoice(cv, False, str(d["source"]), str(d["note"]))


@dataclass(frozen=True)
class PredictedCurve:
    """Typical-patient curve and population median / 5th / 95th percentiles (ng/mL) at `times_min`."""

    model_id: str
    model_name: str
    weight_kg: float
    dose_mg: float
    duration_min: float
    times_min: np.ndarray
    typical_ng_per_ml: np.ndarray
    median_ng_per_ml: np.ndarray
    p5_ng_per_ml: np.ndarray
    p95_ng_per_ml: np.ndarray
    cmax_ng_per_ml: float
    tmax_min: float
    iiv: IivChoice
    n_patients: int
    notes: tuple[str, ...]

    def at(self, t_min: float) -> tuple[float, float, float]:
        """Return (median, p5, p95) in ng/mL at the grid time nearest `t_min`."""
        i = int(np.argmin(np.abs(self.times_min - t_min)))
        return float(self.median_ng_per_ml[i]), float(self.p5_ng_per_ml[i]), float(self.p95_ng_per_ml[i])


def predict_infusion(
    model_id: str,
    weight_kg: float,
    dose_mg: float,
    duration_min: float,
    horizon_min: float | None = None,
    age_y: float | None = None,
    step_min: float = 1.0,
) -> PredictedCurve:
    """Return the predicted plasma curve of `dose_mg` infused at a constant rate over `duration_min`.

    The band uses the model's published IIV or the documented default (`prediction.toml`); the seed is fixed,
    so the same inputs give the same band. Horizon defaults to the infusion plus 4 h.
    """
    if not duration_min or duration_min <= 0:
        raise InvalidValue("duration_min", "an IV infusion needs a duration in minutes > 0")
    params = individualize(model_id, weight_kg, age_y=age_y)
    regimen = Regimen.constant_infusion(dose_mg, duration_min)
    horizon = float(horizon_min if horizon_min is not None else duration_min + 240.0)
    times = np.union1d(np.arange(0.0, horizon + step_min / 2, step_min), [float(duration_min)])
    typical = simulate(params, regimen, times).plasma_ng_per_ml
    iiv = iiv_for(model_id)
    pop_cfg = _data()["population"]
    n = int(pop_cfg["n_patients"])
    lo_p, hi_p = (float(x) for x in pop_cfg["percentiles"])
    pop = simulate_population(
        params,
        regimen,
        times,
        n,
        np.random.default_rng(int(pop_cfg["seed"])),
        None if iiv.published else iiv.cv_percent,
    )
    p_lo, p_hi = np.percentile(pop.plasma_ng_per_ml, [lo_p, hi_p], axis=0)
    ex = exposure(simulate(params, regimen, times))
    info = model_info(model_id)
    return PredictedCurve(
        model_id=model_id,
        model_name=info.name,
        weight_kg=float(params.weight_kg or weight_kg),
        dose_mg=float(dose_mg),
        duration_min=float(duration_min),
        times_min=times,
        typical_ng_per_ml=typical,
        median_ng_per_ml=pop.median,
        p5_ng_per_ml=p_lo,
        p95_ng_per_ml=p_hi,
        cmax_ng_per_ml=ex.cmax_ng_per_ml,
        tmax_min=ex.tmax_min,
        iiv=iiv,
        n_patients=n,
        notes=tuple(params.notes),
    )
