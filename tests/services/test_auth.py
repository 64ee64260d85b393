"""Authentication: argon2id with rehash, throttling per account and address, TOTP, token lifetime."""
# Throttling in depth: test_sign_in_throttling.py; TOTP replay and uniform refusals: test_totp_sign_in.py.

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import auth, passwords, totp, users
from ketacare.services.access.schemas import LoginRequest, UserCreate
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from ketacare.store.tables import AuditEvent, AuthSession, User
from tests.conftest import PASSWORD


def _login(db, settings, username="nurse", password=PASSWORD, address="10.0.0.1", code=None):
    return auth.login(db=db, settings=settings, data=LoginRequest(username=username, password=password,
                                                                  totp_code=code), address=address)


def test_login_returns_a_token_stored_only_as_its_hash(db, settings, personas):
    result = _login(db, settings)
    assert result.actor.role == "nurse"
    with db.session() as s:
        rows = s.scalars(select(AuthSession)).all()
    assert all(r.token_hash != result.token for r in rows)
    assert any(r.token_hash == auth.token_digest(result.token) for r in rows)
    assert auth.resolve(db=db, settings=settings, token=result.token, address=None).username == "nurse"


def test_wrong_password_is_refused_and_audited_without_the_password(db, settings, personas):
    with pytest.raises(Unauthenticated, match="wrong username, password or one-time code"):
        _login(db, settings, password="not the password at all")
    with db.session() as s:
        e = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (e.action, e.outcome, e.actor_username) == ("login_failed", "failure", "nurse")
    assert "not the password" not in (e.details + (e.reason or ""))


def test_unknown_user_gets_the_same_message(db, settings, personas):
    with pytest.raises(Unauthenticated, match="wrong username, password or one-time code"):
        _login(db, settings, username="nobody")


def test_account_and_address_pair_is_delayed_after_repeated_failures(db, settings, personas):
    for _ in range(settings.login_max_failures):
        with pytest.raises(Unauthenticated):
            _login(db, settings, password="wrong-wrong-wrong", address="10.0.0.2")
    with pytest.raises(TooManyAttempts) as e:
        _login(db, settings, address="10.0.0.2")  # even the right password waits, from that address
    assert 1 <= e.value.retry_after_s <= settings.login_lockout_base_seconds


def test_failures_on_other_accounts_do_not_delay_an_address(db, settings, personas):
    for name in ("nurse", "therapist", "frontdesk"):
        with pytest.raises(Unauthenticated):
            _login(db, settings, username=name, password="wrong-wrong-wrong", address="10.9.9.9")
    assert _login(db, settings, username="prescriber", address="10.9.9.9").actor.username == "prescriber"


def test_weak_hash_is_rehashed_at_login(db, settings, personas):
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with db.session() as s:
        s.scalar(select(User).where(User.username == "therapist")).password_hash = weak
    assert passwords.needs_rehash(weak)
    _login(db, settings, username="therapist")
    with db.session() as s:
        new = s.scalar(select(User).where(User.username == "therapist")).password_hash
    assert new != weak and not passwords.needs_rehash(new) and passwords.verify_password(new, PASSWORD)


def test_totp_is_required_once_enrolled(db, settings, personas):
    users.enable_totp(db=db, actor=personas["admin"], username="prescriber")
    with pytest.raises(Unauthenticated, match="one-time code"):
        _login(db, settings, username="prescriber")
    with db.session() as s:
        secret = s.scalar(select(User).where(User.username == "prescriber")).totp_secret
    code = totp.code_at(secret, clock.now())
    assert _login(db, settings, username="prescriber", code=code).actor.role == "prescriber"


def test_totp_matches_rfc6238_reference_vector():
    import base64
    from datetime import UTC, datetime

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at(secret, datetime.fromtimestamp(59, UTC)) == "287082"  # RFC 6238 appendix B, 8 digits -> 6
    assert totp.code_at(secret, datetime.fromtimestamp(1111111109, UTC)) == "081804"


def test_logout_revokes_and_idle_or_expired_tokens_stop_working(db, settings, personas, monkeypatch):
    r = _login(db, settings)
    auth.logout(db=db, actor=r.actor)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is None
    r2 = _login(db, settings)
    later = clock.now() + timedelta(minutes=settings.session_idle_minutes + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert auth.resolve(db=db, settings=settings, token=r2.token, address=None) is None


@pytest.mark.parametrize("password,words", [("short", "at least 12"), ("nurse-is-my-password", "username"),
                                            ("password1234", "commonly used")])
def test_password_policy(db, personas, password, words):
    with pytest.raises(InvalidValue, match=words):
        users.create_user(db=db, actor=personas["admin"], data=UserCreate(
            username="nurse2" if "nurse" not in password else "nurse", display_name="N", role="nurse",
            password=password))



def test_production_hashes_use_argon2_defaults_and_only_the_suite_uses_the_cheap_profile(monkeypatch):
    import importlib

    from argon2 import profiles

    cheap = passwords.hash_password(PASSWORD)
    low = profiles.RFC_9106_LOW_MEMORY
    monkeypatch.delenv("KETACARE_PASSWORD_HASH_PROFILE")
    try:
        importlib.reload(passwords)  # as a production process imports it: without the suite's variable
        h = passwords._hasher
        assert (h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len) == (
            low.time_cost, low.memory_cost, low.parallelism, low.hash_len, low.salt_len)
        assert passwords.needs_rehash(cheap)  # a hash made with the suite's profile would be upgraded at login
    finally:
        monkeypatch.undo()
        importlib.reload(passwords)
    assert passwords.needs_rehash(cheap) is False
