"""Account administration (issues 13 and 14): first-login password, deactivation, roles with a second
administrator, one-time links, sessions, unlocking, zxcvbn, break-glass, and signature names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import (
    AccountRequest,
    Actor,
    PasswordChange,
    Profile,
    account,
    accounts,
    approvals,
    auth,
    emergency,
    signature_name,
    users,
)
from ketacare.services.access.schemas import LoginRequest, UserCreate
from ketacare.services.errors import Forbidden, HiddenByPolicy, TooManyAttempts, Unauthenticated
from ketacare.services.patients import records as patients
from ketacare.store.tables import AuditEvent, User
from tests.conftest import PASSWORD

TEMP = "temporary-chair-lamp-42"
NEW = "violet-harbour-ninety-kites"


def _login(db, settings, username, password=PASSWORD, address="10.0.0.9"):
    return auth.login(db=db, settings=settings, data=LoginRequest(username=username, password=password),
                      address=address)


def _resolve(db, settings, token):
    return auth.resolve(db=db, settings=settings, token=token, address=None)


@pytest.fixture
def admin2(db, personas) -> Actor:
    """A second administrator (created on the server's command line, which needs no approval)."""
    u = users.create_user(db=db, actor=personas["system"], data=UserCreate(
        username="admin2", display_name="Second Admin", role="admin", password=PASSWORD))
    return Actor(user_id=u.id, username=u.username, role="admin")


def _nurse_request(username="nina"):
    return AccountRequest(username=username, display_name="Nina Park", credentials="RN", role="nurse",
                          password=TEMP, licence_number="RN-123")


def test_signature_name_shows_full_name_and_credentials():
    assert signature_name("Dr Alice Ng", "MD") == "Dr Alice Ng, MD"
    assert signature_name("  Nina   Park ", None) == "Nina Park"


def test_a_clinical_account_waits_for_a_second_administrator(db, settings, personas, admin2):
    outcome = accounts.request_account(db=db, actor=personas["admin"], data=_nurse_request())
    assert outcome.user is None and outcome.pending is not None
    with pytest.raises(Unauthenticated):  # nothing to log in with yet
        _login(db, settings, "nina", TEMP)
    with pytest.raises(Forbidden, match="second administrator"):
        approvals.approve(db=db, actor=personas["admin"], change_id=outcome.pending.id)
    u = approvals.approve(db=db, actor=admin2, change_id=outcome.pending.id)
    assert (u.role, u.signature, u.must_change_password) == ("nurse", "Nina Park, RN", True)
    with db.session() as s:
        denied = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
        approved = s.scalars(select(AuditEvent).where(AuditEvent.action == "approve")).one()
    assert any(e.actor_username == "admin" and e.resource_type == "user" for e in denied)
    with db.session() as s:
        from ketacare.store.tables.account_admin import AccountChange

        assert "password_hash" not in s.get(AccountChange, outcome.pending.id).payload  # kept only while waiting
    assert approved.actor_username == "admin2" and '"requested_by":"admin"' in approved.details.replace(" ", "")


def test_admin_cannot_create_a_clinical_account_directly(db, personas):
    with pytest.raises(InvalidValue, match="second administrator"):
        users.create_user(db=db, actor=personas["admin"], data=UserCreate(
            username="rx2", display_name="Rx", role="prescriber", password=NEW))


def test_a_researcher_account_needs_no_second_approval(db, personas):
    data = AccountRequest(username="rita", display_name="Rita Ray", role="researcher", password=TEMP)
    outcome = accounts.request_account(db=db, actor=personas["admin"], data=data)
    assert outcome.pending is None and outcome.user.username == "rita"


def test_raising_a_role_waits_for_a_second_administrator(db, personas, admin2):
    outcome = accounts.change_role(db=db, actor=personas["admin"], username="researcher", role="prescriber")
    assert outcome.pending is not None
    assert accounts.get_user(db=db, actor=personas["admin"], username="researcher").role == "researcher"
    approvals.approve(db=db, actor=admin2, change_id=outcome.pending.id)
    assert accounts.get_user(db=db, actor=personas["admin"], username="researcher").role == "prescriber"
    with pytest.raises(InvalidValue, match="already approved"):
        approvals.approve(db=db, actor=admin2, change_id=outcome.pending.id)


def test_linking_a_portal_login_waits_for_a_second_administrator(db, personas, admin2):
    data = AccountRequest(username="alice2", display_name="Alice", role="patient", password=TEMP,
                          patient_id=personas.patient_a)
    outcome = accounts.request_account(db=db, actor=personas["admin"], data=data)
    assert outcome.pending is not None and outcome.pending.kind == "link_patient"
    assert "password_hash" not in outcome.pending.payload
    u = approvals.approve(db=db, actor=admin2, change_id=outcome.pending.id)
    assert u.patient_id == personas.patient_a


def test_administrators_read_no_chart(db, personas):
    with pytest.raises((Forbidden, HiddenByPolicy)):
        patients.get_chart(db=db, actor=personas["admin"], patient_id=personas.patient_a)


def test_first_login_requires_a_new_password_and_zxcvbn_refuses_a_weak_one(db, settings, personas):
    data = AccountRequest(username="rita", display_name="Rita Ray", role="researcher", password=TEMP)
    accounts.request_account(db=db, actor=personas["admin"], data=data)
    r = _login(db, settings, "rita", TEMP)  # the temporary password logs in, to the change-password page only
    actor = _resolve(db, settings, r.token)
    assert actor.must_change_password
    with pytest.raises(InvalidValue) as refused:
        account.change_password(db=db, actor=actor, data=PasswordChange(
            current_password=TEMP, new_password="password123456", confirm_password="password123456"))
    assert refused.value.field == "password" and "common" in refused.value.message.lower()
    with pytest.raises(InvalidValue) as refused:
        account.change_password(db=db, actor=actor, data=PasswordChange(
            current_password=TEMP, new_password="aaaaaaaaaaaaaa", confirm_password="aaaaaaaaaaaaaa"))
    assert refused.value.field == "password" and 'Repeats like "aaa"' in refused.value.message
    account.change_password(db=db, actor=actor, data=PasswordChange(
        current_password=TEMP, new_password=NEW, confirm_password=NEW))
    assert not _resolve(db, settings, r.token).must_change_password


def test_zxcvbn_rejects_password123456_even_off_the_common_list(db, personas):
    with pytest.raises(InvalidValue, match="common"):
        users.create_user(db=db, actor=personas["system"], data=UserCreate(
            username="pat", display_name="P", role="researcher", password="password123456"))


def test_password_change_ends_every_other_session(db, settings, personas):
    first, second = _login(db, settings, "nurse"), _login(db, settings, "nurse")
    actor = _resolve(db, settings, second.token)
    ended = account.change_password(db=db, actor=actor, data=PasswordChange(
        current_password=PASSWORD, new_password=NEW, confirm_password=NEW))
    assert ended == 1
    assert _resolve(db, settings, first.token) is None
    assert _resolve(db, settings, second.token) is not None
    with pytest.raises(InvalidValue) as wrong:
        account.change_password(db=db, actor=actor, data=PasswordChange(
            current_password=PASSWORD, new_password=NEW + "x", confirm_password=NEW + "x"))
    assert wrong.value.field == "current_password"


def test_deactivation_ends_every_session_at_once(db, settings, personas):
    r = _login(db, settings, "nurse")
    assert _resolve(db, settings, r.token) is not None
    accounts.set_active(db=db, actor=personas["admin"], username="nurse", active=False)
    assert _resolve(db, settings, r.token) is None
    with pytest.raises(Unauthenticated):
        _login(db, settings, "nurse")
    with pytest.raises(InvalidValue, match="own account"):
        accounts.set_active(db=db, actor=personas["admin"], username="admin", active=False)


def test_reset_link_is_single_use_hashed_and_expires(db, settings, personas, monkeypatch):
    old = _login(db, settings, "therapist")
    token = accounts.reset_link(db=db, actor=personas["admin"], username="therapist")
    with db.session() as s:
        from ketacare.store.tables.account_admin import PasswordLink

        assert s.scalar(select(PasswordLink.token_hash)) == auth.token_digest(token)
    assert account.check_link(db=db, token=token).username == "therapist"
    anon = Actor(user_id=None, username="anonymous", role="anonymous")
    assert account.set_password_by_link(db=db, actor=anon, token=token, new_password=NEW, confirm=NEW) == "therapist"
    assert _resolve(db, settings, old.token) is None  # the reset ends the old logins
    assert _login(db, settings, "therapist", NEW).actor.username == "therapist"
    with pytest.raises(InvalidValue, match="expired or was already used"):
        account.set_password_by_link(db=db, actor=anon, token=token, new_password=NEW + "!", confirm=NEW + "!")
    later = accounts.reset_link(db=db, actor=personas["admin"], username="therapist")
    future = clock.now() + timedelta(hours=accounts.LINK_HOURS, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: future)
    assert account.check_link(db=db, token=later) is None
    with pytest.raises(InvalidValue, match="expired"):
        account.set_password_by_link(db=db, actor=anon, token=later, new_password=NEW + "!", confirm=NEW + "!")


def test_revoke_one_or_all_sessions(db, settings, personas):
    a, b = _login(db, settings, "prescriber"), _login(db, settings, "prescriber")
    listed = accounts.sessions(db=db, actor=personas["admin"], username="prescriber")
    assert len(listed) == 2
    accounts.revoke_sessions(db=db, actor=personas["admin"], username="prescriber",
                          session_id=_resolve(db, settings, a.token).session_id)
    assert _resolve(db, settings, a.token) is None and _resolve(db, settings, b.token) is not None
    assert accounts.revoke_sessions(db=db, actor=personas["admin"], username="prescriber") == 1
    assert _resolve(db, settings, b.token) is None
    assert accounts.sessions(db=db, actor=personas["admin"], username="prescriber") == []


def test_unlock_clears_the_lock(db, settings, personas):
    for _ in range(settings.login_max_failures):
        with pytest.raises(Unauthenticated):
            _login(db, settings, "frontdesk", "not the right one at all")
    with pytest.raises(TooManyAttempts):  # the same address is delayed, even with the right password
        _login(db, settings, "frontdesk", PASSWORD)
    assert accounts.locks(db=db, actor=personas["admin"], username="frontdesk")
    accounts.unlock(db=db, actor=personas["admin"], username="frontdesk")
    assert accounts.locks(db=db, actor=personas["admin"], username="frontdesk") == []
    assert _login(db, settings, "frontdesk", PASSWORD).actor.role == "frontdesk"


def test_profile_is_what_signatures_show(db, personas):
    u = accounts.update_profile(db=db, actor=personas["prescriber"], username="prescriber",
                             data=Profile(display_name="Dr Alice Ng", credentials="MD", licence_number="A-1"))
    assert u.signature == "Dr Alice Ng, MD"
    with pytest.raises(Forbidden):  # editing someone else's profile is administration
        accounts.update_profile(db=db, actor=personas["prescriber"], username="nurse",
                             data=Profile(display_name="X"))


def test_totp_enrolment_shows_a_local_svg_qr_and_needs_a_matching_code(db, settings, personas):
    from ketacare.services.access import totp

    enrol = account.totp_enrolment(personas["nurse"])
    assert enrol.qr_svg.startswith("<svg") and "otpauth" not in enrol.qr_svg
    with pytest.raises(InvalidValue, match="does not match"):
        account.confirm_totp(db=db, actor=personas["nurse"], secret=enrol.secret, code="000000"
                             if totp.code_at(enrol.secret, clock.now()) != "000000" else "111111")
    account.confirm_totp(db=db, actor=personas["nurse"], secret=enrol.secret,
                         code=totp.code_at(enrol.secret, clock.now()))
    with db.session() as s:
        assert s.scalar(select(User.totp_secret).where(User.username == "nurse")) == enrol.secret


def test_break_glass_opens_clinical_reads_for_a_limited_time_and_is_reviewed(db, settings, personas, monkeypatch):
    r = _login(db, settings, "frontdesk")
    fd = _resolve(db, settings, r.token)
    assert patients.get_chart(db=db, actor=fd, patient_id=personas.patient_a).clinical is None
    with pytest.raises(InvalidValue) as short:
        emergency.start(db=db, actor=fd, reason="x", minutes=30)
    assert short.value.field == "reason"
    emergency.start(db=db, actor=fd, reason="patient collapsed in the waiting room", minutes=15)
    fd = _resolve(db, settings, r.token)
    assert fd.break_glass
    assert patients.get_chart(db=db, actor=fd, patient_id=personas.patient_a).clinical is not None
    windows = emergency.list_windows(db=db, actor=personas["admin"])
    assert len(windows) == 1 and windows[0].reviewed_at is None and windows[0].events >= 1
    emergency.review(db=db, actor=personas["admin"], window_id=windows[0].id, note="justified")
    later = clock.now() + timedelta(minutes=16)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert not _resolve(db, settings, issue(db, fd.user_id)).break_glass
    with pytest.raises(Forbidden):
        emergency.start(db=db, actor=personas["nurse"], reason="nurses read charts anyway", minutes=15)


def issue(db, user_id):
    from tests.http.conftest import issue_token

    return issue_token(db, user_id)


def test_a_dose_order_names_its_author_with_credentials(db, personas):
    from ketacare.services.dosing import orders as dose_orders
    from ketacare.services.dosing.schemas import DoseOrderCreate

    accounts.update_profile(db=db, actor=personas["prescriber"], username="prescriber",
                            data=Profile(display_name="Dr Alice Ng", credentials="MD"))
    o = dose_orders.create_order(db=db, actor=personas["prescriber"], patient_id=personas.patient_a,
                                 data=DoseOrderCreate(protocol_id="iv-standard"))
    shown = dose_orders.get_order(db=db, actor=personas["nurse"], patient_id=personas.patient_a, order_id=o.id)
    assert shown.created_by_name == "Dr Alice Ng, MD"


def test_a_long_passphrase_is_estimated_on_its_start_and_accepted(db, personas):
    phrase = "violet harbour ninety kites over the quiet estuary at dawn " * 4  # 236 characters
    u = users.create_user(db=db, actor=personas["system"], data=UserCreate(
        username="longpass", display_name="L", role="researcher", password=phrase.strip()))
    assert u.username == "longpass"
