"""The memory of resolved session tokens: no database work on a hit, forgotten at once on changes made here,
bounded by `auth_cache_seconds` for changes made elsewhere."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, update

from ketacare.services import clock
from ketacare.services.access import accounts, auth
from ketacare.services.access.schemas import LoginRequest
from ketacare.store.tables import AuthSession
from tests.conftest import PASSWORD


def _login(db, settings):
    return auth.login(db=db, settings=settings, data=LoginRequest(username="nurse", password=PASSWORD),
                      address="10.0.0.1")


def _statements(db) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _revoke_elsewhere(db, token: str) -> None:
    """Revoke a session the way another app process or the command line would: straight in the database."""
    with db.session() as s:
        s.execute(update(AuthSession).where(AuthSession.token_hash == auth.token_digest(token))
                  .values(revoked_at=clock.now()))


def test_a_remembered_token_costs_no_statement_and_a_revocation_elsewhere_counts_within_the_bound(
    db, settings, personas, monkeypatch
):
    r = _login(db, settings)
    assert auth.resolve(db=db, settings=settings, token=r.token, address="10.0.0.2").username == "nurse"
    seen = _statements(db)
    actor = auth.resolve(db=db, settings=settings, token=r.token, address="10.0.0.3")
    assert actor is not None and actor.address == "10.0.0.3" and actor.session_id == r.actor.session_id
    assert seen == []
    _revoke_elsewhere(db, r.token)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is not None  # within the bound
    later = clock.now() + timedelta(seconds=settings.auth_cache_seconds + 0.1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is None


def test_sign_out_revocation_and_deactivation_here_count_at_once(db, settings, personas):
    r = _login(db, settings)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is not None
    auth.logout(db=db, actor=r.actor)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is None
    r = _login(db, settings)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is not None
    accounts.revoke_sessions(db=db, actor=personas["admin"], username="nurse")
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is None
    r = _login(db, settings)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is not None
    accounts.set_active(db=db, actor=personas["admin"], username="nurse", active=False)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is None


def test_with_no_memory_every_request_asks_the_database(db, settings, personas):
    settings = settings.model_copy(update={"auth_cache_seconds": 0})
    r = _login(db, settings)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is not None
    _revoke_elsewhere(db, r.token)
    assert auth.resolve(db=db, settings=settings, token=r.token, address=None) is None
