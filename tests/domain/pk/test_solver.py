"""The exact solver: agreement with expm and solve_ivp for every model, and properties a pharmacist would
check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk import Regimen, individualize, model_ids, simulate, simulate_batch
from ketacare.domain.pk.regimen import compile_schedule
from ketacare.domain.pk.solver import build_system, simulate_expm_system

from .conftest import solve_ivp_reference

# a bolus, a rate change, a pause, and a restart
REGIMEN = (
    Regimen()
    .bolus(0.0, 10.0)
    .infusion(2.0, 20.0, 0.9)
    .infusion(20.0, 40.0, 0.4)
    .infusion(70.0, 90.0, 0.6)
    .bolus(100.0, 5.0)
)
TIMES = np.array([0.5, 1, 2, 5, 10, 19.5, 20, 25, 40, 41, 55, 70, 80, 90, 95, 100, 101, 150, 240, 360])


def _params(model_id, effect=True):
    has_ke0 = model_id not in ("elkomy2015", "flint2017")
    return individualize(model_id, 70.0, age_y=40.0, force=True, effect_site=effect and has_ke0)


def _outputs(profile):
    out = {"plasma": profile.plasma_ng_per_ml}
    if profile.effect_ng_per_ml is not None:
        out["effect"] = profile.effect_ng_per_ml
    if profile.metabolite_ng_per_ml is not None:
        out["metabolite"] = profile.metabolite_ng_per_ml
    return out


@pytest.mark.parametrize("model_id", model_ids())
def test_matches_segmented_solve_ivp_to_1e9(model_id):
    p = _params(model_id)
    ours = _outputs(simulate(p, REGIMEN, TIMES))
    ref = solve_ivp_reference(p, REGIMEN, TIMES, method="RK45")
    for name, y in ours.items():
        assert np.max(np.abs(y - ref[name]) / ref[name]) <= 1e-9, name


@pytest.mark.parametrize("model_id", ["domino", "kamp2020"])
def test_matches_radau_to_1e9(model_id):
    p = _params(model_id)
    t = np.array([1.0, 10, 30, 60, 120])
    ref = solve_ivp_reference(p, REGIMEN, t, method="Radau")
    ours = simulate(p, REGIMEN, t)
    assert np.max(np.abs(ours.plasma_ng_per_ml - ref["plasma"]) / ref["plasma"]) <= 1e-9


@pytest.mark.parametrize("model_id", model_ids())
def test_matches_matrix_exponential_to_1e12(model_id):
    p = _params(model_id)
    sysm = build_system(p)
    ref = simulate_expm_system(
        sysm.a[0], {k: c[0] for k, c in sysm.outputs.items()}, compile_schedule(REGIMEN), TIMES
    )
    for name, y in _outputs(simulate(p, REGIMEN, TIMES)).items():
        assert np.max(np.abs(y - ref[name]) / ref[name]) <= 1e-12, name


def _with_metabolite(p):
    """The solver's metabolite path, exercised with a made-up metabolite (no shipped model predicts one)."""
    return dataclasses.replace(p, clm_l_per_min=0.3, vm_l=200.0, metabolite_name="test metabolite")


def test_grid_path_equals_breakpoint_path():
    p = individualize("flint2017", 70.0, age_y=40.0, force=True)
    p = dataclasses.replace(_with_metabolite(p), ke0_per_min=0.5)
    n = 700
    rng = np.random.default_rng(3)
    pop = dataclasses.replace(p, cl_l_per_min=p.cl_l_per_min * np.exp(rng.normal(0, 0.3, n)))
    t = np.arange(0.0, 361.0)
    big = simulate_batch(pop, REGIMEN, t)  # n*T*s > threshold: grid recursion
    for i in (0, 1, 699):
        one = simulate(dataclasses.replace(pop, cl_l_per_min=float(pop.cl_l_per_min[i])), REGIMEN, t)
        for name, y in _outputs(one).items():
            assert np.allclose(big[name][i], y, rtol=1e-12, atol=1e-12), name


