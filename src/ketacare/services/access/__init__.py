# ruff: noqa: I001  (the actor and policy come first: the use-case modules below import them)
"""Access: accounts, sign-in, passwords, TOTP, the policy and the audit trail (services layer).

Other capabilities and adapters use access only through the names below.
"""

from ketacare.services.access.actor import Actor, anonymous, system_actor
from ketacare.services.access.policy import (
    account_roles,
    authorize,
    decide,
    home,
    is_patient_role,
    may,
    needs_second_approval,
    patient_role,
    roles,
    roles_for,
    totp_requirable_roles,
)
from ketacare.services.access.schemas import (
    AccountRequest,
    AuditFilter,
    LoginNoticeRead,
    LoginRequest,
    PasswordChange,
    Profile,
    SigningCredentials,
    ThrottleRead,
    TotpEnrolment,
    TotpSecret,
    UserCreate,
)
from ketacare.services.access import (
    audit,
    audit_views,
    auth,
    notices,
    passwords,
    policy,
    signing,
    throttle,
    totp,
    users,
)
from ketacare.services.access import audit_checkpoints, audit_keys
from ketacare.services.access.audit_checkpoints import checkpoint_dir
from ketacare.services.access.audit_keys import AuditKey
from ketacare.services.access.signing import Signing
from ketacare.services.access import account, accounts, approvals, emergency, people
from ketacare.services.access.people import signature_name


def audit_actions() -> frozenset[str]:
    """Return the actions an audit event can name."""
    return audit.ACTIONS

__all__ = [
    "AccountRequest",
    "Actor",
    "AuditFilter",
    "AuditKey",
    "audit_actions",
    "audit_checkpoints",
    "audit_keys",
    "checkpoint_dir",
    "LoginNoticeRead",
    "PasswordChange",
    "Profile",
    "LoginRequest",
    "Signing",
    "SigningCredentials",
    "ThrottleRead",
    "TotpEnrolment",
    "TotpSecret",
    "UserCreate",
    "account",
    "account_roles",
    "accounts",
    "approvals",
    "emergency",
    "needs_second_approval",
    "people",
    "signature_name",
    "home",
    "is_patient_role",
    "may",
    "patient_role",
    "roles_for",
    "anonymous",
    "audit",
    "audit_views",
    "auth",
    "authorize",
    "decide",
    "passwords",
    "policy",
    "roles",
    "system_actor",
    "notices",
    "signing",
    "throttle",
    "totp",
    "totp_requirable_roles",
    "users",
]
