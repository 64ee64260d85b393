"""Demo informed consent (issue 16 point 1): every patient with a usable dose order (the ones the demo sessions
treat) signed the consent for their order's route three months ago, half in the portal and half on a clinic
tablet witnessed by the nurse, and the prescriber countersigned it; one patient has signed but waits for the
countersignature; one signed the clinic's earlier version 0.9 and must read and sign version 1.0 again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.services import clock, dosing
from ketacare.services.access import Actor
from ketacare.services.plans import consent
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn
from ketacare.store.tables import Patient
from ketacare.store.tables.plans import ConsentSignature

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 35  # after the dose orders (30), which name each patient's route; before the sessions (50)
SIGNED_DAYS_AGO = 90  # before the oldest demo session (the plan stages go back 73 days)
# A squiggle standing for a drawn signature (SVG path data in the 600x200 signing box).
SQUIGGLE = "M40 150 L80 60 L120 140 L160 70 L200 130 L240 80 L300 120 L360 90 L420 110 L520 100"


class _Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def _patient_actor(pid: int) -> Actor:
    """The patient at the keyboard (the demo's portal accounts are made later; the signature is the same)."""
    return Actor(user_id=None, username=f"patient:{pid}", role="patient", patient_id=pid)


def _sign(ctx: DemoContext, fake: _Clock, pid: int, route: str, k: int, *, countersign: bool) -> int | None:
    doc = consent.document_for_route(route)
    if doc is None:
        return None
    with ctx.db.session() as s:
        p = s.get(Patient, pid)
        name = f"{p.given_name} {p.family_name}" if p else ""
    tablet = k % 2 == 1
    nurse = Actor(ctx.staff["nurse"], "nurse", "nurse")
    data = ConsentSignIn(
        template_id=doc.id,
        version=doc.version,
        signed_via="clinic_tablet" if tablet else "portal",
        read_confirmed=True,
        typed_name=name,
        signature_kind="drawn" if k % 3 else "click",
        signature_svg_path=SQUIGGLE if k % 3 else None,
        click_signed=not k % 3,
    )
    row = consent.sign_consent(
        db=ctx.db, actor=nurse if tablet else _patient_actor(pid), patient_id=pid, data=data
    )
    if countersign:
        fake.t += timedelta(hours=2)
        prescriber = Actor(ctx.staff["prescriber"], "prescriber", "prescriber")
        consent.countersign_consent(
            db=ctx.db,
            actor=prescriber,
            patient_id=pid,
            signature_id=row.id,
            data=ConsentCountersignIn(version=row.version, password=DEMO_PASSWORD),
        )
    return row.id


def give(ctx: DemoContext, pid: int, route: str, days_ago: float = SIGNED_DAYS_AGO) -> None:
    """Sign (portal) and countersign the consent for `route` for patient `pid`, `days_ago` days ago (other demo
    modules call this for the patients they create after this module ran)."""
    real_now = clock.now
    fake = _Clock(real_now().replace(microsecond=0) - timedelta(days=days_ago))
    clock.now = fake
    try:
        _sign(ctx, fake, pid, route, 0, countersign=True)
    finally:
        clock.now = real_now


def extend(ctx: DemoContext) -> None:
    """Seed the consents described in the module docstring."""
    real_now = clock.now
    start = real_now().replace(microsecond=0) - timedelta(days=SIGNED_DAYS_AGO)
    fake = _Clock(start)
    clock.now = fake
    without: list[int] = []
    try:
        for k, pid in enumerate(ctx.patient_ids):
            with ctx.db.session() as s:
                order = dosing.usable_order(s, pid)
            if order is None:
                without.append(pid)
                continue
            fake.t = start + timedelta(minutes=20 * k)
            _sign(ctx, fake, pid, order.route, k, countersign=True)
        if without:  # signed, not yet countersigned: the prescriber's countersign form is there to try
            fake.t = start + timedelta(days=SIGNED_DAYS_AGO - 1)
            _sign(ctx, fake, without[0], "iv", 1, countersign=False)
        if len(without) > 1:  # signed the clinic's earlier version: the status asks for re-consent
            fake.t = start - timedelta(days=5)
            sid = _sign(ctx, fake, without[1], "iv", 2, countersign=True)
            with ctx.db.session() as s:
                row = s.get(ConsentSignature, sid)
                if row is not None:
                    row.template_version = "0.9"  # synthetic: the version before this document's 1.0
    finally:
        clock.now = real_now
