"""Outcome definitions agree with the instrument catalogue and carry a source for every value."""

from __future__ import annotations

import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import load_instrument
from ketacare.domain.outcomes import shipped, wilson, with_primary_instruments
from ketacare.domain.sources import bibliography, labels


def test_rules_agree_with_the_instrument_files_where_both_define_them():
    for iid, rules in shipped().instruments.items():
        catalogue = {o.id: o for o in load_instrument(iid).outcomes}
        for name in ("response", "remission"):
            if name in catalogue:
                o, r = catalogue[name], getattr(rules, name)
                assert (o.on, o.op, float(o.value)) == (r.on, r.op, r.value), f"{iid}.{name}"


def test_every_value_has_a_known_source_and_clinic_defaults_are_labelled_unverified():
    keys = set(bibliography()) | set(labels())
    for iid, r in shipped().instruments.items():
        for src in (r.response.source, r.remission.source, r.reliability_source, r.mcic_source or "clinic-default"):
            for key in src.split(", "):
                assert key == "clinic-default" or key in keys, (iid, key)
        if r.reliability_source == "clinic-default":
            assert any("eliability" in u for u in r.unverified), iid


def test_documented_cut_offs():
    d = shipped()
    assert d.instruments["hama"].remission.describe() == "total 7 or less"
    assert d.instruments["gad7"].remission.describe() == "total below 5"
    assert d.instruments["pdss_sr"].response.value == 40  # Furukawa 2009
    assert d.instruments["gad7"].mcic_points == 4  # Toussaint 2020


def test_the_clinic_chooses_the_primary_instrument_per_diagnosis():
    d = with_primary_instruments(shipped(), {"gad": "hama", "default": "oasis"})
    assert d.primary_instrument("gad") == "hama"
    assert d.primary_instrument("ocd") == "oasis"
    assert d.primary_instrument("ptsd") == "pcl5"
    with pytest.raises(InvalidValue) as e:
        with_primary_instruments(shipped(), {"gad": "cadss"})
    assert e.value.field == "outcome_primary_instruments.gad"


def test_dose_bands_cover_every_dose_once():
    d = shipped()
    assert d.dose_band(0.5).id == "0_5"
    assert d.dose_band(0.4999).id == "lt_0_5"
    assert d.dose_band(1.0).id == "ge_1"
    assert d.dose_band(None) is None


def test_wilson_interval_known_values():
    r = wilson(5, 10)
    assert (round(r.low, 4), round(r.high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 0).proportion is None
    z = wilson(0, 20)
    assert z.low == 0.0 and 0.15 < z.high < 0.17
