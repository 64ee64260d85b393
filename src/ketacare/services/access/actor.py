"""Who is acting: the authenticated user (or the local command line) and where they act from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person (or local operator) on whose behalf a service runs."""

    user_id: int | None
    username: str
    role: str
    patient_id: int | None = None
    address: str | None = None
    session_id: int | None = None
    pending: str | None = None  # a step the user must take before anything else ("enrol_totp")
    must_change_password: bool = False  # an administrator set the password: the user chooses their own first
    break_glass: bool = False  # an emergency access window is open (policy grants with condition "break_glass")


ANONYMOUS_ROLE = "anonymous"


def anonymous(address: str | None = None) -> Actor:
    """Return the actor for a request with no valid login."""
    return Actor(user_id=None, username="anonymous", role=ANONYMOUS_ROLE, address=address)


def system_actor(name: str = "cli") -> Actor:
    """Return the local-operator actor used by the command line on the server itself (audited as such)."""
    return Actor(user_id=None, username=f"system:{name}", role="system")
