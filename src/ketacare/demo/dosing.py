"""Demo dose orders: signed and double-checked iv-standard orders (so charts show predicted curves), and the
96 kg / 165 cm woman whose order shows the three candidate doses (mg/kg of actual weight for each, the policy's
recommendation marked) and the prescriber's choice of basis with its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.domain.errors import InvalidValue
from ketacare.services import patients
from ketacare.services.access import Actor
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.patients import MeasurementCreate, PatientCreate

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 30
N_ORDERS = 30
WOMAN_MRN = "K0200001"


def _order(
    ctx: DemoContext, prescriber: Actor, nurse: Actor, patient_id: int, start: datetime, check: bool = True
) -> bool:
    data = DoseOrderCreate(protocol_id="iv-standard", planned_start=start)
    try:
        try:
            o = dose_orders.create_order(db=ctx.db, actor=prescriber, patient_id=patient_id, data=data)
        except InvalidValue as e:
            if e.field != "weight_basis":
                raise
            # BMI at or above the threshold: the demo prescriber chooses actual weight, as the trials dosed
            o = dose_orders.create_order(
                db=ctx.db,
                actor=prescriber,
                patient_id=patient_id,
                data=data.model_copy(
                    update={
                        "weight_basis": "actual",
                        "weight_basis_reason": "Demo: dosed on actual weight as in the trials (synthetic data)",
                    }
                ),
            )
    except InvalidValue:
        return False  # e.g. a weight that changed by >10%: left for the prescriber to confirm in the demo
    o = dose_orders.sign_order(
        db=ctx.db,
        actor=prescriber,
        patient_id=patient_id,
        order_id=o.id,
        data=DoseOrderSign(version=o.version, password=DEMO_PASSWORD),
    )
    if check:
        dose_orders.double_check_order(
            db=ctx.db,
            actor=nurse,
            patient_id=patient_id,
            order_id=o.id,
            data=DoubleCheckCreate(
                version=o.version,
                check_weight_kg=o.weight_kg,
                check_dose_mg=o.dose_mg,
                check_rate_ml_per_h=o.rate_ml_per_h,
                password=DEMO_PASSWORD,
            ),
        )
    return True


def _woman(ctx: DemoContext) -> int:
    found = patients.search_patients(db=ctx.db, actor=ctx.actor, q=WOMAN_MRN, per_page=5)
    for p in found.items:
        if p.mrn == WOMAN_MRN:
            return p.id
    p = patients.create_patient(
        db=ctx.db,
        actor=ctx.actor,
        data=PatientCreate(
            mrn=WOMAN_MRN,
            given_name="Helena",
            family_name="Marsh",
            date_of_birth=date(ctx.today.year - 46, 4, 12),
            sex_at_birth="female",
            primary_clinician_id=ctx.staff.get("prescriber"),
        ),
    )
    measured = datetime.combine(ctx.today - timedelta(days=3), time(9, 15), tzinfo=UTC)
    patients.add_measurement(
        db=ctx.db,
        actor=ctx.actor,
        patient_id=p.id,
        data=MeasurementCreate(weight="95.4 kg", height="165 cm", measured_at=measured - timedelta(days=40)),
    )
    patients.add_measurement(
        db=ctx.db,
        actor=ctx.actor,
        patient_id=p.id,
        data=MeasurementCreate(weight="96 kg", measured_at=measured),
    )
    return p.id


def extend(ctx: DemoContext) -> None:
    """Add ~30 signed and double-checked iv-standard orders and the 96 kg / 165 cm woman's order."""
    prescriber = Actor(ctx.staff["prescriber"], "prescriber", "prescriber")
    nurse = Actor(ctx.staff["nurse"], "nurse", "nurse")
    tomorrow = datetime.combine(ctx.today + timedelta(days=1), time(8, 0), tzinfo=UTC)
    made = 0
    for k, pid in enumerate(ctx.patient_ids):
        if made >= N_ORDERS:
            break
        start = tomorrow + timedelta(minutes=30 * (k % 16))
        made += _order(ctx, prescriber, nurse, pid, start)
    woman = _woman(ctx)
    # signed, awaiting the double check: the nurse's form is there to try
    _order(ctx, prescriber, nurse, woman, tomorrow + timedelta(hours=2), check=False)
