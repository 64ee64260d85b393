"""Single-response scoring: bands, flags, missing items and refusals, as a clinician would check them."""

from __future__ import annotations

import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.catalogue import all_instruments, load_instrument
from ketacare.domain.measurement.scoring import parse_answer_text, score
from ketacare.domain.sources import plain
from tests.domain.measurement.helpers import answers_with_total

BAND_CASES = [
    (inst.id, band_set.id, band.min, band.max, band.label)
    for inst in all_instruments()
    for band_set in inst.band_sets
    for band in band_set.bands
]


@pytest.mark.parametrize(("iid", "band_set", "low", "high", "label"), BAND_CASES)
def test_every_band_boundary_is_exact(iid, band_set, low, high, label):
    inst = load_instrument(iid)
    for total in (low, high):
        result = score(iid, answers_with_total(inst, total), band_set=band_set)
        assert (result.total, result.severity) == (total, label)
    if low > inst.min_total:
        below = score(iid, answers_with_total(inst, low - 1), band_set=band_set)
        assert below.severity != label
    if high < inst.max_total:
        above = score(iid, answers_with_total(inst, high + 1), band_set=band_set)
        assert above.severity != label


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands_are_spitzer_cut_points(total, label):
    assert score("gad7", answers_with_total(load_instrument("gad7"), total)).severity == label


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (4, "none-minimal"),
        (5, "mild"),
        (10, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
    ],
)
def test_phq9_bands_are_kroenke_cut_points(total, label):
    assert score("phq9", answers_with_total(load_instrument("phq9"), total)).severity == label


def test_hama_bands_default_and_alternative():
    inst = load_instrument("hama")
    assert score("hama", answers_with_total(inst, 17)).severity == "moderate"
    assert score("hama", answers_with_total(inst, 31)).severity == "severe"
    assert score("hama", answers_with_total(inst, 17), band_set="alternative_minimal").severity == "moderate"
    assert score("hama", answers_with_total(inst, 17), band_set="mdcalc").severity == "up to mild"


def test_gad7_example_from_the_cli_brief():
    result = score("gad7", [1, 2, 3, 0, 1, 2, 3])
    assert result.total == 12 and result.severity == "moderate" and "screen_positive" in result.flags


def test_phq9_item9_of_1_raises_suicide_risk():
    result = score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert "suicide_risk" in result.flags
    assert result.total == 1 and result.severity == "none-minimal"


def test_phq9_item9_raises_suicide_risk_even_when_the_total_is_refused():
    result = score("phq9", [None, 0, 0, 0, 0, 0, 0, 0, 2])
    assert result.total is None
    assert "suicide_risk" in result.flags


def test_phq9_item9_of_0_raises_no_suicide_risk():
    assert "suicide_risk" not in score("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0]).flags


def test_a_missing_item_refuses_the_total_and_says_why():
    result = score("gad7", [1, 2, None, 0, 1, 2, 3])
    assert result.total is None and result.severity is None
    assert result.missing_items == ("gad7_3",)
    assert "item 3 (gad7_3)" in result.reason and "no prorating" in result.reason
    assert not result.complete


def test_subscales_are_scored_when_their_own_items_are_answered():
    answers = [1] * 20
    answers[0] = None  # cluster B incomplete
    result = score("pcl5", answers)
    assert result.total is None
    assert result.subscales == {"B": None, "C": 2, "D": 7, "E": 6}


def test_hama_psychic_and_somatic_subscales():
    answers = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 4]
    result = score("hama", answers)
    assert result.subscales == {"psychic": 10, "somatic": 14}
    assert result.total == 24 and result.severity == "severe"


def test_pcl5_dsm_rule_needs_every_cluster():
    answers = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]
    assert "provisional_ptsd_dsm_rule" in score("pcl5", answers).flags
    answers[5] = 1  # no cluster C symptom rated >= 2
    assert "provisional_ptsd_dsm_rule" not in score("pcl5", answers).flags


def test_pdss_sr_reports_raw_sum_and_item_mean():
    result = score("pdss_sr", [2, 2, 2, 2, 2, 2, 1])
    assert result.total == 13 and result.mean == pytest.approx(13 / 7)
    assert result.severity == "moderately ill"
    assert score("pdss_sr", [2, 2, 2, 2, 2, 2, 1], band_set="with_agoraphobia").severity == "moderately ill"
    assert score("pdss_sr", [1, 1, 0, 0, 0, 0, 0], band_set="with_agoraphobia").severity == "normal"
    assert score("pdss_sr", [1, 1, 1, 0, 0, 0, 0], band_set="with_agoraphobia").severity == "borderline ill"


def test_aldrete_discharge_score_flag_at_9_with_full_respiration_and_spo2():
    assert "discharge_score_met" in score("aldrete", [2, 2, 2, 1, 2]).flags
    assert "discharge_score_met" not in score("aldrete", [2, 2, 2, 2, 1]).flags  # needs O2: not ready
    assert "discharge_score_met" not in score("aldrete", [2, 2, 2, 1, 1]).flags


def test_moaas_is_the_single_rating():
    assert score("moaas", [5]).total == 5
    with pytest.raises(InvalidValue) as err:
        score("moaas", [6])
    assert err.value.field == "item 1 (moaas_1)"


