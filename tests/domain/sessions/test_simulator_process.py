"""The vitals simulator as a process: plausible forever, BP rise and return, a surge that answers to a pause."""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pytest

from ketacare.domain import sources
from ketacare.domain.sessions.simulator import (
    ChairPlan,
    ChairState,
    Episode,
    SimulationParams,
    draw_plan,
    initial_state,
    simulate_baseline,
    step,
)
from ketacare.domain.sessions.vitals import PLAUSIBLE, VITALS, VitalSigns
from ketacare.services.sessions.schemas import GatewayReading

TICK_MIN = 5 / 60  # the demo feeder posts every 5 s
PARAMS = SimulationParams.from_data()
QUIET = SimulationParams.from_data(missing_prob=0.0, bp_spike_prob=0.0, spo2_dip_prob=0.0)
BASELINE = VitalSigns(sbp=126, dbp=79, hr=74, spo2=98, rr=14)


def _assert_plausible(r) -> None:
    for v in VITALS:
        x = r.get(v)
        if x is not None:
            lo, hi = PLAUSIBLE[v]
            assert lo <= x <= hi, (v, x)
    if r.sbp is not None:
        assert r.dbp < r.sbp


def test_twelve_chairs_for_ten_thousand_ticks_stay_plausible():
    """Acceptance (issue 12 point 6): 10,000 ticks on 12 chairs, every value plausible, no exception."""
    rng = np.random.default_rng(12)
    episode = Episode.from_data()
    extreme = VitalSigns(sbp=170, dbp=100, hr=110, spo2=100, rr=14)  # the edge of what baselines can be
    chairs = []
    for k in range(12):
        base = extreme if k == 11 else simulate_baseline(rng)
        bounds = None if k % 2 else (10.0, 30.0)
        chairs.append(
            draw_plan(
                rng,
                baseline=base,
                params=PARAMS,
                sbp_rise_bounds_mmhg=bounds,
                episode=episode if k in (1, 11) else None,
            )
        )
    states = [ChairState() for _ in chairs]
    seen = {v: [np.inf, -np.inf] for v in VITALS}
    count = 0
    for tick in range(10_000):
        for k, plan in enumerate(chairs):
            # Irregular clocks on some chairs (late ticks, a restart after 10 minutes).
            dt = TICK_MIN if k < 8 else (10.0 if tick % 997 == 0 else float(rng.uniform(0.0, 0.5)))
            t = states[k].t_min + dt
            # Session cycle: 40 min infusing (chair 3 pauses 20-25 min), 80 min recovery, then a new patient.
            if t > 120:
                plan = chairs[k] = draw_plan(
                    rng, baseline=simulate_baseline(rng), params=PARAMS, episode=plan.episode
                )
                states[k], t = ChairState(), 0.0
            pump = "running" if t < 40 else "stopped"
            if k == 3 and 20 <= t < 25:
                pump = "paused"
            states[k], r = step(plan, states[k], rng, t_min=t, pump=pump, params=PARAMS)
            _assert_plausible(r)
            GatewayReading(
                client_id=f"c{k}-{tick}",
                measured_at="2026-11-30T10:00:00Z",
                sbp=r.sbp,
                dbp=r.dbp,
                hr=r.hr,
                spo2=r.spo2,
                rr=r.rr,
            )  # the intake's own schema accepts it
            for v in VITALS:
                x = r.get(v)
                if x is not None:
                    seen[v][0], seen[v][1] = min(seen[v][0], x), max(seen[v][1], x)
            count += 1
    assert count == 120_000
    # The process moves (not stuck at a bound) and stays in the simulation ranges of the data file.
    for v in VITALS:
        lo, hi = PARAMS.ranges[v]
        assert lo <= seen[v][0] < seen[v][1] <= hi, (v, seen[v])
    assert seen["sbp"][1] >= 180  # the episode chairs reached a HIGH alarm level


