"""Access: accounts, sign-in, passwords, TOTP, the policy and the audit trail (services layer)."""

from ketacare.services.access import audit, audit_views, auth, passwords, policy, totp, users
from ketacare.services.access.actor import Actor, system_actor

__all__ = ["Actor", "audit", "audit_views", "auth", "passwords", "policy", "system_actor", "totp", "users"]
