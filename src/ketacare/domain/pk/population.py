"""Population simulation: log-normal inter-individual variability on the published parameters, vectorised."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk.catalogue import PkParameters, published_iiv_correlations, published_iiv_cv
from ketacare.domain.pk.regimen import Regimen
from ketacare.domain.pk.solver import simulate_batch

_FIELDS = {
    "V1": "v1_l",
    "CL": "cl_l_per_min",
    "V2": "v2_l",
    "Q2": "q2_l_per_min",
    "V3": "v3_l",
    "Q3": "q3_l_per_min",
    "CLM": "clm_l_per_min",
    "VM": "vm_l",
    "KE0": "ke0_per_min",
}


@dataclass(frozen=True)
class PopulationProfile:
    """Concentrations (ng/mL) of n virtual patients: arrays (n_patients, n_times) and per-time summaries."""

    times_min: np.ndarray
    plasma_ng_per_ml: np.ndarray
    median: np.ndarray
    p5: np.ndarray
    p95: np.ndarray
    metabolite_ng_per_ml: np.ndarray | None
    iiv_cv_percent: dict[str, float]


def omega_from_cv(cv_percent: float) -> float:
    """Return the log-scale SD omega for a CV% (omega^2 = ln(1 + CV^2), the log-normal identity)."""
    return math.sqrt(math.log1p((cv_percent / 100.0) ** 2))


def sample_parameters(
    typical: PkParameters,
    n: int,
    rng: np.random.Generator,
    iiv_cv_percent: Mapping[str, float],
    correlations: Sequence[tuple[str, str, float]] = (),
) -> PkParameters:
    """Return `typical` with array fields for `n` patients: P_i = P_typ * exp(eta_i), eta ~ N(0, Omega)."""
    if n < 1:
        raise InvalidValue("n", "number of virtual patients must be >= 1")
    names = sorted(iiv_cv_percent)
    macro = typical.macro()
    for name in names:
        if (
            name not in _FIELDS
            or (name != "KE0" and name not in macro)
            or (name == "KE0" and not typical.has_effect_site)
        ):
            raise InvalidValue("iiv", f"parameter '{name}' does not exist in model '{typical.model_id}'")
        if not (0 <= iiv_cv_percent[name] < 1000):
            raise InvalidValue("iiv", f"CV {iiv_cv_percent[name]}% for {name} is not plausible")
    sd = np.array([omega_from_cv(iiv_cv_percent[k]) for k in names])
    corr = np.eye(len(names))
    for a, b, r in correlations:
        if a in names and b in names:
            i, j = names.index(a), names.index(b)
            corr[i, j] = corr[j, i] = r
    chol = np.linalg.cholesky(corr)
    eta = (rng.standard_normal((n, len(names))) @ chol.T) * sd
    changes = {_FIELDS[k]: getattr(typical, _FIELDS[k]) * np.exp(eta[:, i]) for i, k in enumerate(names)}
    # the float-or-array parameter fields of PkParameters (typed Any there), here one value per patient
    base: dict[str, Any] = {f: np.full(n, float(getattr(typical, f))) for f in ("v1_l", "cl_l_per_min")}
    base.update(changes)
    return dataclasses.replace(typical, **base)


def simulate_population(
    typical: PkParameters,
    regimen: Regimen,
    times_min: object,
    n: int,
    rng: np.random.Generator,
    iiv_cv_percent: Mapping[str, float] | None = None,
) -> PopulationProfile:
    """Simulate `n` virtual patients around `typical` and return concentrations with median and 5-95% bands.

    IIV defaults to the model's published CV% (and correlations); pass `iiv_cv_percent` to override (an
    assumption the caller owns). Refused when the model has no published IIV and none is given.
    """
    if iiv_cv_percent is None:
        iiv_cv_percent = published_iiv_cv(typical.model_id)
        correlations = published_iiv_correlations(typical.model_id)
        if not iiv_cv_percent:
            raise InvalidValue(
                "iiv",
                f"model '{typical.model_id}' has no published inter-individual variability;"
                " give CV% values explicitly (for example CL=30,V1=40)",
            )
    else:
        correlations = []
    pop = sample_parameters(typical, n, rng, iiv_cv_percent, correlations)
    out = simulate_batch(pop, regimen, times_min)
    cp = out["plasma"]
    p5, median, p95 = np.percentile(cp, [5.0, 50.0, 95.0], axis=0)
    return PopulationProfile(
        np.atleast_1d(np.asarray(times_min, dtype=float)),
        cp,
        median,
        p5,
        p95,
        out.get("metabolite"),
        dict(iiv_cv_percent),
    )
