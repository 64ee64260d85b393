"""Whether a patient's signed consent is in force for a route at a moment (issue 16 point 1), as pure rules.

The newest signature covering the route decides: withdrawn, superseded by a version the clinic requires to be
signed again (`reconsent.on_new_version`), expired (the document's validity, a clinic choice), waiting for the
prescriber's countersignature, or in force. No signature, or no document for the route, is "missing".
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ketacare.domain.plans.consent import ConsentTemplate

Status = Literal["in_force", "missing", "expired", "superseded", "not_countersigned", "withdrawn"]
STATUSES: tuple[Status, ...] = (
    "in_force",
    "missing",
    "expired",
    "superseded",
    "not_countersigned",
    "withdrawn",
)


@dataclass(frozen=True)
class SignedConsent:
    """What the status reads of one stored signature (times aware UTC)."""

    id: int
    template_id: str
    version: str
    routes: tuple[str, ...]
    signed_at: dt.datetime
    expires_at: dt.datetime
    countersigned_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConsentStatus:
    """The answer for (patient, route, moment): a status, a plain reason, and the signature it rests on."""

    status: Status
    reason: str
    route: str
    signature_id: int | None = None
    template_id: str | None = None
    version: str | None = None
    current_version: str | None = None

    @property
    def in_force(self) -> bool:
        """True only when a signed, countersigned, current, unexpired, unwithdrawn consent covers the route."""
        return self.status == "in_force"


def add_months(at: dt.datetime, months: int) -> dt.datetime:
    """Return `at` moved `months` calendar months on (the day clipped to the month's end: 31 Jan + 1 = 28/29 Feb)."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def document_in_force(
    templates: Mapping[str, ConsentTemplate], route: str, on: dt.date
) -> ConsentTemplate | None:
    """Return the consent document for `route` effective on `on` (the newest effective date), or None."""
    found = [t for t in templates.values() if t.covers(route) and t.effective <= on]
    return max(found, key=lambda t: (t.effective, t.id), default=None)


def consent_status(
    signatures: Iterable[SignedConsent],
    templates: Mapping[str, ConsentTemplate],
    route: str,
    at: dt.datetime,
) -> ConsentStatus:
    """Return the consent status for `route` at `at` (aware UTC) from a patient's signatures."""
    covering = [s for s in signatures if route in s.routes and s.signed_at <= at]
    if not covering:
        return ConsentStatus("missing", f"no signed consent covers the route {route!r}", route)
    sig = max(covering, key=lambda s: (s.signed_at, s.id))
    current = templates.get(sig.template_id)

    def answer(status: Status, reason: str) -> ConsentStatus:
        return ConsentStatus(
            status,
            reason,
            route,
            signature_id=sig.id,
            template_id=sig.template_id,
            version=sig.version,
            current_version=None if current is None else current.version,
        )

    if sig.withdrawn_at is not None and sig.withdrawn_at <= at:
        return answer("withdrawn", "the patient withdrew this consent")
    if current is None:
        return answer("missing", f"the signed document {sig.template_id!r} is no longer offered")
    if current.version != sig.version and current.reconsent_on_new_version:
        return answer(
            "superseded",
            f"version {sig.version} was signed; the clinic asks the patient to read and sign version "
            f"{current.version}",
        )
    if at >= sig.expires_at:
        return answer("expired", "the signed consent has expired: the patient signs again")
    if sig.countersigned_at is None or sig.countersigned_at > at:
        return answer(
            "not_countersigned", "signed by the patient; waiting for the prescriber's countersignature"
        )
    return answer("in_force", f"version {sig.version} signed and countersigned")
