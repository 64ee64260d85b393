"""Issue 14 item 1: throttling that protects without locking out (each test failed on the code before it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ketacare.services import access, clock
from ketacare.services.access import LoginRequest, auth, system_actor
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from tests.conftest import PASSWORD


def _login(db, settings, username="nurse", password=PASSWORD, address="10.0.0.1", device=None):
    known = {"device": device} if device is not None else {}  # (the code before knew no devices)
    return auth.login(
        db=db, settings=settings, data=LoginRequest(username=username, password=password), address=address, **known
    )


def _fail(db, settings, username, address, times=1):
    for _ in range(times):
        with pytest.raises((Unauthenticated, TooManyAttempts)):
            _login(db, settings, username=username, password="wrong-wrong-wrong", address=address)


def test_100_failed_logins_for_frontdesk_do_not_stop_nurse_from_the_same_address(db, settings, personas):
    _fail(db, settings, "frontdesk", "192.0.2.7", times=100)
    assert _login(db, settings, username="nurse", address="192.0.2.7").actor.username == "nurse"


def test_failures_delay_only_that_account_from_that_address(db, settings, personas):
    _fail(db, settings, "frontdesk", "192.0.2.7", times=settings.login_max_failures)
    with pytest.raises(TooManyAttempts):
        _login(db, settings, username="frontdesk", address="192.0.2.7")  # even the right password waits
    assert _login(db, settings, username="frontdesk", address="192.0.2.8").actor.username == "frontdesk"


def test_delays_grow_but_stay_a_delay_never_a_lock(db, settings, personas, monkeypatch):
    start = clock.now()
    now = [start]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    waits = []
    _fail(db, settings, "prescriber", "198.51.100.1", times=settings.login_max_failures - 1)
    for _ in range(12):  # wait out each delay and fail again, as a patient attacker would
        _fail(db, settings, "prescriber", "198.51.100.1")
        with pytest.raises(TooManyAttempts) as e:
            _login(db, settings, username="prescriber", address="198.51.100.1", password="wrong-again-x")
        waits.append(e.value.retry_after_s)
        now[0] += timedelta(seconds=e.value.retry_after_s + 1)
    assert waits[0] < waits[1] < waits[2]  # progressive
    assert max(waits) <= access.throttle.MAX_DELAY_S  # and bounded: 15 min at most
    assert _login(db, settings, username="prescriber", address="198.51.100.1").actor.role == "prescriber"


def test_anyone_keeping_prescriber_delayed_cannot_stop_her_from_a_known_device(db, settings, personas):
    known = _login(db, settings, username="prescriber", address="203.0.113.5").device_token
    # an attacker fails from her own clinic's address (NAT) and from many others
    _fail(db, settings, "prescriber", "203.0.113.5", times=10)
    for i in range(settings.login_account_max_failures):
        _fail(db, settings, "prescriber", f"198.51.100.{i + 10}")
    with pytest.raises(TooManyAttempts):  # a browser that never signed in to her account waits
        _login(db, settings, username="prescriber", address="203.0.113.99")
    ok = _login(db, settings, username="prescriber", address="203.0.113.5", device=known)
    assert ok.actor.username == "prescriber"


def test_a_device_cookie_of_another_account_or_forged_counts_for_nothing(db, settings, personas):
    nurse_device = _login(db, settings, username="nurse", address="203.0.113.5").device_token
    _fail(db, settings, "prescriber", "203.0.113.5", times=settings.login_max_failures)
    for token in (nurse_device, nurse_device[:-4] + "abcd", "v1.1.abc.def"):
        with pytest.raises(TooManyAttempts):
            _login(db, settings, username="prescriber", address="203.0.113.5", device=token)


def test_an_administrator_sees_the_delays_and_clears_them(db, settings, personas):
    _fail(db, settings, "frontdesk", "192.0.2.7", times=settings.login_max_failures)
    rows = access.throttle.list_state(db=db, actor=personas["admin"])
    pair = next(r for r in rows if r.kind == "pair" and r.username == "frontdesk")
    assert (pair.address, pair.failures) == ("192.0.2.7", settings.login_max_failures) and pair.delay_s > 0
    assert access.throttle.clear(db=db, actor=system_actor(), username="frontdesk") >= 1
    assert _login(db, settings, username="frontdesk", address="192.0.2.7").actor.username == "frontdesk"
    assert [r for r in access.throttle.list_state(db=db, actor=personas["admin"]) if r.username == "frontdesk"] == []


def test_only_administrators_see_or_clear_delays(db, settings, personas):
    from ketacare.services.errors import Forbidden

    for who in ("nurse", "prescriber"):
        with pytest.raises(Forbidden):
            access.throttle.list_state(db=db, actor=personas[who])
        with pytest.raises(Forbidden):
            access.throttle.clear(db=db, actor=personas[who], username="frontdesk")


def test_the_owner_is_told_of_failed_attempts_at_the_next_sign_in(db, settings, personas):
    _fail(db, settings, "nurse", "192.0.2.50", times=2)
    first = _login(db, settings, username="nurse", address="10.0.0.1")
    assert first.notice is not None
    assert (first.notice.failures, first.notice.addresses) == (2, ["192.0.2.50"])
    assert _login(db, settings, username="nurse", address="10.0.0.1").notice is None  # told once


def test_the_owner_with_an_email_address_gets_one_email(db, settings, personas, monkeypatch):
    from ketacare.services.access import notices
    from ketacare.store.tables import User

    with db.session() as s:
        s.query(User).filter_by(username="nurse").one().email = "nurse@clinic.example"
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            self.host = host

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, msg):
            sent.append(msg)

    monkeypatch.setattr(notices.smtplib, "SMTP", FakeSMTP)
    mailing = settings.model_copy(update={"smtp_host": "smtp.clinic.example"})
    _fail(db, mailing, "nurse", "192.0.2.50", times=settings.login_max_failures + 2)
    assert len(sent) == 1
    assert sent[0]["To"] == "nurse@clinic.example" and "192.0.2.50" in sent[0].get_content()
