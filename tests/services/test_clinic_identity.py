"""Who the clinic is on printed records (issue 12 point 8): the clinic's settings in the database first, then the
KETACARE_CLINIC_* settings; a demo database says it holds synthetic patients."""

from __future__ import annotations

from ketacare.config import Settings
from ketacare.services import clinic


def test_the_database_settings_come_first_then_the_environment(db):
    env = Settings(clinic_name="Harbour Clinic", clinic_address="1 Quay St; Port Town", clinic_phone="555 0100")
    who = clinic.clinic_identity(db, env)
    assert (who.name, who.address, who.phone) == ("Harbour Clinic", "1 Quay St; Port Town", "555 0100")
    assert who.timezone == "UTC"
    clinic.set_meta(db, "clinic_name", "Lakeside Ketamine Clinic")
    clinic.set_meta(db, "clinic_timezone", "Europe/Berlin")
    who = clinic.clinic_identity(db, env)
    assert (who.name, who.address) == ("Lakeside Ketamine Clinic", "1 Quay St; Port Town")
    assert who.timezone == "Europe/Berlin"


def test_a_demo_database_is_labelled_as_synthetic(db):
    clinic.set_meta(db, "demo", "true")
    who = clinic.clinic_identity(db, Settings())
    assert who.demo and who.name == "Ketacare demo clinic" and "Synthetic patients only" in who.address