def test_near_coincident_rates_fall_back_to_expm():
    p = _with_metabolite(individualize("flint2017", 70.0, age_y=40.0, force=True))
    from ketacare.domain.pk.solver import modes

    lam = modes(p).lam[0][:2]
    bad = dataclasses.replace(p, clm_l_per_min=float(lam[0]) * p.vm_l * (1 + 1e-9), ke0_per_min=float(lam[1]))
    sysm = build_system(bad)
    ref = simulate_expm_system(
        sysm.a[0], {k: c[0] for k, c in sysm.outputs.items()}, compile_schedule(REGIMEN), TIMES
    )
    ours = _outputs(simulate(bad, REGIMEN, TIMES))
    for name, y in ours.items():
        assert np.max(np.abs(y - ref[name]) / ref[name]) <= 1e-12, name


regimens = st.lists(
    st.one_of(
        st.tuples(st.just("b"), st.floats(0, 300), st.floats(0, 200)),
        st.tuples(st.just("i"), st.floats(0, 300), st.floats(0.1, 120), st.floats(0, 20)),
    ),
    min_size=1,
    max_size=5,
)


def _build(spec):
    r = Regimen()
    for e in spec:
        r = r.bolus(e[1], e[2]) if e[0] == "b" else r.infusion(e[1], e[1] + e[2], e[3])
    return r


@settings(max_examples=60, deadline=None)
@given(model=st.sampled_from(model_ids()), spec=regimens, weight=st.floats(40, 150))
def test_concentrations_never_negative(model, spec, weight):
    p = individualize(model, weight, age_y=40.0, force=True)
    pr = simulate(p, _build(spec), np.linspace(0, 600, 241))
    assert np.all(pr.plasma_ng_per_ml >= 0)
    if pr.metabolite_ng_per_ml is not None:
        assert np.all(pr.metabolite_ng_per_ml >= 0)


@settings(max_examples=60, deadline=None)
@given(model=st.sampled_from(model_ids()), spec=regimens)
def test_doubling_the_dose_doubles_every_concentration(model, spec):
    p = _params(model)
    t = np.linspace(0, 480, 97)
    r = _build(spec)
    one, two = _outputs(simulate(p, r, t)), _outputs(simulate(p, r.scaled(2.0), t))
    for name in one:
        assert np.allclose(two[name], 2 * one[name], rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(model=st.sampled_from(model_ids()), a=regimens, b=regimens)
def test_superposition_of_two_regimens_is_the_sum(model, a, b):
    p = _params(model)
    t = np.linspace(0, 480, 97)
    ra, rb = _build(a), _build(b)
    sa, sb, sab = (_outputs(simulate(p, r, t)) for r in (ra, rb, ra + rb))
    for name in sab:
        assert np.allclose(sab[name], sa[name] + sb[name], rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("model_id", model_ids())
def test_long_constant_infusion_approaches_rate_over_clearance(model_id):
    p = _params(model_id, effect=False)
    rate = 1.0  # mg/min
    pr = simulate(p, Regimen().infusion(0, 60 * 24 * 30, rate), [60 * 24 * 29])
    css = rate / p.cl_l_per_min * 1000.0
    assert pr.plasma_ng_per_ml[0] == pytest.approx(css, rel=1e-6)
    if pr.metabolite_ng_per_ml is not None:  # apparent metabolite: Cm,ss = fm * R / CLm
        assert pr.metabolite_ng_per_ml[0] == pytest.approx(rate / p.clm_l_per_min * 1000.0, rel=1e-6)


def test_no_drug_before_the_first_dose_and_bolus_counts_at_its_time():
    p = individualize("kamp2020", 70.0)
    pr = simulate(p, Regimen().bolus(10.0, 25.0), [0.0, 9.999, 10.0])
    assert pr.plasma_ng_per_ml[0] == 0 and pr.plasma_ng_per_ml[1] == 0
    assert pr.plasma_ng_per_ml[2] == pytest.approx(25.0 / p.v1_l * 1000.0, rel=1e-12)


def test_refuses_bad_times_and_regimens():
    p = individualize("kamp2020", 70.0)
    with pytest.raises(InvalidValue):
        simulate(p, Regimen(), [-1.0])
    with pytest.raises(InvalidValue):
        Regimen().infusion(10, 5, 1.0)
    with pytest.raises(InvalidValue):
        Regimen().bolus(0, -3)
