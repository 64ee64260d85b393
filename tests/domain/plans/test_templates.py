"""Plan templates as data (issue 16, item 2): every template loads, each number has a known source, each names a
protocol of the library, the schedules match their sources (esketamine label, Feder 2021), and a broken file is
refused loudly."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

import ketacare
from ketacare.domain.dosing.protocol import load_protocol, protocol_ids
from ketacare.domain.plans import DataFileError, parse_plan_template, plan_templates
from ketacare.domain.sources import known, plain, source_keys

DATA = Path(ketacare.__file__).parent / "domain/plans/data/plan_templates"
EXPECTED = {"iv-induction", "sc-ascending", "esketamine-label", "oral-maintenance", "sublingual-maintenance",
            "ptsd-iv-therapy"}


def _raw(template_id: str) -> dict:
    return tomllib.loads((DATA / f"{template_id}.toml").read_text())


def _tables(node, path=""):
    """Yield (path, table) for every table of a parsed TOML document."""
    if isinstance(node, dict):
        yield path or "top", node
        for k, v in node.items():
            yield from _tables(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _tables(v, f"{path}[{i}]")


def test_every_template_file_loads():
    assert set(plan_templates()) == EXPECTED
    assert {p.stem for p in DATA.glob("*.toml")} == EXPECTED


@pytest.mark.parametrize("template_id", sorted(EXPECTED))
def test_every_number_has_a_known_source(template_id):
    unsourced = []
    for where, table in _tables(_raw(template_id)):
        numbers = [k for k, v in table.items() if isinstance(v, int | float) and not isinstance(v, bool)]
        numbers += [k for k, v in table.items() if isinstance(v, list) and any(isinstance(x, int | float) for x in v)]
        if numbers:
            keys = source_keys(table.get("source", ""))
            if not keys or not all(known(k) for k in keys):
                unsourced.append(f"{where}: {', '.join(numbers)}")
    assert unsourced == []


@pytest.mark.parametrize("template_id", sorted(EXPECTED))
def test_each_template_uses_a_protocol_of_the_library(template_id):
    t = plan_templates()[template_id]
    assert t.protocol in protocol_ids()
    assert load_protocol(t.protocol).id == t.protocol


@pytest.mark.parametrize("template_id", sorted(EXPECTED))
def test_each_template_has_reviews_stop_rules_and_an_assessment_before_each_session_and_at_24_hours(template_id):
    t = plan_templates()[template_id]
    assert {s.kind for s in t.stop_rules} == {"no-response", "intolerable", "patient-choice"}
    assert all(s.after_sessions for s in t.stop_rules if s.kind == "no-response")
    assert any(r.week == 8 for r in t.reviews), "a review at about 8 weeks"
    assert t.assessments.before_each_session and 24.0 in t.assessments.after_hours
    assert any(p.kind == "maintenance" and p.spaces_out_to_days for p in t.phases), "maintenance that spaces out"
    for p in t.phases:
        if p.spaces_out_to_days:
            assert p.spaces_out_to_days > p.interval_days


def test_iv_induction_is_six_infusions_over_two_to_three_weeks():
    t = plan_templates()["iv-induction"]
    induction = t.phase("induction")
    assert induction.sessions == 6
    assert 2 <= induction.sessions / induction.sessions_per_week <= 3  # weeks
    assert any(r.after_phase == "induction" for r in t.reviews), "re-evaluated at the end of induction"
    assert "singh2016" in t.evidence  # twice weekly worked about as well


def test_esketamine_follows_the_label_schedule():
    t = plan_templates()["esketamine-label"]
    assert t.protocol == "esketamine-in"
    induction, weekly, later = t.phases
    # weeks 1-4 twice weekly, weeks 5-8 weekly, then weekly or every two weeks
    assert (induction.sessions, induction.sessions_per_week, induction.weeks) == (8, 2, 4)
    assert (weekly.sessions, weekly.interval_days, weekly.weeks) == (4, 7, 4)
    assert (later.interval_days, later.spaces_out_to_days, later.sessions) == (7, 14, None)
    assert all(p.source == "spravato-label" for p in t.phases)
    assert {r.week for r in t.reviews} == {4, 8}
    assert t.off_label


def test_ptsd_course_follows_feder_2021_and_says_abdallah_2022_was_negative():
    t = plan_templates()["ptsd-iv-therapy"]
    assert t.protocol == "iv-standard" and load_protocol("iv-standard").default_mg_per_kg == 0.5
    induction = t.induction
    assert (induction.sessions, induction.weeks, induction.sessions_per_week) == (6, 2, 3)
    assert induction.source == "feder2021"
    evidence = plain(t.evidence)
    assert "Feder 2021" in evidence and "Abdallah 2022" in evidence
    assert "was positive" in t.evidence and "was negative" in t.evidence
    assert "8 infusions" in t.evidence.replace("eight infusions", "8 infusions")
    assert t.therapy is not None and "trauma" in t.therapy.modality
    assert t.assessments.primary == "pcl5"


def test_sc_course_steps_weekly_through_the_glue_doses():
    t = plan_templates()["sc-ascending"]
    steps = load_protocol("sc-ascending").raw["dose"]["steps_mg_per_kg"]
    assert t.induction.sessions == len(steps) == 3 and t.induction.interval_days == 7
    assert t.phase("maintenance").responders_only and t.phase("maintenance").source == "glue2018"


def test_no_template_text_names_an_internal_note():
    for t in plan_templates().values():
        for text in (t.summary, t.evidence, *(p.note for p in t.phases), *(r.text for r in t.reviews)):
            assert "[S" not in text and "KNOWLEDGE" not in text


def test_a_number_without_a_source_is_refused():
    raw = copy.deepcopy(_raw("iv-induction"))
    del raw["phase"][0]["source"]
    with pytest.raises(DataFileError, match="needs `source`"):
        parse_plan_template(raw)


def test_an_unknown_source_key_is_refused():
    raw = copy.deepcopy(_raw("iv-induction"))
    raw["phase"][0]["source"] = "murrough2013, nobody2099"
    with pytest.raises(DataFileError, match="nobody2099"):
        parse_plan_template(raw)


def test_an_unknown_protocol_is_refused():
    raw = copy.deepcopy(_raw("iv-induction"))
    raw["protocol"] = "iv-turbo"
    with pytest.raises(DataFileError, match="unknown protocol 'iv-turbo'"):
        parse_plan_template(raw)


def test_a_template_without_a_stop_rule_for_patient_choice_is_refused():
    raw = copy.deepcopy(_raw("iv-induction"))
    raw["stop"] = [s for s in raw["stop"] if s["kind"] != "patient-choice"]
    with pytest.raises(DataFileError, match="patient-choice"):
        parse_plan_template(raw)
