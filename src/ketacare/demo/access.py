"""Demo accounts (issues 13 and 14): a new prescriber account waiting on the security page for the second
administrator's approval, and one ended break-glass access waiting for review, so that both show at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketacare.services.access import AccountRequest, Actor, accounts, emergency, roles_for

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 90
PENDING_PASSWORD = "demo-temporary-cedar-lamp"  # noqa: S105 (the demo clinic's synthetic temporary password)


def extend(ctx: DemoContext) -> None:
    """Ask, as the first demo administrator, for a prescriber account that the second one can approve."""
    from ketacare.demo.patients import STAFF

    approvers = [(u, r) for u, _, r in STAFF if r in roles_for("approve", "user")]
    username, role = approvers[0]
    requester = Actor(user_id=ctx.staff[username], username=username, role=role)
    data = AccountRequest(
        username="lee.chen",
        display_name="Dr Lee Chen",
        credentials="MD",
        licence_number="DEMO-LC-001",
        role=roles_for("sign", "dose_order")[0],
        password=PENDING_PASSWORD,
    )
    accounts.request_account(db=ctx.db, actor=requester, data=data)

    breakers = [(u, r) for u, _, r in STAFF if r in roles_for("break_glass", "emergency_access")]
    username, role = breakers[0]
    who = Actor(user_id=ctx.staff[username], username=username, role=role)
    emergency.start(db=ctx.db, actor=who, reason="Demo: a patient fainted in the waiting room; allergies checked",
                    minutes=15)
    emergency.end(db=ctx.db, actor=who)
