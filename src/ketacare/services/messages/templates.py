"""Clinic-editable message templates: each save is a new version (who, when, why), audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain import messages as core
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.messages.schemas import TemplateRead, TemplateUpdate
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.messages import MessageTemplateVersion

RESOURCE = "message_templates"


def _shipped(t: core.MessageTemplate) -> TemplateRead:
    return TemplateRead(
        id=t.id, name=t.name, essential=t.essential, subject=t.subject, body=t.body, version=0
    )


def _read(t: core.MessageTemplate, row: MessageTemplateVersion) -> TemplateRead:
    return TemplateRead(
        id=t.id,
        name=t.name,
        essential=t.essential,
        subject=row.subject,
        body=row.body,
        version=row.version,
        changed_by_name=row.changed_by_name,
        changed_at=row.changed_at,
        reason=row.reason,
    )


def in_force(s: Session) -> dict[str, TemplateRead]:
    """Return every template's newest version (the shipped wording where the clinic saved none), by id."""
    out = {tid: _shipped(t) for tid, t in core.shipped_templates().items()}
    rows = s.scalars(select(MessageTemplateVersion).order_by(MessageTemplateVersion.version))
    shipped = core.shipped_templates()
    for row in rows:
        if row.template_id in shipped:
            out[row.template_id] = _read(shipped[row.template_id], row)
    return out


def list_templates(*, db: Database, actor: Actor) -> list[TemplateRead]:
    """Return the templates in force."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        return list(in_force(uow.session).values())


def history(*, db: Database, actor: Actor, template_id: str) -> list[TemplateRead]:
    """Return every version of one template, newest first (version 0: the shipped wording)."""
    shipped = core.shipped_templates().get(template_id)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        if shipped is None:
            raise NotFound("message template")
        rows = uow.session.scalars(
            select(MessageTemplateVersion)
            .where(MessageTemplateVersion.template_id == template_id)
            .order_by(MessageTemplateVersion.version.desc())
        )
        return [_read(shipped, r) for r in rows] + [_shipped(shipped)]


def save(*, db: Database, actor: Actor, template_id: str, data: TemplateUpdate) -> TemplateRead:
    """Store a new version of one template; 422 naming the field for an unknown placeholder or a dose, 409 stale."""
    shipped = core.shipped_templates().get(template_id)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("configure", RESOURCE)
        if shipped is None:
            raise NotFound("message template")
        core.check_template(data.subject, data.body)
        s = uow.session
        have = in_force(s)[template_id].version
        if data.base_version != have:
            raise Conflict("The message template", current_version=have, sent_version=data.base_version)
        user = s.get(User, actor.user_id) if actor.user_id is not None else None
        row = MessageTemplateVersion(
            template_id=template_id,
            version=have + 1,
            subject=data.subject,
            body=data.body,
            reason=data.reason,
            changed_by=actor.user_id,
            changed_by_name=user.display_name if user is not None else actor.username,
            changed_at=clock.now(),
        )
        s.add(row)
        s.flush()
        uow.audit("update", RESOURCE, template_id, reason=data.reason, details={"version": row.version})
        return _read(shipped, row)
