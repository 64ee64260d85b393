"""Clinic settings through the services (issue 13), on SQLite and PostgreSQL: the environment seeds a new clinic,
the database wins once saved, every save is a new version with who/when/why, only administrators change them,
thresholds stay within their bounds, and the settings reach the alert engine, dosing and reminders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ketacare.config import Settings
from ketacare.domain.errors import InvalidValue
from ketacare.services import clinic
from ketacare.services.errors import Conflict, Forbidden
from ketacare.services.sessions.alerts import alert_rules
from ketacare.store.tables import AuditEvent

CLINIC = dict(
    name="Lakeside Clinic (test)",
    address="1 Lake Road",
    timezone="Europe/Berlin",
    phone="+49 30 1234 5678",
    crisis_lines=[dict(country="Germany", name="Emergency services", number="112", when="In immediate danger.")],
    weight_unit="kg",
    height_unit="cm",
    assessment_plan="monthly",
)


def _save(personas, who="admin", base=0, reason="Opening the clinic", **over):
    data = clinic.ClinicSettingsUpdate(**{**CLINIC, **over}, base_version=base, reason=reason)
    return clinic.save(db=personas.db, actor=personas[who], data=data)


def test_a_new_clinic_runs_on_the_environment_until_it_saves_its_own(personas):
    seeded = clinic.current(personas.db, Settings(timezone="America/New_York", weight_unit="lb"))
    assert seeded.version == 0 and seeded.timezone == "America/New_York" and seeded.weight_unit == "lb"
    assert all(line.href == f"tel:{line.number}" for line in seeded.crisis_lines)  # 988, 911, 112: as named
    _save(personas)
    saved = clinic.current(personas.db, Settings(timezone="America/New_York", weight_unit="lb"))
    assert saved.version == 1 and saved.timezone == "Europe/Berlin" and saved.weight_unit == "kg"  # DB wins


def test_each_save_is_a_new_version_with_who_when_and_why(personas):
    first = _save(personas)
    second = _save(personas, base=1, reason="Moved to Munich", address="2 Isar Street")
    assert (first.version, second.version) == (1, 2)
    history = clinic.history(db=personas.db, actor=personas["admin"])
    assert [v.version for v in history] == [2, 1]
    assert history[0].reason == "Moved to Munich" and history[0].address == "2 Isar Street"
    assert history[1].address == "1 Lake Road"  # the old version is kept as it was
    assert history[0].changed_by_name and history[0].changed_at is not None
    with personas.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "clinic_settings")).all()
    updates = [e for e in ev if e.action == "update"]
    assert [e.reason for e in updates] == ["Opening the clinic", "Moved to Munich"]


def test_a_stale_edit_is_refused(personas):
    _save(personas)
    with pytest.raises(Conflict):
        _save(personas, base=0, reason="Someone else's edit")


@pytest.mark.parametrize("who", ["nurse", "prescriber", "therapist", "frontdesk", "patient_a"])
def test_only_administrators_change_the_settings(personas, who):
    with pytest.raises(Forbidden):
        _save(personas, who=who)


def test_a_reason_is_required_and_bad_values_are_refused_naming_the_field(personas):
    with pytest.raises(ValidationError) as e:
        clinic.ClinicSettingsUpdate(**CLINIC, base_version=0, reason="")
    assert "reason" in str(e.value)
    with pytest.raises(ValidationError) as e:
        clinic.ClinicSettingsUpdate(**{**CLINIC, "timezone": "Mars/Olympus"}, base_version=0, reason="x")
    assert "unknown time zone" in str(e.value)
    with pytest.raises(ValidationError):
        clinic.ClinicSettingsUpdate(**{**CLINIC, "crisis_lines": []}, base_version=0, reason="x")
    with pytest.raises(InvalidValue) as iv:
        _save(personas, alert_thresholds={"spo2_low.spo2": 80.0}, assessment_plan="nonsense")
    assert set(iv.value.errors) == {"threshold.spo2_low.spo2", "assessment_plan"}  # type: ignore[attr-defined]
    assert clinic.current(personas.db).version == 0  # nothing stored


def test_the_clinics_thresholds_reach_the_alert_engine(personas):
    _save(personas, alert_thresholds={"spo2_low.spo2": 93.0, "hr_low.hr": 50.0})  # 50 is the shipped value
    assert clinic.current(personas.db).alert_thresholds == {"spo2_low.spo2": 93.0}  # only real changes kept
    with personas.db.session() as s:
        rules = {r.id: r for r in alert_rules(s)}
    assert rules["spo2_low"].conditions[0].value == 93.0 and rules["spo2_low"].clinic_override
    assert {r.id: r for r in alert_rules()}["spo2_low"].conditions[0].value == 92.0  # shipped default


def test_the_clinics_weight_policy_reaches_dosing(personas):
    _save(personas, weight_bmi_threshold=35.0, weight_basis_at_or_above="adjusted")
    policy = clinic.weight_policy(personas.db)
    assert (policy.bmi_threshold, policy.basis_at_or_above) == (35.0, "adjusted")
    with pytest.raises(InvalidValue):
        _save(personas, base=1, weight_bmi_threshold=50.0)