# C-SSRS screener: items 1, 2, 3, 4, 5, 6, 6b (1 = yes, 0 = no, None = not asked / unanswered)
CSSRS_CASES = [
    ([0, 0, None, None, None, 0, None], "none", False),
    ([1, 0, None, None, None, 0, None], "low", True),
    ([0, 1, 0, 0, 0, 0, None], "low", True),
    ([1, 1, 1, 0, 0, 0, None], "moderate", True),
    ([0, 0, None, None, None, 1, 0], "moderate", True),
    ([1, 1, 0, 1, 0, 0, None], "high", True),
    ([1, 1, 0, 0, 1, 0, None], "high", True),
    ([0, 0, None, None, None, 1, 1], "high", True),
    ([1, 1, 1, 1, 1, 1, 1], "high", True),
]


@pytest.mark.parametrize(("answers", "level", "flagged"), CSSRS_CASES)
def test_cssrs_risk_levels(answers, level, flagged):
    result = score("cssrs_screen", answers)
    assert result.derived["risk_level"] == level
    assert result.severity == level
    assert ("suicide_risk" in result.flags) == flagged
    assert result.total is None


def test_cssrs_skipped_items_are_not_missing():
    result = score("cssrs_screen", [0, 0, None, None, None, 0, None])
    assert result.complete and result.reason is None


def test_cssrs_level_is_refused_when_a_missing_item_could_change_it():
    result = score("cssrs_screen", [1, 1, None, 0, 0, 0, None])  # item 3 asked but unanswered
    assert result.derived["risk_level"] is None
    assert "item 3 (cssrs_3)" in result.reason
    assert "suicide_risk" in result.flags


def test_cssrs_level_is_given_when_no_missing_answer_could_change_it():
    result = score("cssrs_screen", [1, 1, None, 1, 0, 0, None])  # item 4 yes: high whatever item 3 is
    assert result.derived["risk_level"] == "high"


@pytest.mark.parametrize("bad", [4, -1, 1.5, "2", True, float("inf")])
def test_a_value_the_item_does_not_allow_is_refused_naming_the_item(bad):
    answers: list = [0, 1, bad, 0, 0, 0, 0]
    with pytest.raises(InvalidValue) as err:
        score("gad7", answers)
    assert err.value.field == "item 3 (gad7_3)"


def test_too_few_answers_are_refused_naming_the_first_item_without_an_answer():
    with pytest.raises(InvalidValue) as err:
        score("gad7", [0, 1, 2, 3, 0, 1])
    assert err.value.field == "item 7 (gad7_7)"
    assert "7 items" in err.value.message


def test_too_many_answers_are_refused():
    with pytest.raises(InvalidValue) as err:
        score("gad7", [0] * 8)
    assert err.value.field == "answers" and "answer 8 has no item" in err.value.message


def test_answers_by_item_id():
    result = score("gad7", {"gad7_1": 3, "gad7_2": 3, "gad7_3": 3, "gad7_4": 3, "gad7_5": 3, "gad7_6": 3})
    assert result.total is None and result.missing_items == ("gad7_7",)
    with pytest.raises(InvalidValue) as err:
        score("gad7", {"gad7_8": 1})
    assert err.value.field == "item gad7_8"


def test_parse_answer_text_marks_empty_places_missing():
    assert parse_answer_text("gad7", "1, 2,,3") == [1, 2, None, 3]
    with pytest.raises(InvalidValue) as err:
        parse_answer_text("gad7", "1,x")
    assert err.value.field == "item 2 (gad7_2)"


def test_unknown_band_set_is_refused():
    with pytest.raises(InvalidValue):
        score("gad7", [0] * 7, band_set="nope")


# --- issue 11, point 7 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [3, 4, 5])
def test_cssrs_yes_to_items_3_to_5_after_no_to_item_2_is_refused_naming_the_item(k):
    answers = [1, 0, None, None, None, 0, None]
    answers[k - 1] = 1
    with pytest.raises(InvalidValue) as err:
        score("cssrs_screen", answers)
    assert err.value.field == f"item {k} (cssrs_{k})"
    assert "item 2 (cssrs_2)" in err.value.message and "only" in err.value.message


def test_cssrs_yes_to_6b_after_no_to_item_6_is_refused():
    with pytest.raises(InvalidValue) as err:
        score("cssrs_screen", [0, 0, None, None, None, 0, 1])
    assert err.value.field == "item 7 (cssrs_6b)"


def test_cssrs_no_to_an_item_that_was_not_asked_reads_as_not_asked():
    result = score("cssrs_screen", [1, 0, 0, 0, 0, 0, 0])
    assert result.derived["risk_level"] == "low" and result.complete


def test_pdss_sr_formal_assessment_from_8_per_shear_2001():
    inst = load_instrument("pdss_sr")
    assert "formal_assessment_suggested" in score("pdss_sr", answers_with_total(inst, 8)).flags
    assert "formal_assessment_suggested" not in score("pdss_sr", answers_with_total(inst, 7)).flags
    flag = next(f for f in inst.flags if f.id == "formal_assessment_suggested")
    assert plain(flag.source) == "Shear 2001"


@pytest.mark.parametrize(
    ("total", "label"),
    [(0, "none or minimal"), (7, "none or minimal"), (8, "mild"), (14, "mild"), (15, "moderate"),
     (23, "moderate"), (24, "severe"), (56, "severe")],
)
def test_hama_default_bands_are_matza_2010_and_zero_is_not_mild(total, label):
    assert score("hama", answers_with_total(load_instrument("hama"), total)).severity == label
