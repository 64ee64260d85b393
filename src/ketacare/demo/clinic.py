"""Demo clinic settings (issue 13): a complete, clearly FICTIONAL example clinic, saved in two versions so the
history page has something to show. The crisis numbers are the real US ones (988, 911) [crisis-lines]; the
clinic's own phone is a 555-01xx number, reserved for fiction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketacare.services import clinic
from ketacare.services.access import Actor

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 5  # first: every later page shows times in this clinic's zone

EXAMPLE = clinic.ClinicSettingsIn(
    name="Harbourview Ketamine Clinic (fictional demo clinic)",
    address="100 Example Street, Suite 4\nNew York, NY 10001\n(fictional address)",
    timezone="America/New_York",
    locale="en_US",
    phone="+1 212 555 0142",
    crisis_lines=[
        clinic.CrisisLine(country="United States", name="988 Suicide & Crisis Lifeline", number="988",
                          when="If you are thinking about hurting yourself. Call or text, 24 hours a day."),
        clinic.CrisisLine(country="United States", name="Emergency services", number="911",
                          when="If you are in immediate danger or have hurt yourself."),
    ],
    weight_unit="lb",
    height_unit="ft_in",
    weight_bmi_threshold=30.0,
    weight_basis_at_or_above="ideal",
    assessment_plan="standard",
    reminder_subject="Harbourview asks you to fill in a short questionnaire",
    reminder_intro="Your care team at Harbourview asks you to fill in a short questionnaire. It takes a few minutes.",
    fictional=True,
)  # fmt: skip


def extend(ctx: DemoContext) -> None:
    """Save the example clinic as the demo administrator, then a second version changing one alert threshold."""
    admin = Actor(user_id=ctx.staff["admin"], username="admin", role="admin")
    clinic.seed(db=ctx.db, actor=admin, data=EXAMPLE, reason="Demo: settings of the fictional example clinic")
    tighter = EXAMPLE.model_copy(update={"alert_thresholds": {"spo2_low.spo2": 93.0}})
    clinic.seed(
        db=ctx.db,
        actor=admin,
        data=tighter,
        reason="Demo: the medical director asked for an earlier low-oxygen alarm (93 %)",
    )
