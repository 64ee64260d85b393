"""AUDIT-C (issue 11 point 11): the alcohol screen eligibility advice asks for is in the catalogue."""

from __future__ import annotations

import pytest

from ketacare.domain.measurement import load_instrument, score
from ketacare.domain.sources import bibliography


def test_audit_c_is_three_who_audit_items_scored_0_to_12():
    inst = load_instrument("audit_c")
    assert [i.values for i in inst.items] == [(0, 1, 2, 3, 4)] * 3
    assert inst.item("audit_c_1").text == "How often do you have a drink containing alcohol?"
    assert inst.item("audit_c_1").labels[0] == "Never"
    assert "public domain" in inst.licence.lower()
    assert "Bush 1998" in [bibliography()[k].short for k in inst.sources]


@pytest.mark.parametrize(
    ("answers", "women", "men"),
    [([0, 0, 0], False, False), ([1, 1, 0], False, False), ([1, 1, 1], True, False), ([2, 1, 1], True, True),
     ([4, 4, 4], True, True)],
)
def test_positive_screen_is_3_for_women_and_4_for_men(answers, women, men):
    result = score("audit_c", answers)
    assert result.total == sum(answers)
    assert ("positive_screen_women" in result.flags) == women
    assert ("positive_screen_men" in result.flags) == men
