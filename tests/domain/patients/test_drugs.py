"""The clinic's drug list: names, brand names, suggestions for misspellings, the usual daily maximum."""

from __future__ import annotations

import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.patients.drugs import check_daily_dose, drug_list, find_drug, suggestions
from ketacare.domain.patients.names import similar_names
from ketacare.domain.sources import known


def test_every_drug_has_a_known_source_and_a_sensible_range():
    names = set()
    for d in drug_list():
        assert known(d.source), d.name
        assert 0 < d.min_mg_per_day < d.max_mg_per_day, d.name
        assert d.name not in names
        names.add(d.name)


@pytest.mark.parametrize("typed", ["sertraline", "Sertraline", "SERTRALINE HCl 50 mg tablets", "Zoloft", "lustral"])
def test_generic_and_brand_names_are_recognised(typed):
    drug = find_drug(typed)
    assert drug is not None and drug.name == "sertraline"


@pytest.mark.parametrize("typed, expected", [("sertralin", "sertraline"), ("duloxitine", "duloxetine"),
                                             ("lorazepan", "lorazepam"), ("escitalopam", "escitalopram")])
def test_a_misspelling_suggests_the_intended_drug_first(typed, expected):
    assert find_drug(typed) is None
    assert suggestions(typed)[0] == expected


def test_nothing_close_suggests_nothing():
    assert suggestions("zyxomab") == []


def test_the_daily_dose_counts_times_per_day_and_the_unit():
    sertraline = find_drug("sertraline")
    assert check_daily_dose(sertraline, 100, "mg", 2) == 200
    assert check_daily_dose(sertraline, 0.2, "g", 1) == 200
    assert check_daily_dose(sertraline, 5, "mL", 1) is None  # a volume is not checked
    with pytest.raises(InvalidValue) as e:
        check_daily_dose(sertraline, 1500, "mg", 1)
    assert e.value.field == "dose_value"
    assert e.value.message.startswith("1,500 mg a day is above the usual maximum for sertraline")
    assert "25–200 mg a day" in e.value.message


@pytest.mark.parametrize("a, b, same", [
    (("eve", "stone"), ("eva", "stone"), True),      # one letter changed
    (("eve", "stone"), ("stone", "eve"), True),      # given and family swapped
    (("jo", "smith"), ("johanna", "smith"), True),   # a prefix
    (("maria", "lopez"), ("mario", "lopes"), True),
    (("eve", "stone"), ("adam", "stone"), False),
    (("maria", "lopez"), ("anna", "schmidt"), False),
])
def test_similar_names(a, b, same):
    assert similar_names(a, b) is same
