"""Side-effect records and the clinic-defined rescue formulary (no built-in doses)."""

from __future__ import annotations

import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.side_effects import (
    RescueGiven,
    SideEffect,
    SideEffectType,
    check_rescue_dose,
    grade_label,
    grading_scale,
    load_formulary,
    side_effect_types,
)
from ketacare.domain.sources import plain

ONDANSETRON_CLINIC = {
    "id": "ondansetron", "enabled": True, "max_single_dose_mg": 4, "max_doses_per_session": 2,
    "max_total_mg_per_session": 8, "defined_by": "Dr Okafor, medical director, order set 2026-03",
}  # fmt: skip


def test_side_effect_types_and_grades():
    assert {t.value for t in SideEffectType} == set(side_effect_types())
    assert [grade_label(g) for g in range(1, 6)] == [
        "mild",
        "moderate",
        "severe",
        "life-threatening",
        "death",
    ]
    assert "CTCAE v5.0" in plain(grading_scale()["source"])
    e = SideEffect(SideEffectType.NAUSEA, 2, onset_min=25, resolved_min=50)
    assert e.grade_label == "moderate" and e.resolved
    assert SideEffect("dissociation", 1, onset_min=10).type is SideEffectType.DISSOCIATION


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"type": "nausea", "grade": 0, "onset_min": 1}, "grade"),
        ({"type": "nausea", "grade": 6, "onset_min": 1}, "grade"),
        ({"type": "nausea", "grade": 2.5, "onset_min": 1}, "grade"),
        ({"type": "itching", "grade": 1, "onset_min": 1}, "type"),
        ({"type": "other", "grade": 1, "onset_min": 1}, "description"),
        ({"type": "nausea", "grade": 1, "onset_min": 10, "resolved_min": 5}, "resolved_min"),
    ],
)
def test_side_effect_refusals(kwargs, field):
    with pytest.raises(InvalidValue) as exc:
        SideEffect(**kwargs)
    assert exc.value.field == field


def test_shipped_formulary_has_no_enabled_entries_and_no_doses():
    formulary = load_formulary()
    assert formulary  # templates name the drugs from pack 5.3
    for entry in formulary.values():
        assert not entry.enabled
        assert entry.max_single_dose_mg is None and entry.max_total_mg_per_session is None
        assert entry.max_doses_per_session is None
    with pytest.raises(InvalidValue, match="no clinic-defined dose limits"):
        check_rescue_dose(formulary, RescueGiven("ondansetron", 4, "iv", "nausea", 30, "RN Lee"))


def test_clinic_limits_are_enforced():
    f = load_formulary([ONDANSETRON_CLINIC])
    first = RescueGiven("ondansetron", 4, "iv", "nausea", 30, "RN Lee")
    assert check_rescue_dose(f, first) is first
    with pytest.raises(InvalidValue, match="single-dose limit of 4 mg"):
        check_rescue_dose(f, RescueGiven("ondansetron", 8, "iv", "nausea", 30, "RN Lee"))
    with pytest.raises(InvalidValue, match="route"):
        check_rescue_dose(f, RescueGiven("ondansetron", 4, "im", "nausea", 30, "RN Lee"))
    with pytest.raises(InvalidValue, match="not set up for headache"):
        check_rescue_dose(f, RescueGiven("ondansetron", 4, "iv", "headache", 30, "RN Lee"))
    second = RescueGiven("ondansetron", 4, "po", "vomiting", 60, "RN Lee")
    assert check_rescue_dose(f, second, [first])
    with pytest.raises(InvalidValue, match="limit 2"):
        check_rescue_dose(f, RescueGiven("ondansetron", 2, "iv", "nausea", 90, "RN Lee"), [first, second])
    tight = load_formulary([{**ONDANSETRON_CLINIC, "max_total_mg_per_session": 6}])
    with pytest.raises(InvalidValue, match="exceed the limit of 6 mg"):
        check_rescue_dose(tight, second, [first])
    with pytest.raises(InvalidValue, match="not in the clinic's rescue formulary"):
        check_rescue_dose(f, RescueGiven("haloperidol", 1, "iv", "anxiety_agitation", 30, "RN Lee"))


@pytest.mark.parametrize(
    "entry,field",
    [
        ({**ONDANSETRON_CLINIC, "defined_by": ""}, "formulary[0].defined_by"),
        ({**ONDANSETRON_CLINIC, "max_single_dose_mg": None}, "formulary[0].max_single_dose_mg"),
        ({**ONDANSETRON_CLINIC, "max_single_dose_mg": -1}, "formulary[0].max_single_dose_mg"),
        ({**ONDANSETRON_CLINIC, "max_doses_per_session": 0}, "formulary[0].max_doses_per_session"),
        ({"id": "newdrug", "enabled": False}, "formulary[0]"),
        ({**ONDANSETRON_CLINIC, "indications": ["hiccups"]}, "formulary[0].indications"),
    ],
)
def test_clinic_entry_validation(entry, field):
    with pytest.raises(InvalidValue) as exc:
        load_formulary([entry])
    assert exc.value.field == field


def test_a_clinic_entry_names_every_refused_field_at_once_and_stores_limits_in_mg():
    from ketacare.domain.errors import InvalidValues
    from ketacare.domain.sessions.side_effects import clinic_entry

    ok = dict(entry_id="1", drug="clonidine", route="po", indications=["raised_bp"], dose_min=75, dose_max=150,
              dose_unit="microgram", max_doses_per_session=1, max_total_per_session=None,
              approved_by="Dr Okafor", source="Clinic protocol v3")  # fmt: skip
    e = clinic_entry(**ok)
    assert (e.min_single_dose_mg, e.max_single_dose_mg, e.routes, e.enabled) == (0.075, 0.15, ("po",), True)
    given = RescueGiven("1", 0.2, "po", "raised_bp", 30, "RN Lee")
    with pytest.raises(InvalidValue, match="above the clinic's single-dose limit of 0.15 mg"):
        check_rescue_dose({"1": e}, given)
    with pytest.raises(InvalidValue, match="below the clinic's dose range"):
        check_rescue_dose({"1": e}, RescueGiven("1", 0.05, "po", "raised_bp", 30, "RN Lee"))
    with pytest.raises(InvalidValues) as exc:
        clinic_entry(**{**ok, "drug": "", "dose_unit": "", "dose_min": 200, "approved_by": " ", "source": ""})
    assert exc.value.errors == {
        "drug": "name the drug",
        "dose_unit": "choose the dose unit: mg or microgram",
        "dose_max": "the highest dose must be at least the lowest dose",
        "approved_by": "say who approved this entry (name and role)",
        "source": "give the source: a citation, the clinic's protocol or a bibliography key",
    }
