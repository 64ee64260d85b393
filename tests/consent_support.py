"""A signed, countersigned consent for a test patient, through the services (tests of other capabilities whose
sessions must pass their pre-checks use it)."""

from __future__ import annotations

from ketacare.services.plans import consent
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn
from tests.conftest import PASSWORD, Personas


def sign_in(personas: Personas, patient: str, template_id: str = "racemic-iv", **changes) -> ConsentSignIn:
    """Return a valid portal signature of the current version of `template_id` by persona `patient`."""
    doc = consent.document(template_id)
    pid = personas[patient].patient_id
    name = {personas.patient_a: "Alice Anders", personas.patient_b: "Bob Berg"}[pid]
    fields = {
        "template_id": doc.id,
        "version": doc.version,
        "signed_via": "portal",
        "read_confirmed": True,
        "typed_name": name,
        "signature_kind": "drawn",
        "signature_svg_path": "M10 10 L50 60 L90 20 L120 80",
    }
    return ConsentSignIn(**{**fields, **changes})


def give_consent(personas: Personas, patient: str = "patient_a", template_id: str = "racemic-iv") -> int:
    """Sign (in the portal) and countersign (prescriber) a consent in force now; return the signature id."""
    pid = personas[patient].patient_id
    row = consent.sign_consent(
        db=personas.db, actor=personas[patient], patient_id=pid, data=sign_in(personas, patient, template_id)
    )
    consent.countersign_consent(
        db=personas.db,
        actor=personas["prescriber"],
        patient_id=pid,
        signature_id=row.id,
        data=ConsentCountersignIn(version=row.version, password=PASSWORD),
    )
    return row.id
