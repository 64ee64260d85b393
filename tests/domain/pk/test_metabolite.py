"""Metabolite curves: a curve is shown only when its kinetics are physiological (issue 11, point 6).

Norketamine's elimination half-life is hours: about 8 h for noresketamine (Spravato prescribing information,
clinical pharmacology) and about 12 h for racemic norketamine. Flint 2017 fixed the apparent norketamine volume
at 1 L (Vsnk/Fm), which gives an apparent half-life under a minute and a curve peaking at twice the parent drug:
it describes the model fit, not a concentration a clinician could compare with a measured level.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketacare.domain.pk import Regimen, individualize, model_ids, simulate, simulate_population
from ketacare.domain.pk.catalogue import model_info

PUBLISHED_HALF_LIFE_H = (8.0, 12.0)


@pytest.mark.parametrize("model_id", model_ids())
def test_a_predicted_metabolite_has_a_half_life_in_the_published_range_of_hours(model_id):
    p = individualize(model_id, 70.0, age_y=40.0, force=True)
    if not p.has_metabolite:
        return
    half_life_h = math.log(2) * p.vm_l / p.clm_l_per_min / 60.0
    low, high = PUBLISHED_HALF_LIFE_H
    assert low <= half_life_h <= high, f"{model_id}: metabolite half-life {half_life_h * 60:.2f} min"


def test_flint2017_predicts_s_ketamine_only():
    p = individualize("flint2017", 20.0, age_y=5.0)
    assert not p.has_metabolite
    assert not model_info("flint2017").has_metabolite
    reg = Regimen.constant_infusion(10.0, 40.0)
    assert simulate(p, reg, [10.0, 40.0, 120.0]).metabolite_ng_per_ml is None
    pop = simulate_population(p, reg, np.array([40.0]), 50, np.random.default_rng(1))
    assert pop.metabolite_ng_per_ml is None
