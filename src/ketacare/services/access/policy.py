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
        for action in rule["actions"]:
            for role in rule["roles"]:
                out.append(Grant(rule["resource"], action, role, rule.get("condition")))
    return tuple(out)


def roles() -> dict[str, str]:
    """Return the roles the policy knows, with their descriptions."""
    return dict(load_toml("ketacare.services.access.data", "policy.toml")["roles"])


def role_may(role: str, action: str, resource: str) -> bool:
    """Return True when some grant (conditional or not) lets `role` do `action` on `resource`."""
    return any(g.role == role and g.action == action and g.resource == resource for g in grants())


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
    matching = [g for g in grants() if g.role == actor.role and g.action == action and g.resource == resource]
    if not matching:
        return Decision(False, False, f"role {actor.role} has no grant for {action} on {resource}")
    for g in matching:
        if g.condition is None:
            return Decision(True, False, "granted")
        if g.condition == "own_record" and patient_id is not None and actor.patient_id == patient_id:
            return Decision(True, False, "own record")
        if g.condition == "author_or_shared" and (
            shared or (author_id is not None and author_id == actor.user_id)
        ):
            return Decision(True, False, "author or shared")
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
