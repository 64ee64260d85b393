"""Dosing body weight: Devine IBW, adjusted weight, the clinic's basis policy and weight freshness."""

from datetime import datetime, timedelta

import pytest

from ketacare.domain.dosing.body_weight import (
    adjusted_body_weight_kg,
    choose_weight_basis,
    dosing_weights,
    ideal_body_weight_kg,
    weight_basis_policy,
    weight_confirmations,
)
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sources import plain

T0 = datetime(2025, 3, 3, 9, 0)


@pytest.mark.parametrize(
    ("height_cm", "sex", "ibw_kg"),
    [
        (177.8, "male", 73.0),  # 70 in: 50 + 2.3 x 10
        (162.56, "female", 54.7),  # 64 in: 45.5 + 2.3 x 4
        (182.88, "female", 73.1),  # 72 in: 45.5 + 2.3 x 12
    ],
)
def test_devine_ideal_body_weight_known_values(height_cm, sex, ibw_kg):
    # heights are stored to 0.1 cm, so 64 in (162.56 cm) is read as 162.6 cm: within 0.05 kg
    assert ideal_body_weight_kg(height_cm, sex) == pytest.approx(ibw_kg, abs=0.05)


def test_devine_at_or_below_60_inches_returns_the_base():
    assert ideal_body_weight_kg(152.4, "male") == pytest.approx(50.0)  # exactly 60 in
    assert ideal_body_weight_kg(140.0, "female") == pytest.approx(45.5)


def test_adjusted_body_weight_known_value_and_low_weight_uses_actual():
    # male 70 in, 100 kg: 73 + 0.4 x (100 - 73) = 83.8 kg
    assert adjusted_body_weight_kg(100.0, 177.8, "male") == pytest.approx(83.8)
    # actual below ideal: use the actual weight
    assert adjusted_body_weight_kg(60.0, 177.8, "male") == pytest.approx(60.0)


def test_96_kg_165_cm_woman_candidate_weights_and_policy():
    w = dosing_weights(96.0, 165.0, "female")
    assert w.bmi_kg_per_m2 == pytest.approx(35.26, abs=0.01)
    assert w.ideal_kg == pytest.approx(56.91, abs=0.005)  # 45.5 + 2.3 x 4.96 in
    assert w.adjusted_kg == pytest.approx(72.55, abs=0.005)  # 56.91 + 0.4 x 39.09
    assert w.actual_kg == 96.0
    policy = weight_basis_policy()
    assert plain(policy.source) == "clinic default, not from a published guideline"
    assert "Singh" in policy.note and "APA" in policy.note
    with pytest.raises(InvalidValue) as exc:  # at or above the threshold the prescriber chooses (issue 11)
        choose_weight_basis(w.bmi_kg_per_m2)
    assert exc.value.field == "weight_basis" and f"recommends {policy.basis_at_or_above}" in exc.value.message
    chosen = choose_weight_basis(w.bmi_kg_per_m2, policy.basis_at_or_above)
    assert chosen.basis == policy.basis_at_or_above and chosen.chosen and not chosen.overridden
    assert choose_weight_basis(24.0).basis == policy.basis_below == "actual"
    assert not choose_weight_basis(24.0).chosen


def test_overriding_the_policy_needs_a_reason():
    with pytest.raises(InvalidValue) as exc:
        choose_weight_basis(35.0, "actual")
    assert exc.value.field == "weight_basis_reason"
    choice = choose_weight_basis(35.0, "actual", "trial protocol doses on actual weight")
    assert choice.overridden and choice.basis == "actual" and choice.reason


def test_unknown_sex_or_basis_is_refused():
    with pytest.raises(InvalidValue):
        ideal_body_weight_kg(170.0, "x")
    with pytest.raises(InvalidValue):
        choose_weight_basis(25.0, "lean")


def test_fresh_weight_needs_no_confirmation():
    assert weight_confirmations(80.0, T0 - timedelta(days=3), T0, previous_weight_kg=78.0) == ()


def test_old_weight_needs_confirmation():
    needed = weight_confirmations(80.0, T0 - timedelta(days=31), T0)
    assert [c.rule for c in needed] == ["weight.age"]
    assert "clinic default" in plain(needed[0].source)


def test_weight_change_over_10_percent_needs_confirmation():
    needed = weight_confirmations(89.0, T0, T0, previous_weight_kg=80.0)  # +11.25%
    assert [c.rule for c in needed] == ["weight.change"]
    assert weight_confirmations(88.0, T0, T0, previous_weight_kg=80.0) == ()  # exactly 10%


def test_weight_dated_after_the_order_is_refused():
    with pytest.raises(InvalidValue) as exc:
        weight_confirmations(80.0, T0 + timedelta(hours=1), T0)
    assert exc.value.field == "weight_measured_at"
