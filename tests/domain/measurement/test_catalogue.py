"""Shipped instrument definitions load, carry sources, and hold only codes the knowledge pack verified."""

from __future__ import annotations

import copy

import pytest

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.catalogue import (
    DATA_PACKAGE,
    all_instruments,
    instrument_ids,
    load_instrument,
    loinc_check_digit,
    parse_definition,
)
from ketacare.domain.sources import bibliography

EXPECTED = {
    "gad7": (7, 0, 21, "patient"),
    "phq9": (9, 0, 27, "patient"),
    "oasis": (5, 0, 20, "patient"),
    "pcl5": (20, 0, 80, "patient"),
    "mini_spin": (3, 0, 12, "patient"),
    "pdss_sr": (7, 0, 28, "patient"),
    "hama": (14, 0, 56, "clinician"),
    "cadss": (23, 0, 92, "clinician"),
    "cadss6": (6, 0, 24, "clinician"),
    "moaas": (1, 0, 5, "clinician"),
    "cssrs_screen": (7, 0, 7, "clinician"),
    "aldrete": (5, 0, 10, "clinician"),
    "audit_c": (3, 0, 12, "patient"),
    "puf": (1, 0, 35, "clinician"),
}

# Every LOINC code shipped, by instrument. Only codes the knowledge pack marks verified (sections 6, 8.4, 13).
VERIFIED_LOINC = {
    "gad7": {
        "69737-5",
        "70274-6",
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    },
    "phq9": {
        "44249-1",
        "44261-6",
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    },
    "pcl5": {"101697-1", "101698-9"},
    "cssrs_screen": {
        "93373-9",
        "93374-7",
        "93246-7",
        "93247-5",
        "93248-3",
        "93249-1",
        "93250-9",
        "93267-3",
        "93269-9",
    },
}
TEXT_ALLOWED = {"gad7", "phq9", "pcl5", "oasis", "cssrs_screen", "aldrete", "audit_c"}


def _codes(instrument) -> set[str]:
    codes = {c for k, c in instrument.loinc.items() if k in ("panel", "total")}
    codes |= set(instrument.loinc.get("derived", {}).values())
    codes |= {item.loinc for item in instrument.items if item.loinc}
    return codes


def test_every_instrument_in_the_brief_is_shipped():
    assert set(instrument_ids()) == set(EXPECTED)


@pytest.mark.parametrize("iid", sorted(EXPECTED))
def test_structure_matches_the_knowledge_pack(iid):
    inst = load_instrument(iid)
    n, lo, hi, rater = EXPECTED[iid]
    assert (inst.n_items, inst.min_total, inst.max_total, inst.rater) == (n, lo, hi, rater)
    assert inst.sources and all(s in bibliography() for s in inst.sources)
    assert inst.missing_rule == "refuse" and inst.missing_note


@pytest.mark.parametrize("iid", sorted(EXPECTED))
def test_only_verified_loinc_codes_are_shipped(iid):
    assert _codes(load_instrument(iid)) == VERIFIED_LOINC.get(iid, set())


def test_pcl5_never_carries_the_wrong_promis_code():
    assert "71969-0" not in _codes(load_instrument("pcl5"))


@pytest.mark.parametrize("iid", sorted(EXPECTED))
def test_item_wording_is_shipped_only_where_the_licence_allows(iid):
    inst = load_instrument(iid)
    has_text = any(item.text for item in inst.items)
    assert has_text == (iid in TEXT_ALLOWED)


def test_loinc_check_digits():
    assert loinc_check_digit("69737") == 5
    assert loinc_check_digit("101697") == 1
    assert loinc_check_digit("93374") == 7


def test_pcl5_clusters_are_the_dsm5_clusters():
    inst = load_instrument("pcl5")
    clusters = {s.id: [int(i.split("_")[1]) for i in s.items] for s in inst.subscales}
    assert clusters == {"B": [1, 2, 3, 4, 5], "C": [6, 7], "D": list(range(8, 15)), "E": list(range(15, 21))}


def test_cadss6_items_come_from_the_full_scale():
    assert [i.source_item for i in load_instrument("cadss6").items] == [1, 2, 6, 7, 15, 22]


def test_unknown_instrument_is_refused():
    with pytest.raises(InvalidValue) as err:
        load_instrument("gad8")
    assert err.value.field == "instrument"


def _raw(iid):
    return copy.deepcopy(load_toml(DATA_PACKAGE, f"{iid}.toml"))


def test_overlapping_bands_are_refused():
    raw = _raw("gad7")
    raw["band_sets"][0]["bands"][1]["min"] = 4
    with pytest.raises(ValueError, match="tile"):
        parse_definition(raw)


def test_a_mistyped_loinc_code_is_refused():
    raw = _raw("gad7")
    raw["loinc"]["total"] = "70274-7"
    with pytest.raises(ValueError, match="check digit"):
        parse_definition(raw)


def test_a_flag_on_an_unknown_item_is_refused():
    raw = _raw("phq9")
    raw["flags"][0]["when"]["on"] = "phq9_10"
    with pytest.raises(ValueError, match="unknown item"):
        parse_definition(raw)


def test_item_text_on_a_licensed_instrument_is_refused():
    raw = _raw("mini_spin")
    raw["items"][0]["text"] = "some wording"
    with pytest.raises(ValueError, match="licence"):
        parse_definition(raw)


def test_definitions_are_all_loadable_together():
    assert len(all_instruments()) == len(EXPECTED)