def test_simulation_ranges_lie_inside_the_intake_plausibility_ranges():
    with resources.files("ketacare.domain.sessions.data").joinpath("vitals_simulation.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    names = {"sbp": "sbp_mmhg", "dbp": "dbp_mmhg", "hr": "hr_bpm", "spo2": "spo2_pct", "rr": "rr_per_min"}
    for v, key in names.items():
        lo, hi = raw["range"][key]["value"]
        assert PLAUSIBLE[v][0] <= lo < hi <= PLAUSIBLE[v][1], v
    # Every number carries a bibliography key or is labelled as a simulation choice.
    for section, entries in raw.items():
        for name, entry in entries.items():
            keys = [k.strip() for k in entry["source"].split(",")]
            assert keys and all(sources.known(k) or k == "simulation-default" for k in keys), (
                section,
                name,
            )


def _mean_trace(plan_of, pump_at, minutes=150.0, n=60, seed=4, plans=None, tick_min=TICK_MIN):
    rng = np.random.default_rng(seed)
    ticks = int(minutes / tick_min)
    out = np.zeros((n, ticks, 2))
    for i in range(n):
        plan = plan_of(rng)
        if plans is not None:
            plans.append(plan)
        state = ChairState()
        for j in range(ticks):
            t = (j + 1) * tick_min
            state, r = step(plan, state, rng, t_min=t, pump=pump_at(t), params=QUIET)
            out[i, j] = (r.sbp, r.dbp)
    return np.arange(1, ticks + 1) * tick_min, out


def test_bp_rises_by_10_to_30_mmhg_toward_40_minutes_and_returns():
    def plan_of(rng):
        return draw_plan(rng, baseline=BASELINE, params=QUIET, sbp_rise_bounds_mmhg=(10.0, 30.0))

    plans: list[ChairPlan] = []
    times, bp = _mean_trace(plan_of, lambda t: "running" if t < 40 else "stopped", plans=plans, tick_min=0.25)
    rise = bp[:, :, 0] - BASELINE.sbp
    drawn = np.array([p.sbp_rise_mmhg for p in plans])
    assert drawn.min() >= 10 and drawn.max() <= 30 and drawn.std() > 3  # each chair its own rise, 10-30 mmHg
    near_peak = (times >= 35) & (times <= 45)
    per_chair = rise[:, near_peak].mean(axis=1)
    # Around 40 min each chair sits near its own rise (noise: SD 4 mmHg, correlated over ~2 min).
    assert np.abs(per_chair - drawn).mean() < 3
    assert 10 <= per_chair.mean() <= 30 and per_chair.mean() == pytest.approx(drawn.mean(), abs=1.5)
    mean = rise.mean(axis=0)
    smooth = np.convolve(mean, np.ones(9) / 9, mode="same")  # 2-minute moving average
    assert 35 <= times[4:-4][np.argmax(smooth[4:-4])] <= 45
    assert mean[times <= 2].mean() < 3  # starts at baseline
    assert mean[(times >= 140)].mean() < 4  # back near baseline within 1.5-2 h [szarmach2020]
    assert (bp[:, :, 1] < bp[:, :, 0]).all()


def test_readings_seconds_apart_move_smoothly_not_as_a_random_walk():
    rng = np.random.default_rng(9)
    plan = draw_plan(rng, baseline=BASELINE, params=QUIET)
    state, sbp = ChairState(), []
    for j in range(1, 24 * 60 * 12):  # a whole day of 5-s ticks with the pump off: no drift
        state, r = step(plan, state, rng, t_min=200 + j * TICK_MIN, pump="stopped", params=QUIET)
        sbp.append(r.sbp)
    sbp = np.array(sbp)
    assert np.abs(np.diff(sbp)).max() <= 6  # no jumps between 5-s readings
    assert abs(sbp.mean() - BASELINE.sbp) < 1.5 and sbp.std() < QUIET.sbp_sd_mmhg * 1.3


def _episode_chair(rng):
    return draw_plan(
        rng, baseline=BASELINE, params=QUIET, sbp_rise_bounds_mmhg=(10.0, 30.0), episode=Episode.from_data()
    )


def test_the_high_bp_episode_answers_to_a_pause():
    episode = Episode.from_data()

    def paused_at_25(t):
        return "paused" if 25 <= t < 35 else ("running" if t < 40 else "stopped")

    times, paused = _mean_trace(_episode_chair, paused_at_25, minutes=60, n=20)
    _, running = _mean_trace(_episode_chair, lambda t: "running" if t < 40 else "stopped", minutes=60, n=20)
    sbp_p, dbp_p = paused[:, :, 0].mean(axis=0), paused[:, :, 1].mean(axis=0)
    sbp_r = running[:, :, 0].mean(axis=0)

    before = (times >= 22) & (times < 25)
    assert sbp_p[before].mean() >= 180 and dbp_p[before].mean() >= 108  # a HIGH alarm level before the pause
    assert sbp_p[before].mean() <= episode.sbp_mmhg + 5
    after = (times >= 33) & (times < 35)
    assert sbp_p[after].mean() < 165  # ten minutes into the pause BP is well below the alarm (and its margin)
    assert sbp_r[after].mean() >= 180  # without the pause it would still be high
    resumed = (times >= 36) & (times < 40)
    assert sbp_p[resumed].mean() < 170  # once answered, resuming does not bring the surge back


def test_a_chair_first_seen_mid_episode_continues_it():
    plan = _episode_chair(np.random.default_rng(1))
    s = initial_state(plan, 30.0, "running")
    assert 0.9 < s.surge < 1 and not s.answered
    assert initial_state(plan, 30.0, "paused").answered
    assert initial_state(plan, 5.0, "running").surge == 0
    _, r = step(plan, s, np.random.default_rng(2), t_min=30 + TICK_MIN, pump="running", params=QUIET)
    assert r.sbp >= 175


def test_plan_needs_a_baseline_bp():
    from ketacare.domain.errors import InvalidValue

    with pytest.raises(InvalidValue):
        ChairPlan(VitalSigns(spo2=98), 10, 5, 4)
