"""Demo messages: the reminders whose local time has come for the demo week's appointments are queued (the demo
has no SMTP server, so they wait in the log as "queued"), and one patient has opted out of reminders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketacare.services import clinic, clock
from ketacare.services import messages as svc
from ketacare.services.access import Actor, system_actor

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 70  # after scheduling (60): its appointments and its cancellation (a queued notice)


def extend(ctx: DemoContext) -> None:
    """Opt the last demo patient out of reminders, then queue the reminders due now."""
    desk = Actor(ctx.staff["frontdesk"], "frontdesk", "frontdesk")
    if ctx.patient_ids:
        svc.update_preference(db=ctx.db, actor=desk, patient_id=ctx.patient_ids[-1],
                              data=svc.PreferenceUpdate(opt_out_non_essential=True))  # fmt: skip
    svc.queue_due(db=ctx.db, actor=system_actor("demo"), now=clock.now(), tz=clinic.zone(ctx.db))
