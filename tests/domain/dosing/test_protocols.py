"""The protocol library: every protocol loads, every number has a source, soft limits sit inside hard ones."""

import math
import re
from importlib import resources

import pytest

from ketacare.domain.dosing.protocol import all_protocols, load_protocol, protocol_ids
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sources import plain

UNSOURCED = "clinic-default"
EXPECTED = {"iv-standard", "iv-slow", "sc-ascending", "im", "oral", "sublingual", "esketamine-in"}


def test_library_holds_the_seven_protocols():
    assert set(protocol_ids()) == EXPECTED


def test_unknown_protocol_is_refused():
    with pytest.raises(InvalidValue) as exc:
        load_protocol("iv-fast")
    assert exc.value.field == "protocol"


@pytest.mark.parametrize("protocol", all_protocols(), ids=lambda p: p.id)
def test_every_limit_has_a_source_and_a_note(protocol):
    assert protocol.limits
    for lim in protocol.limits:
        assert lim.source.strip() and lim.note.strip()
    for table in ("dose", "administration"):
        assert protocol.raw[table]["source"].strip()
    if "rounding" in protocol.raw:
        assert protocol.raw["rounding"]["source"].strip() and protocol.raw["rounding"]["note"].strip()


@pytest.mark.parametrize("protocol", all_protocols(), ids=lambda p: p.id)
def test_soft_limits_sit_inside_hard_limits(protocol):
    for kind in {lim.kind for lim in protocol.limits}:
        soft, hard = protocol.limit(kind, "soft"), protocol.limit(kind, "hard")
        if soft and hard:
            assert soft.value <= hard.value if soft.is_max else soft.value >= hard.value


@pytest.mark.parametrize("protocol", all_protocols(), ids=lambda p: p.id)
def test_every_protocol_has_a_hard_dose_ceiling_and_schedule_limits(protocol):
    assert protocol.limit("dose_mg_max", "hard") is not None
    assert protocol.limit("sessions_per_week_max", "hard") is not None
    assert protocol.limit("interval_h_min", "hard") is not None


@pytest.mark.parametrize(
    "protocol", [p for p in all_protocols() if p.vial_strengths_mg_per_ml], ids=lambda p: p.id
)
def test_dose_grid_is_drawable_with_every_stocked_strength(protocol):
    assert protocol.default_vial_strength_mg_per_ml in protocol.vial_strengths_mg_per_ml
    for strength in protocol.vial_strengths_mg_per_ml:
        syringe = strength * protocol.draw_volume_ml_step
        big, small = max(syringe, protocol.dose_mg_step), min(syringe, protocol.dose_mg_step)
        assert math.isclose(round(big / small), big / small, abs_tol=1e-9)


def test_iv_standard_numbers_from_the_pack():
    p = load_protocol("iv-standard")
    assert (p.route, p.dosing, p.default_mg_per_kg, p.duration_min) == ("iv", "weight", 0.5, 40)
    assert p.raw["dose"]["studied_range"] == {
        **p.raw["dose"]["studied_range"],
        "min_mg_per_kg": 0.1,
        "max_mg_per_kg": 1.0,
    }
    assert p.limit("mg_per_kg_max", "hard").value == 1.0
    assert "Fava 2020" in plain(p.limit("mg_per_kg_max", "hard").source)
    assert p.final_volume_ml == 100.0 and 10.0 in p.vial_strengths_mg_per_ml


def test_iv_slow_is_100_minutes_and_sc_steps_are_weekly():
    assert load_protocol("iv-slow").duration_min == 100
    sc = load_protocol("sc-ascending").raw["dose"]
    assert sc["steps_mg_per_kg"] == [0.25, 0.5, 1.0] and sc["step_interval_days"] == 7


def test_oral_and_sublingual_carry_bioavailability_from_the_pack():
    assert load_protocol("oral").bioavailability == 0.2
    assert load_protocol("sublingual").bioavailability == 0.29
    assert "Rolan 2014" in plain(load_protocol("sublingual").raw["dose"]["bioavailability"]["source"])


def test_esketamine_fixed_doses_devices_and_age_rule():
    p = load_protocol("esketamine-in")
    assert p.dosing == "fixed" and p.allowed_mg == (28.0, 56.0, 84.0) and p.device_mg == 28.0
    assert p.limit("dose_mg_max", "hard").value == 84.0
    assert p.raw["age_rule"]["older_adult_min_age_years"] == 65
    assert [s["sessions_per_week"] for s in p.raw["schedule"]] == [2, 1, 1]


def test_unsourced_numbers_are_labelled_clinic_configurable():
    im = load_protocol("im")
    assert im.raw["dose"]["source"] == UNSOURCED
    assert im.limit("mg_per_kg_max", "hard").source == UNSOURCED
    assert load_protocol("iv-standard").limit("dose_mg_max", "hard").source == UNSOURCED


@pytest.mark.parametrize("protocol", all_protocols(), ids=lambda p: p.id)
def test_the_header_comment_states_the_protocols_own_duration(protocol):
    """Issue 11 point 12: iv-slow.toml's header said 'over 40 min' for a 100-min infusion."""

    text = resources.files("ketacare.domain.dosing.protocols").joinpath(f"{protocol.id}.toml").read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    said = re.search(r"over (\d+) min", header)
    if said:
        assert float(said.group(1)) == protocol.duration_min


def test_iv_protocols_stock_the_three_marketed_strengths():
    for pid in ("iv-standard", "iv-slow"):
        assert set(load_protocol(pid).vial_strengths_mg_per_ml) == {10.0, 50.0, 100.0}
