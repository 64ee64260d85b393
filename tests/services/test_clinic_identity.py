"""Who the clinic is on printed records (issue 12 point 8): the clinic settings in force (issue 13) once saved,
before that the KETACARE_CLINIC_* settings; a demo database says it holds synthetic patients."""

from __future__ import annotations

from ketacare.config import Settings
from ketacare.services import clinic

LINE = dict(country="Germany", name="Emergency services", number="112", when="In immediate danger.")


def test_the_saved_settings_come_first_then_the_environment(personas):
    db = personas.db
    env = Settings(clinic_name="Harbour Clinic", clinic_address="1 Quay St; Port Town", clinic_phone="555 0100")
    who = clinic.clinic_identity(db, env)
    assert (who.name, who.address, who.phone, who.timezone) == (
        "Harbour Clinic", "1 Quay St; Port Town", "555 0100", "UTC")
    data = clinic.ClinicSettingsUpdate(name="Lakeside Ketamine Clinic", address="1 Lake Road", timezone="Europe/Berlin",
                                       phone="+49 30 1234", crisis_lines=[LINE], base_version=0, reason="Opening")
    clinic.save(db=db, actor=personas["admin"], data=data)
    who = clinic.clinic_identity(db, env)
    assert (who.name, who.address, who.timezone) == ("Lakeside Ketamine Clinic", "1 Lake Road", "Europe/Berlin")


def test_a_demo_database_is_labelled_as_synthetic(db):
    clinic.set_meta(db, "demo", "true")
    who = clinic.clinic_identity(db, Settings())
    assert who.demo and "Synthetic patients only" in who.address
