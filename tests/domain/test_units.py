"""Units: what a clinic types becomes SI, and anything ambiguous is refused with a clear reason."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain import units
from ketacare.domain.errors import InvalidValue


@pytest.mark.parametrize(
    "text,kg",
    [
        ("82 kg", 82.0),
        ("180 lb", 81.65),
        ("180lbs", 81.65),
        ("82.5 KG", 82.5),
        ("154 pounds", 69.85),
        ("30 kg", 30.0),
        ("300 kg", 300.0),
    ],
)
def test_weights_are_stored_in_kg(text, kg):
    assert units.parse_weight(text) == kg


@pytest.mark.parametrize(
    "text,cm",
    [
        ("175 cm", 175.0),
        ("1.75 m", 175.0),
        ("69 in", 175.3),
        ("5 ft 9 in", 175.3),
        ("5'9\"", 175.3),
        ("5 ft 9", 175.3),
        ("6 ft", 182.9),
        ("120 cm", 120.0),
    ],
)
def test_heights_are_stored_in_cm(text, cm):
    assert units.parse_height(text) == cm


@pytest.mark.parametrize(
    "text,words",
    [
        ("1800 kg", "outside the plausible adult range 30-300 kg"),
        ("82", "needs a unit"),
        ("82 stone", "unknown weight unit 'stone'"),
        ("", "required"),
        ("82,5 kg", "decimal point"),
        ("eighty kg", "not a weight"),
        ("29.9 kg", "outside"),
        ("661.5 lb", "outside"),
        ("nan kg", "not a weight"),
    ],
)
def test_refused_weights_say_why(text, words):
    with pytest.raises(InvalidValue) as e:
        units.parse_weight(text)
    assert e.value.field == "weight"
    assert words in e.value.message


@pytest.mark.parametrize("text", ["175", "2.5 m", "119 cm", "175 furlongs", "8 ft"])
def test_refused_heights(text):
    with pytest.raises(InvalidValue):
        units.parse_height(text)


def test_180_lb_shows_back_in_the_clinics_unit():
    kg = units.parse_weight("180 lb")
    assert kg == 81.65
    assert units.format_weight(kg, "lb") == "180.0 lb"
    assert units.format_weight(kg, "kg") == "81.65 kg"


def test_range_comes_from_the_data_file_with_a_source():
    r = units.plausible_range("weight_kg")
    assert (r.min, r.max) == (30.0, 300.0)
    assert r.source


# Interior of the range: display rounding at the very boundary can step outside it, which is then refused.
@given(st.floats(min_value=30.1, max_value=299.9, allow_nan=False))
def test_kg_round_trip_through_pounds(kg):
    shown = units.format_weight(kg, "lb")
    back = units.parse_weight(shown)
    # one decimal of a pound is 0.045 kg; the round trip never drifts further than that plus storage rounding
    assert abs(back - kg) <= 0.05 + 0.005


@given(st.floats(min_value=120.2, max_value=229.8, allow_nan=False))
def test_cm_round_trip_through_inches(cm):
    back = units.parse_height(units.format_height(cm, "in"))
    assert abs(back - cm) <= 0.13 + 0.05


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.sampled_from(["kg", "lb"]))
def test_any_typed_weight_is_either_plausible_or_refused(value, unit):
    try:
        kg = units.parse_weight(f"{value} {unit}")
    except InvalidValue:
        return
    assert 30.0 <= kg <= 300.0


def test_boundaries_are_exact():
    assert units.parse_weight("30 kg") == 30.0
    with pytest.raises(InvalidValue):
        units.parse_weight("29.999 kg")
    assert units.parse_weight("300 kg") == 300.0
    with pytest.raises(InvalidValue):
        units.parse_weight("300.001 kg")
    assert units.parse_height("230 cm") == 230.0
    with pytest.raises(InvalidValue):
        units.parse_height("230.01 cm")


def test_bmi():
    assert round(units.bmi(70, 175), 2) == 22.86
