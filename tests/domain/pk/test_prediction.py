"""Predicted curves for the order page: deterministic band around the typical curve, sourced ranges."""

import numpy as np

from ketacare.domain.pk.prediction import concentration_ranges, iiv_for, predict_infusion
from ketacare.domain.sources import plain


def test_band_brackets_the_median_and_is_reproducible():
    a = predict_infusion("kamp2020", 70.0, 35.0, 40.0)
    b = predict_infusion("kamp2020", 70.0, 35.0, 40.0)
    assert np.array_equal(a.p95_ng_per_ml, b.p95_ng_per_ml)
    assert np.all(a.p5_ng_per_ml <= a.median_ng_per_ml + 1e-9)
    assert np.all(a.median_ng_per_ml <= a.p95_ng_per_ml + 1e-9)
    assert 240 < a.cmax_ng_per_ml < 265 and a.tmax_min == 40.0  # MODELS.md 1.1: 253.1 ng/mL


def test_models_without_published_iiv_use_the_documented_default():
    kamp = iiv_for("kamp2020")
    assert not kamp.published and kamp.cv_percent == {"CL": 40.0, "V1": 40.0, "V2": 40.0, "V3": 40.0}
    assert "clinic default" in plain(kamp.source)
    assert "V3" not in iiv_for("clements1981").cv_percent  # two-compartment model
    assert iiv_for("hijazi2003").published


def test_every_range_has_a_source():
    ranges = concentration_ranges()
    assert {r.id for r in ranges} >= {"dissociation", "antidepressant_cmax"}
    assert all(r.source and r.low_ng_per_ml <= r.high_ng_per_ml for r in ranges)
