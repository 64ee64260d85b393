"""Whether a signed consent is in force (issue 16 point 1), as pure rules: the newest signature for the route
decides; a new version needs re-consent only where the document says so (the clinic's choice)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import replace

import pytest

from ketacare.domain.plans import consent_templates
from ketacare.domain.plans.consent import parse_consent_template
from ketacare.domain.plans.consent_status import SignedConsent, add_months, consent_status, document_in_force

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DOCS = consent_templates()
IV = DOCS["racemic-iv"]


def _sig(**kw) -> SignedConsent:
    base = SignedConsent(
        id=1,
        template_id="racemic-iv",
        version=IV.version,
        routes=("iv",),
        signed_at=T0,
        expires_at=add_months(T0, IV.valid_months),
        countersigned_at=T0 + dt.timedelta(hours=1),
    )
    return replace(base, **kw)


def _with_version(version: str, reconsent: bool) -> dict:
    raw = copy.deepcopy(IV.raw)
    raw["version"], raw["reconsent"]["on_new_version"] = version, reconsent
    return {**DOCS, "racemic-iv": parse_consent_template(raw)}


def test_signed_and_countersigned_is_in_force_with_its_version():
    st = consent_status([_sig()], DOCS, "iv", T0 + dt.timedelta(days=1))
    assert st.in_force and st.version == IV.version and st.signature_id == 1


@pytest.mark.parametrize(
    ("sig", "route", "status"),
    [
        (None, "iv", "missing"),
        ({}, "sc", "missing"),  # the IV consent does not cover a subcutaneous course
        ({"countersigned_at": None}, "iv", "not_countersigned"),
        ({"withdrawn_at": T0 + dt.timedelta(hours=5)}, "iv", "withdrawn"),
        ({"expires_at": T0 + dt.timedelta(hours=3)}, "iv", "expired"),
        ({"signed_at": T0 + dt.timedelta(days=2)}, "iv", "missing"),  # signed after the moment asked about
    ],
)
def test_each_way_a_consent_is_not_in_force_says_why(sig, route, status):
    sigs = [] if sig is None else [_sig(**sig)]
    st = consent_status(sigs, DOCS, route, T0 + dt.timedelta(days=1))
    assert st.status == status and not st.in_force and st.reason


def test_a_new_version_requires_re_consent_where_the_clinic_says_so():
    at = T0 + dt.timedelta(days=30)
    required = consent_status([_sig()], _with_version("2.0", reconsent=True), "iv", at)
    assert required.status == "superseded" and not required.in_force
    assert f"version {IV.version} was signed" in required.reason and "2.0" in required.reason
    not_required = consent_status([_sig()], _with_version("2.0", reconsent=False), "iv", at)
    assert not_required.in_force and not_required.current_version == "2.0"


def test_the_newest_signature_decides_a_withdrawal_is_not_undone_by_an_older_one():
    old = _sig(id=1)
    new = _sig(id=2, signed_at=T0 + dt.timedelta(days=1), withdrawn_at=T0 + dt.timedelta(days=2))
    assert consent_status([old, new], DOCS, "iv", T0 + dt.timedelta(days=3)).status == "withdrawn"
    again = _sig(
        id=3, signed_at=T0 + dt.timedelta(days=4), countersigned_at=T0 + dt.timedelta(days=4, hours=1)
    )
    assert consent_status([old, new, again], DOCS, "iv", T0 + dt.timedelta(days=5)).in_force


def test_validity_runs_in_calendar_months_clipped_to_the_month_end():
    assert add_months(dt.datetime(2026, 1, 31, tzinfo=UTC), 1) == dt.datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(dt.datetime(2026, 11, 30, tzinfo=UTC), 12) == dt.datetime(2027, 11, 30, tzinfo=UTC)


def test_the_document_in_force_is_the_one_effective_for_the_route():
    assert document_in_force(DOCS, "iv", IV.effective) is IV
    assert document_in_force(DOCS, "iv", IV.effective - dt.timedelta(days=1)) is None
    assert document_in_force(DOCS, "intranasal", IV.effective).id == "esketamine-nasal"
