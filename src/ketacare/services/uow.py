"""Unit of work: one transaction per use case, with its audit events written in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ketacare.services.access import audit, session_cache
from ketacare.services.access.actor import Actor
from ketacare.services.access.policy import authorize
from ketacare.services.errors import Conflict, Forbidden, HiddenByPolicy, Unauthenticated
from ketacare.store.db import Database

# Changes to these can end or alter a signed-in session (sign-out, revocation, role, password, one-time code,
# deactivation, break-glass window): after committing one, remembered sessions are forgotten.
_ACCOUNT_RESOURCES = frozenset({"account", "user", "role", "emergency_access"})
_READ_ACTIONS = frozenset({"view", "list", "search", "login_failed"})


class UnitOfWork:
    """Open a transaction for `actor`; collect audit events; on success append them and commit.

    A policy refusal rolls the work back and writes one `denied` event in a transaction of its own,
    so that a refused request leaves a trace but changes nothing else.
    """

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor
        self.session: Session
        self._events: list[audit.PendingEvent] = []
        self._denied_target: tuple[str, str, int | None] | None = None

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.sessions()
        self.session.begin()
        return self

    def authorize(
        self,
        action: str,
        resource: str,
        *,
        patient_id: int | None = None,
        author_id: int | None = None,
        shared: bool = False,
    ) -> None:
        """Check the policy; remember what was asked so a refusal can be audited."""
        self._denied_target = (action, resource, patient_id)
        authorize(self.actor, action, resource, patient_id=patient_id, author_id=author_id, shared=shared)
        self._denied_target = None

    def refuse_as(self, action: str, resource: str, patient_id: int | None = None) -> None:
        """Name what a refusal raised after `authorize` (a rule beyond the policy) was refused, for its audit."""
        self._denied_target = (action, resource, patient_id)

    def audit(
        self,
        action: str,
        resource_type: str,
        resource_id: object = None,
        *,
        patient_id: int | None = None,
        outcome: str = "success",
        reason: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        """Queue a semantic audit event to be written with this transaction."""
        self._events.append(
            audit.PendingEvent(
                action=action,
                resource_type=resource_type,
                resource_id=None if resource_id is None else str(resource_id),
                patient_id=patient_id,
                outcome=outcome,
                reason=reason,
                details=details or {},
            )
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None:
                audit.append(self.session, self.actor, self._events)
                try:
                    self.session.commit()
                except StaleDataError as stale:
                    self.session.rollback()
                    raise Conflict("record", current_version=-1, sent_version=None) from stale
                if any(e.resource_type in _ACCOUNT_RESOURCES and e.action not in _READ_ACTIONS for e in self._events):
                    session_cache.forget_all()
                return
            self.session.rollback()
            if isinstance(exc, (Forbidden, HiddenByPolicy)) and not isinstance(exc, Unauthenticated):
                record_denied(self.db, self.actor, self._denied_target, str(exc))
        finally:
            self.session.close()


def record_denied(
    db: Database, actor: Actor, target: tuple[str, str, int | None] | None, reason: str
) -> None:
    """Write one `denied` audit event in its own transaction."""
    action, resource, patient_id = target or ("unknown", "unknown", None)
    with db.sessions() as s, s.begin():
        audit.append(
            s,
            actor,
            [
                audit.PendingEvent(
                    action="denied",
                    resource_type=resource,
                    resource_id=None if patient_id is None else str(patient_id),
                    patient_id=patient_id,
                    outcome="denied",
                    reason=reason,
                    details={"attempted": action},
                )
            ],
        )
