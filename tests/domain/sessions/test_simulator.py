"""Synthetic vitals: reproducible with a seed, BP peak near 40 min, realistic gaps."""

from __future__ import annotations

import numpy as np
import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.simulator import (
    SimulationParams,
    rise_shape,
    simulate_baseline,
    simulate_vitals,
)
from ketacare.domain.sessions.vitals import VitalSigns

BASELINE = VitalSigns(sbp=126, dbp=79, hr=74, spo2=98, rr=14)


def test_same_seed_same_trace_and_different_seed_differs():
    a = simulate_vitals(np.random.default_rng(7), baseline=BASELINE)
    b = simulate_vitals(np.random.default_rng(7), baseline=BASELINE)
    c = simulate_vitals(np.random.default_rng(8), baseline=BASELINE)
    assert a == b and a != c
    assert [r.t_min for r in a] == [
        5.0 * i for i in range(25)
    ]  # 40 min infusion + 80 min recovery every 5 min


def test_mean_bp_peaks_near_40_min_with_the_published_mean_rise():
    rng = np.random.default_rng(2026)
    params = SimulationParams.from_data(missing_prob=0.0, bp_spike_prob=0.0)
    traces = [simulate_vitals(rng, baseline=BASELINE, params=params) for _ in range(400)]
    times = np.array([r.t_min for r in traces[0]])
    sbp = np.array([[r.sbp for r in tr] for tr in traces]).mean(axis=0) - BASELINE.sbp
    dbp = np.array([[r.dbp for r in tr] for tr in traces]).mean(axis=0) - BASELINE.dbp
    hr = np.array([[r.hr for r in tr] for tr in traces]).mean(axis=0) - BASELINE.hr
    assert 35 <= times[np.argmax(sbp)] <= 45
    at40 = int(np.where(times == 40)[0][0])
    assert sbp[at40] == pytest.approx(12.6, abs=1.5)  # Vankawala 2021 [vankawala2021]
    assert dbp[at40] == pytest.approx(8.5, abs=1.2)
    assert hr[at40] == pytest.approx(4.1, abs=1.0)
    assert sbp[-1] < 3  # near baseline by 2 h [szarmach2020]


def test_missing_readings_dips_and_spikes_happen():
    rng = np.random.default_rng(1)
    readings = [r for _ in range(50) for r in simulate_vitals(rng, baseline=BASELINE)]
    missing_bp = sum(r.sbp is None for r in readings) / len(readings)
    assert 0.02 < missing_bp < 0.1
    assert any(r.spo2 is not None and r.spo2 < 93 for r in readings)
    assert all(r.sbp is None or r.dbp < r.sbp for r in readings)


def test_shape_and_baseline_helpers():
    assert rise_shape(40, 40, 3) == pytest.approx(1.0)
    assert rise_shape(0, 40, 3) == 0
    b = simulate_baseline(np.random.default_rng(3))
    assert b.sbp is not None and b.dbp < b.sbp
    with pytest.raises(InvalidValue):
        simulate_vitals(np.random.default_rng(1), baseline=VitalSigns(spo2=98))
