"""The dosing protocol's spacing of sessions, read from the protocol library (domain/dosing/protocols)."""

from __future__ import annotations

from ketacare.domain.dosing import load_protocol
from ketacare.domain.scheduling.conflicts import DosingLimits


def dosing_limits(protocol_id: str) -> DosingLimits:
    """Return the protocol's minimum hours between dosing sessions (its soft limit: the spacing the clinic books)
    and its most sessions in any 7 days (hard limit), each with its source."""
    p = load_protocol(protocol_id)
    gap = p.limit("interval_h_min", "soft") or p.limit("interval_h_min", "hard")
    most = p.limit("sessions_per_week_max", "hard") or p.limit("sessions_per_week_max", "soft")
    return DosingLimits(
        protocol_name=p.name,
        min_interval_h=None if gap is None else gap.value,
        min_interval_source="" if gap is None else gap.source,
        max_per_7_days=None if most is None else int(most.value),
        max_per_7_days_source="" if most is None else most.source,
    )
