"""Hypothesis properties: totals are sums, scores are monotone, batch scorer equals the single scorer."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.batch import score_batch
from ketacare.domain.measurement.catalogue import all_instruments, instrument_ids, load_instrument
from ketacare.domain.measurement.scoring import evaluate, score

INSTRUMENTS = st.sampled_from(instrument_ids())


def possible(inst, answers):
    """Return the answers with every item its skip logic rules out set to its lowest value (as when not asked)."""
    out = list(answers)
    for k, item in enumerate(inst.items):
        if item.asked_when is not None and evaluate(item.asked_when, inst, out, None) is False:
            out[k] = item.values[0]
    return out


@st.composite
def complete_answers(draw, iid=None):
    iid = iid or draw(INSTRUMENTS)
    inst = load_instrument(iid)
    return iid, possible(inst, [draw(st.sampled_from(item.values)) for item in inst.items])


@st.composite
def messy_rows(draw, iid):
    """Rows mixing allowed values, missing answers (NaN) and values no item allows."""
    inst = load_instrument(iid)
    n = draw(st.integers(min_value=1, max_value=30))
    rows = []
    for _ in range(n):
        row = []
        for item in inst.items:
            kind = draw(st.sampled_from(["ok", "ok", "ok", "ok", "missing", "invalid"]))
            if kind == "ok":
                row.append(float(draw(st.sampled_from(item.values))))
            elif kind == "missing":
                row.append(math.nan)
            else:
                row.append(draw(st.sampled_from([-1.0, item.values[-1] + 1.0, 0.5, math.inf, 99.0])))
        rows.append(row)
    return np.asarray(rows, dtype=np.float64)


@given(complete_answers())
def test_total_equals_the_sum_of_the_items(case):
    iid, answers = case
    inst = load_instrument(iid)
    result = score(iid, answers)
    if inst.total_rule == "sum":
        assert result.total == sum(answers)
        assert inst.min_total <= result.total <= inst.max_total
    else:
        assert result.total is None


@given(complete_answers(), st.data())
def test_total_and_band_are_monotone_in_each_item(case, data):
    iid, answers = case
    inst = load_instrument(iid)
    k = data.draw(st.integers(min_value=0, max_value=inst.n_items - 1))
    item = inst.items[k]
    higher = [v for v in item.values if v > answers[k]]
    if not higher or inst.total_rule != "sum":
        return
    raised = list(answers)
    raised[k] = data.draw(st.sampled_from(higher))
    before, after = score(iid, answers), score(iid, raised)
    assert after.total > before.total
    bands = inst.band_set()
    if bands is not None:
        labels = [b.label for b in bands.bands]
        assert labels.index(after.severity) >= labels.index(before.severity)
    for sub_id, value in before.subscales.items():
        assert after.subscales[sub_id] >= value
    if inst.higher_is_worse:
        assert set(before.flags) <= set(after.flags)


@given(complete_answers("cssrs_screen"), st.data())
def test_cssrs_risk_level_never_falls_when_an_answer_turns_yes(case, data):
    _, answers = case
    k = data.draw(st.integers(min_value=0, max_value=6))
    raised = list(answers)
    raised[k] = 1
    inst = load_instrument("cssrs_screen")
    if inst.items[k].asked_when is not None:  # a "Yes" to item 3 means item 2 was "Yes" too
        gate = inst.item(inst.items[k].asked_when.on).number - 1
        raised[gate] = 1
    order = inst.derived[0].order
    before = score("cssrs_screen", answers).derived["risk_level"]
    after = score("cssrs_screen", raised).derived["risk_level"]
    assert order.index(after) >= order.index(before)


def _single_row(iid, row):
    answers = [None if math.isnan(v) else v for v in row]
    try:
        return score(iid, answers), None
    except InvalidValue as err:
        return None, err


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_batch_equals_single_on_random_rows(data):
    for inst in all_instruments():
        rows = data.draw(messy_rows(inst.id))
        batch = score_batch(inst.id, rows)
        for i, row in enumerate(rows):
            single, err = _single_row(inst.id, row)
            got = batch.row(i)
            if err is not None:
                assert not got["valid"]
                assert inst.items[got["invalid_item"]].field == err.field
                continue
            assert got["valid"]
            assert got["total"] == single.total
            assert got["severity"] == single.severity
            assert got["subscales"] == single.subscales
            assert got["flags"] == list(single.flags)
            assert got["derived"] == single.derived
            assert got["complete"] == single.complete
            assert (got["mean"] is None and single.mean is None) or got["mean"] == single.mean


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([s.id for s in load_instrument("hama").band_sets]), st.data())
def test_batch_equals_single_with_a_chosen_band_set(band_set, data):
    rows = data.draw(messy_rows("hama"))
    batch = score_batch("hama", rows, band_set=band_set)
    for i, row in enumerate(rows):
        single, err = _single_row("hama", row)
        if err is None:
            assert (
                batch.row(i)["severity"]
                == score("hama", [None if math.isnan(v) else v for v in row], band_set=band_set).severity
            )
