"""Access policy as data: decide whether an actor may do an action on a resource type."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ketacare.domain.datafiles import load_toml
from ketacare.services.access.actor import Actor
from ketacare.services.errors import Forbidden, HiddenByPolicy, Unauthenticated


@dataclass(frozen=True)
class Grant:
    resource: str
    action: str
    role: str
    condition: str | None


@cache
def grants() -> tuple[Grant, ...]:
    """Return every grant in the shipped policy file."""
    policy = load_toml("ketacare.services.access.data", "policy.toml")
    out: list[Grant] = []
    for rule in policy["rule"]:
        unknown = set(rule["roles"]) - set(policy["roles"])
        if unknown:
            raise ValueError(f"policy.toml grants {rule['resource']} to unknown role(s) {sorted(unknown)}")
        for action in rule["actions"]:
            for role in rule["roles"]:
                out.append(Grant(rule["resource"], action, role, rule.get("condition")))
    return tuple(out)


@cache
def _grants_by_key() -> dict[tuple[str, str, str], tuple[Grant, ...]]:
    """Return the grants keyed by (role, action, resource), in file order: every request asks several times."""
    out: dict[tuple[str, str, str], list[Grant]] = {}
    for g in grants():
        out.setdefault((g.role, g.action, g.resource), []).append(g)
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    home: str  # the web page a user of this role lands on after signing in
    account: bool  # may be given to a user account ("system" is the local command line, not an account)
    patient_account: bool  # an account of this role belongs to one patient and links to that record
    totp_requirable: bool  # a clinic may require a one-time code at sign-in for this role


@cache
def role_table() -> dict[str, Role]:
    """Return every role of the policy file, in the file's order."""
    table = load_toml("ketacare.services.access.data", "policy.toml")["roles"]
    return {
        name: Role(
            name=name,
            description=r["description"],
            home=r["home"],
            account=r.get("account", True),
            patient_account=r.get("patient_account", False),
            totp_requirable=r.get("totp_requirable", False),
        )
        for name, r in table.items()
    }


def roles() -> dict[str, str]:
    """Return the roles the policy knows, with their descriptions."""
    return {name: r.description for name, r in role_table().items()}


def account_roles() -> tuple[str, ...]:
    """Return the roles a user account may have."""
    return tuple(name for name, r in role_table().items() if r.account)


def totp_requirable_roles() -> tuple[str, ...]:
    """Return the roles for which a clinic may require a one-time code (KETACARE_TOTP_REQUIRED_ROLES)."""
    return tuple(name for name, r in role_table().items() if r.totp_requirable)


def role(name: str) -> Role | None:
    """Return the policy's role `name`, or None when the policy does not know it."""
    return role_table().get(name)


def is_patient_role(name: str) -> bool:
    """Return True when accounts of role `name` belong to one patient (the portal)."""
    r = role_table().get(name)
    return r is not None and r.patient_account


def patient_role() -> str:
    """Return the role of patients' own accounts (the portal, one-time questionnaire links)."""
    return next(name for name, r in role_table().items() if r.patient_account)


@cache
def second_approval_roles() -> frozenset[str]:
    """Return the roles an account gets only with a second administrator's approval ([separation_of_duties])."""
    table = load_toml("ketacare.services.access.data", "policy.toml").get("separation_of_duties", {})
    return frozenset(table.get("second_approval_roles", ()))


def needs_second_approval(role_name: str) -> bool:
    """Return True when giving an account `role_name` needs a second administrator."""
    return role_name in second_approval_roles()


def home(actor: Actor) -> str:
    """Return the page `actor` lands on after signing in."""
    r = role_table().get(actor.role)
    return r.home if r is not None else "/patients"


def roles_for(action: str, resource: str) -> tuple[str, ...]:
    """Return the roles with an unconditional grant of `action` on `resource`, in the policy's role order."""
    granted = {g.role for g in grants() if g.action == action and g.resource == resource and g.condition is None}
    return tuple(name for name in role_table() if name in granted)


def may(actor: Actor, action: str, resource: str) -> bool:
    """Return True when the policy lets `actor` do `action` on `resource` without a condition to meet."""
    return decide(actor, action, resource).allowed


@dataclass(frozen=True)
class Decision:
    allowed: bool
    hide: bool  # answer "not found" rather than "forbidden" (existence must not leak)
    reason: str


def decide(
    actor: Actor,
    action: str,
    resource: str,
    *,
    patient_id: int | None = None,
    author_id: int | None = None,
    shared: bool = False,
) -> Decision:
    """Decide one request from the policy file alone."""
    matching = _grants_by_key().get((actor.role, action, resource), ())
    if not matching:
        return Decision(False, False, f"role {actor.role} has no grant for {action} on {resource}")
    for g in matching:
        if g.condition is None:
            return Decision(True, False, "granted")
        if g.condition == "own_record" and patient_id is not None and actor.patient_id == patient_id:
            return Decision(True, False, "own record")
        if g.condition == "break_glass" and actor.break_glass:
            return Decision(True, False, "break-glass access")
        if g.condition == "author" and author_id is not None and author_id == actor.user_id:
            return Decision(True, False, "author")
        if g.condition == "author_or_shared" and (
            shared or (author_id is not None and author_id == actor.user_id)
        ):
            return Decision(True, False, "author or shared")
    if all(g.condition == "break_glass" for g in matching):  # refused plainly: no record's existence is at stake
        return Decision(False, False, f"role {actor.role} needs emergency access for {action} on {resource}")
    return Decision(False, True, f"condition not met for {action} on {resource}")


def authorize(
    actor: Actor,
    action: str,
    resource: str,
    *,
    patient_id: int | None = None,
    author_id: int | None = None,
    shared: bool = False,
) -> None:
    """Raise unless the policy lets `actor` do `action` on `resource` (for `patient_id` when given)."""
    if actor.role == "anonymous":
        raise Unauthenticated("log in first")
    d = decide(actor, action, resource, patient_id=patient_id, author_id=author_id, shared=shared)
    if d.allowed:
        return
    if d.hide:
        raise HiddenByPolicy("patient" if patient_id is not None else resource)
    raise Forbidden(action, resource)
