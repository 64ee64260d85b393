"""How a person is named wherever they signed, checked or acted: "Dr Alice Ng, MD"."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.access.actor import Actor
from ketacare.store.tables import User

STORED_CHARS = 100


def signature_name(display_name: str, credentials: str | None = None) -> str:
    """Return the name a signature shows: the display name, then the credentials after a comma."""
    name = " ".join(display_name.split())
    creds = " ".join((credentials or "").split())
    return f"{name}, {creds}" if creds else name


def user_signature(user: User) -> str:
    """Return the signature name of one account."""
    return signature_name(user.display_name, user.credentials)


def names_by_username(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Map usernames to signature names; a name not of an account (e.g. "system:cli") maps to itself."""
    wanted = {u for u in usernames if u}
    found = (
        {
            u.username: user_signature(u)
            for u in session.scalars(select(User).where(User.username.in_(wanted)))
        }
        if wanted
        else {}
    )
    return {u: found.get(u, u) for u in wanted}


def names_by_id(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Map account ids to signature names."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    return {u.id: user_signature(u) for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def signature_of(session: Session, actor: Actor) -> str:
    """Return the signature name of the person acting now (the local operator keeps its own name), at most
    STORED_CHARS characters, as the records that keep it store it."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return (actor.username if user is None else user_signature(user))[:STORED_CHARS]
