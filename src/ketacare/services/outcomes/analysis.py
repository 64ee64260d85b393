"""Survival and mixed-effects models of outcomes (lifelines, statsmodels): numbers in, typed results out."""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Sequence

from ketacare.services.outcomes.schemas import AtRisk, ModelEstimate, SurvivalPoint

AT_RISK_DAYS = (0, 14, 28, 56, 84, 182)
MODEL_MAX_PATIENTS = 400  # MixedLM slows with the number of groups (about 2 ms each): larger cohorts use a fixed sample


def kaplan_meier(durations_days: Sequence[float], relapsed: Sequence[bool]) -> tuple[list[SurvivalPoint], list[AtRisk]]:
    """Return the Kaplan-Meier curve of staying free of relapse (with 95 % bands) and numbers at risk."""
    if not durations_days:
        return [], []
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter()
    km.fit(list(durations_days), event_observed=list(relapsed))
    sf = km.survival_function_.iloc[:, 0]
    ci = km.confidence_interval_survival_function_.to_numpy()
    points = [
        SurvivalPoint.model_construct(day=t, survival=v, low=lo, high=hi)  # floats already: no validation needed
        for t, v, lo, hi in zip(
            sf.index.to_numpy(dtype=float).tolist(), sf.to_numpy(dtype=float).tolist(), ci[:, 0].tolist(),
            ci[:, 1].tolist(), strict=True,
        )
    ]  # fmt: skip
    ordered = sorted(durations_days)
    at_risk = [AtRisk(day=d, n=len(ordered) - bisect.bisect_left(ordered, d)) for d in AT_RISK_DAYS]
    return points, at_risk


def model_sample(patient_ids: Sequence[int], size: int | None = None) -> list[int]:
    """Return the fixed sample of patients the model is fitted on: all, or the first `size` in a hashed order."""
    import numpy as np

    size = MODEL_MAX_PATIENTS if size is None else size
    unique = np.unique(np.asarray(patient_ids, dtype=np.int64))
    if len(unique) <= size:
        return [int(x) for x in unique.tolist()]
    # (i * 2654435761) mod 2**32, in uint64 arithmetic (its wrap-around is mod 2**64, a multiple of 2**32)
    order = np.argsort((unique.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32), kind="stable")
    return [int(x) for x in unique[order[:size]].tolist()]


def mixed_model(
    patient_ids: Sequence[int], sessions: Sequence[int], pct: Sequence[float], *, cohort_patients: int | None = None
) -> ModelEstimate:
    """Fit percent change from baseline ~ sessions given, with a random intercept per patient (MixedLM).

    Rows of more than MODEL_MAX_PATIENTS patients are reduced to `model_sample`; `cohort_patients` says how many
    patients the rows were sampled from when the caller sampled them already.
    """
    patients = len(set(patient_ids))
    if patients < 5 or len(pct) < 15:
        return ModelEstimate(
            fitted=False, patients=patients, scores=len(pct), slope_per_session=None, slope_low=None,
            slope_high=None, intercept=None,
            words=f"Too few patients ({patients}) or scores ({len(pct)}) to fit the model (needs 5 and 15).",
        )  # fmt: skip
    import numpy as np
    import statsmodels.api as sm

    sampled = ""
    if patients > MODEL_MAX_PATIENTS:
        keep = set(model_sample(patient_ids))
        rows = [(g, x, y) for g, x, y in zip(patient_ids, sessions, pct, strict=True) if g in keep]
        patient_ids, sessions, pct = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
        cohort_patients, patients = patients, MODEL_MAX_PATIENTS
    if cohort_patients is not None and cohort_patients > patients:
        sampled = (
            f" (fitted on a fixed sample of {patients} of {cohort_patients} patients, the same patients on every "
            "request: fitting every patient would take too long to show)"
        )
    exog = sm.add_constant(np.asarray(sessions, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a failed fit is reported below
        try:
            fit = sm.MixedLM(np.asarray(pct, dtype=float), exog, groups=np.asarray(patient_ids)).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError) as e:
            return ModelEstimate(
                fitted=False, patients=patients, scores=len(pct), slope_per_session=None, slope_low=None,
                slope_high=None, intercept=None, words=f"The model could not be fitted ({e}).",
            )  # fmt: skip
    params = np.asarray(fit.fe_params)
    ci = np.asarray(fit.conf_int())[: len(params)]
    slope, lo, hi = float(params[1]), float(ci[1][0]), float(ci[1][1])
    direction = "fell" if slope < 0 else "rose"
    sure = "the interval excludes no change" if hi < 0 or lo > 0 else (
        "the interval includes no change, so this may be chance"
    )
    words = (
        f"Across {patients} patients and {len(pct)} scores, each further session went with scores that "
        f"{direction} by {abs(slope):.1f} % of the patient's baseline on average (95 % CI {lo:.1f} to {hi:.1f} %; "
        f"{sure}){sampled}. Patients differ in their starting point (random intercept); the model does not prove that "
        "the sessions caused the change."
    )
    return ModelEstimate(
        fitted=True, patients=patients, scores=len(pct), slope_per_session=slope, slope_low=lo, slope_high=hi,
        intercept=float(params[0]), words=words,
    )  # fmt: skip
