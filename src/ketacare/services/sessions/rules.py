"""The infusion-session rules as the services apply them: the shipped rules (domain/sessions/data/session.toml)
with the roles the access policy lets override a guard (action `override_guard` on `infusion_session`)."""

from __future__ import annotations

from functools import cache

from ketacare.domain.sessions.session import SessionRules, load_session_rules
from ketacare.services.access import roles_for


@cache
def default_session_rules() -> SessionRules:
    """Return the shipped session rules with the policy's override roles (cached)."""
    return load_session_rules(override_by=roles_for("override_guard", "infusion_session"))
