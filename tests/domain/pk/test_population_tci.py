"""Population simulation (seeded, vectorised) and plasma TCI."""

from __future__ import annotations

import numpy as np
import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk import Regimen, exposure, individualize, plasma_tci, simulate, simulate_population
from ketacare.domain.pk.population import omega_from_cv, sample_parameters

REG = Regimen.constant_infusion(35.0, 40.0)
T = np.array([10.0, 40.0, 60.0, 120.0])


def test_population_is_reproducible_and_shaped_by_patients_and_times():
    p = individualize("herd2007", 30.0, age_y=10.0)
    a = simulate_population(p, REG, T, 500, np.random.default_rng(7))
    b = simulate_population(p, REG, T, 500, np.random.default_rng(7))
    assert a.plasma_ng_per_ml.shape == (500, 4)
    assert np.array_equal(a.plasma_ng_per_ml, b.plasma_ng_per_ml)
    assert np.all(a.p5 <= a.median) and np.all(a.median <= a.p95)


def test_population_median_close_to_typical_patient():
    p = individualize("herd2007", 30.0, age_y=10.0)
    pop = simulate_population(p, REG, T, 4000, np.random.default_rng(1))
    typ = simulate(p, REG, T).plasma_ng_per_ml
    assert np.allclose(pop.median, typ, rtol=0.1)


def test_sampled_clearance_has_the_published_cv():
    p = individualize("herd2007", 70.0, age_y=16.0)
    pop = sample_parameters(p, 200_000, np.random.default_rng(0), {"CL": 38.1})
    assert np.std(np.log(pop.cl_l_per_min)) == pytest.approx(omega_from_cv(38.1), rel=0.01)
    assert np.all(pop.v1_l == p.v1_l)


def test_correlated_random_effects_have_the_requested_correlation():
    p = individualize("flint2017", 10.0, age_y=1.0)
    pop = sample_parameters(p, 20_000, np.random.default_rng(2), {"CL": 40.2, "V1": 30.0}, [("CL", "V1", 0.5)])
    r = np.corrcoef(np.log(pop.cl_l_per_min), np.log(pop.v1_l))[0, 1]
    assert r == pytest.approx(0.5, abs=0.02)


def test_model_without_published_iiv_needs_explicit_cv():
    p = individualize("kamp2020", 70.0)
    with pytest.raises(InvalidValue):
        simulate_population(p, REG, T, 10, np.random.default_rng(0))
    pop = simulate_population(p, REG, T, 10, np.random.default_rng(0), iiv_cv_percent={"CL": 30, "V1": 40})
    assert pop.plasma_ng_per_ml.shape == (10, 4)
    with pytest.raises(InvalidValue):
        simulate_population(p, REG, T, 10, np.random.default_rng(0), iiv_cv_percent={"KA": 30})


@pytest.mark.parametrize("model_id", ["kamp2020", "domino", "clements1981", "hijazi2003"])
def test_tci_reaches_and_holds_target_without_overshoot(model_id):
    p = individualize(model_id, 70.0)
    plan = plasma_tci(p, 200.0, 40.0, step_min=1 / 6)
    fine = np.arange(0.0, 40.0 + 1e-9, 1 / 60)
    cp = simulate(p, plan.regimen, fine).plasma_ng_per_ml
    assert plan.time_to_target_min is not None and plan.time_to_target_min <= 1.0
    assert cp.max() <= 200.0 * 1.01
    after = cp[fine >= 1.0]
    assert np.all(np.abs(after - 200.0) <= 0.01 * 200.0)
    assert plan.total_dose_mg == pytest.approx(plan.regimen.total_dose_mg)


def test_tci_kamp_matches_models_md_worked_example():
    plan = plasma_tci(individualize("kamp2020", 70.0), 200.0, 40.0, step_min=1 / 6)
    assert plan.steps[0].rate_mg_per_min == pytest.approx(30.54, abs=0.01)
    assert plan.steps[1].rate_mg_per_min == pytest.approx(1.075, abs=0.001)
    assert plan.total_dose_mg == pytest.approx(34.66, abs=0.01)


def test_tci_respects_the_pump_limit():
    p = individualize("kamp2020", 70.0)
    plan = plasma_tci(p, 200.0, 30.0, max_rate_mg_per_min=5.0)
    assert max(s.rate_mg_per_min for s in plan.steps) <= 5.0
    cp = simulate(p, plan.regimen, np.arange(0, 30.01, 0.5)).plasma_ng_per_ml
    assert cp.max() <= 202.0 and plan.time_to_target_min is not None


def test_exposure_metrics():
    p = individualize("kamp2020", 70.0)
    pr = simulate(p, REG, np.arange(0.0, 361.0))
    ex = exposure(pr, threshold_ng_per_ml=100.0)
    assert ex.tmax_min == 40.0 and ex.cmax_ng_per_ml == pytest.approx(253.05, abs=0.01)
    assert 0 < ex.time_above_threshold_min < 360
    assert ex.auc_ng_h_per_ml < 35.0 / (p.cl_l_per_min * 60) * 1000  # AUC(0-6 h) < dose/CL
    long = exposure(simulate(p, REG, np.arange(0.0, 72 * 60 + 1.0)))
    assert long.auc_ng_h_per_ml == pytest.approx(
        35.0 / (p.cl_l_per_min * 60) * 1000, rel=1e-3
    )  # AUC = dose/CL
