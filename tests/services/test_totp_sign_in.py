"""Issue 14 item 4: TOTP without replay, refusals that do not say which factor failed, TOTP required by role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ketacare.services import access, clock
from ketacare.services.access import LoginRequest, auth, totp, users
from ketacare.services.errors import Unauthenticated
from ketacare.store.tables import User
from tests.conftest import PASSWORD


def _login(db, settings, username="prescriber", password=PASSWORD, code=None, address="10.0.0.1"):
    return auth.login(
        db=db,
        settings=settings,
        data=LoginRequest(username=username, password=password, totp_code=code),
        address=address,
    )


def _enrol(db, personas, username="prescriber") -> str:
    users.enable_totp(db=db, actor=personas["admin"], username=username)
    with db.session() as s:
        return s.scalar(select(User).where(User.username == username)).totp_secret


def test_the_same_code_is_refused_the_second_time(db, settings, personas):
    secret = _enrol(db, personas)
    code = totp.code_at(secret, clock.now())
    assert _login(db, settings, code=code).actor.role == "prescriber"
    with pytest.raises(Unauthenticated):
        _login(db, settings, code=code)


def test_an_older_code_is_refused_after_a_newer_one(db, settings, personas, monkeypatch):
    secret = _enrol(db, personas)
    now = clock.now()
    older = totp.code_at(secret, now)
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(seconds=totp.STEP_S))
    assert _login(db, settings, code=totp.code_at(secret, clock.now())).actor.role == "prescriber"
    with pytest.raises(Unauthenticated):  # still inside the drift window, but older than the one used
        _login(db, settings, code=older)


def test_refusals_do_not_say_which_factor_failed(db, settings, personas):
    secret = _enrol(db, personas)
    wrong_code = f"{(int(totp.code_at(secret, clock.now())) + 1) % 1_000_000:06d}"
    attempts = {
        "wrong password": dict(password="not-the-password-x"),
        "right password, no code": dict(),
        "right password, wrong code": dict(code=wrong_code),
        "unknown user": dict(username="nobody-here"),
        "wrong password, right code": dict(password="not-the-password-x", code=totp.code_at(secret, clock.now())),
    }
    patient = settings.model_copy(update={"login_max_failures": 50, "login_account_max_failures": 50})
    messages = {}
    for name, kw in attempts.items():
        with pytest.raises(Unauthenticated) as e:
            _login(db, patient, **kw)
        messages[name] = str(e.value)
    assert len(set(messages.values())) == 1, messages


def test_a_required_role_without_a_code_is_sent_to_enrol(db, settings, personas):
    requiring = settings.model_copy(update={"totp_required_roles": "prescriber,admin"})
    r = _login(db, requiring)
    assert r.must_enrol_totp and r.actor.pending == "enrol_totp"
    assert auth.resolve(db=db, settings=requiring, token=r.token, address=None).pending == "enrol_totp"
    assert not _login(db, requiring, username="nurse").must_enrol_totp  # the clinic named other roles
    fresh = users.new_totp_secret(actor=r.actor)
    code = totp.code_at(fresh.secret, clock.now())
    users.enrol_own_totp(
        db=db, actor=r.actor, data=access.TotpEnrolment(secret=fresh.secret, totp_code=code, password=PASSWORD)
    )
    assert auth.resolve(db=db, settings=requiring, token=r.token, address=None).pending is None
    with pytest.raises(Unauthenticated):  # the enrolment code cannot sign in again
        _login(db, requiring, code=code)


def test_the_policy_says_which_roles_a_clinic_may_require_a_code_of():
    from ketacare.app import create_app
    from ketacare.config import Settings
    from ketacare.services.access import patient_role, totp_requirable_roles

    assert "prescriber" in totp_requirable_roles() and patient_role() not in totp_requirable_roles()
    with pytest.raises(ValueError, match="only of"):
        create_app(Settings(database_url="sqlite://", totp_required_roles=patient_role()))
