"""Model data files: parameters reproduce the MODELS.md reference table; population rules are enforced."""

from __future__ import annotations

import numpy as np
import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk import Regimen, default_model_id, individualize, model_ids, model_info, simulate
from ketacare.domain.pk.catalogue import model_data

# MODELS.md 2.1: 0.5 mg/kg over 40 min, 70 kg, Cp (ng/mL) at 10, 20, 40, 60, 120 min (independent
# implementation)
REFERENCE = {
    "domino": [181.809, 209.584, 240.331, 55.108, 35.830],
    "clements1981": [62.032, 109.480, 177.313, 115.415, 58.834],
    "hijazi2003": [94.506, 156.738, 225.344, 99.649, 13.147],
    "herd2007": [131.968, 186.547, 253.425, 119.324, 68.133],
    "hornik2018": [212.780, 347.629, 495.558, 223.311, 70.802],
    "kamp2020": [154.532, 198.271, 253.052, 95.860, 49.906],
    "elkomy2015": [126.85, 214.51, 322.22, 169.70, 60.04],
    "flint2017": [174.73, 181.24, 193.43, 23.87, 20.96],
}


def test_all_required_models_ship():
    assert set(REFERENCE) == set(model_ids())
    assert default_model_id() in model_ids()


@pytest.mark.parametrize("model_id", sorted(REFERENCE))
def test_reproduces_models_md_reference_table(model_id):
    p = individualize(model_id, 70.0, age_y=40.0, force=True)
    pr = simulate(p, Regimen.constant_infusion(35.0, 40.0), [10, 20, 40, 60, 120])
    ref = np.array(REFERENCE[model_id])
    # the table has 5-6 significant digits
    assert np.allclose(pr.plasma_ng_per_ml, ref, rtol=2e-4, atol=0.006)


@pytest.mark.parametrize("model_id", sorted(REFERENCE))
def test_every_file_has_source_status_and_units(model_id):
    d = model_data(model_id)
    assert d["source"]["citation"] and ("doi" in d["source"])
    assert d["verification"]
    for name, par in d["parameters"].items():
        assert par["unit"] in {"L", "L/h", "L/min", "1/min", "1/h"}, name
        assert par["status"], name
    if "effect_site" in d:
        assert d["effect_site"]["published"] is False  # no published ketamine ke0 (MODELS.md 4.3)


@pytest.mark.parametrize("model_id", ["herd2007", "elkomy2015", "hornik2018", "flint2017"])
def test_paediatric_model_refused_for_an_adult_unless_forced(model_id):
    assert model_info(model_id).population == "paediatric"
    with pytest.raises(InvalidValue) as e:
        individualize(model_id, 70.0, age_y=35.0)
    assert e.value.field == "model"
    with pytest.raises(InvalidValue) as e:
        individualize(model_id, 70.0)
    assert e.value.field == "age_y"
    forced = individualize(model_id, 70.0, age_y=35.0, force=True)
    assert any("forced" in n for n in forced.notes)
    assert individualize(model_id, 25.0, age_y=9.0).v1_l > 0


def test_adult_model_refused_for_a_child_unless_forced():
    with pytest.raises(InvalidValue):
        individualize("kamp2020", 30.0, age_y=10.0)
    assert individualize("kamp2020", 30.0, age_y=10.0, force=True).notes


def test_missing_or_implausible_covariates_are_refused():
    with pytest.raises(InvalidValue) as e:
        individualize("kamp2020", None)
    assert e.value.field == "weight_kg"
    with pytest.raises(InvalidValue):
        individualize("kamp2020", 700.0)
    with pytest.raises(InvalidValue):
        individualize("kamp2020", 70.0, sex="x")
    with pytest.raises(InvalidValue) as e:
        individualize("nosuch", 70.0)
    assert e.value.field == "model"


def test_covariate_equations_scale_with_weight():
    a, b = individualize("herd2007", 17.5, age_y=6), individualize("herd2007", 70.0, age_y=12)
    assert a.v1_l == pytest.approx(b.v1_l / 4)
    assert a.cl_l_per_min == pytest.approx(b.cl_l_per_min / 4**0.75)
    k = individualize("kamp2020", 70.0)
    assert (k.v1_l, k.cl_l_per_min * 60, k.v3_l) == pytest.approx((25.0, 84.0, 157.0))


def test_hijazi_clearance_matches_the_abstract():
    p = individualize("hijazi2003", 70.0)
    assert p.cl_l_per_min / 70 * 1000 == pytest.approx(
        36.0, rel=2e-3
    )  # 36.0 mL/min/kg (Hijazi 2003 abstract)


def test_effect_site_is_flagged_unpublished_and_absent_where_missing():
    p = individualize("kamp2020", 70.0, effect_site=True)
    assert p.ke0_per_min == pytest.approx(2.791) and any("not published" in n for n in p.notes)
    with pytest.raises(InvalidValue):
        individualize("elkomy2015", 20.0, age_y=5, effect_site=True)
