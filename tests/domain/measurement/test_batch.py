"""Batch scorer: shape checks and the clinician-visible results on a few fixed rows."""

from __future__ import annotations

import numpy as np
import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.batch import score_batch

NAN = np.nan


def test_gad7_rows():
    rows = np.array(
        [[1, 2, 3, 0, 1, 2, 3], [0, 0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3, NAN], [0, 0, 4, 0, 0, 0, 0]]
    )
    result = score_batch("gad7", rows)
    assert result.valid.tolist() == [True, True, True, False]
    assert result.invalid_item.tolist() == [-1, -1, -1, 2]
    assert result.total[:2].tolist() == [12.0, 0.0] and np.isnan(result.total[2:]).all()
    assert [result.row(i).get("severity") for i in range(3)] == ["moderate", "minimal", None]
    assert result.flags["screen_positive"].tolist() == [True, False, False, False]


def test_phq9_item9_flag_in_batch_even_when_incomplete():
    rows = np.zeros((2, 9))
    rows[:, 8] = 1
    rows[1, 0] = NAN
    result = score_batch("phq9", rows)
    assert result.flags["suicide_risk"].tolist() == [True, True]
    assert result.total[0] == 1 and np.isnan(result.total[1])


def test_wrong_number_of_columns_is_refused_naming_the_item():
    with pytest.raises(InvalidValue) as err:
        score_batch("gad7", np.zeros((3, 6)))
    assert err.value.field == "item 7 (gad7_7)"
    with pytest.raises(InvalidValue):
        score_batch("gad7", np.zeros((3, 8)))


def test_empty_batch():
    result = score_batch("gad7", np.zeros((0, 7)))
    assert len(result) == 0


def test_cssrs_rows_breaking_the_skip_logic_are_not_scored_and_name_the_item():
    rows = np.array(
        [
            [1, 0, 1, NAN, NAN, 0, NAN],  # yes to item 3 after no to item 2
            [1, 0, NAN, NAN, 1, 0, NAN],  # yes to item 5 after no to item 2
            [0, 0, NAN, NAN, NAN, 0, 1],  # yes to 6b after no to item 6
            [1, 0, 0, 0, 0, 0, 0],  # "no" to items not asked: same as not asked
            [1, 1, 1, 0, 0, 0, NAN],
        ]
    )
    result = score_batch("cssrs_screen", rows)
    assert result.valid.tolist() == [False, False, False, True, True]
    assert result.invalid_item.tolist() == [2, 4, 6, -1, -1]
    assert result.row(3)["derived"]["risk_level"] == "low"
    assert result.row(4)["derived"]["risk_level"] == "moderate"
