"""Patient messages (issue 17 point 3): the message log, clinic-editable templates (versioned) and a patient's
opt-out of non-essential messages. Sending is `ketacare messages send` (or the optional in-process loop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ketacare.api.deps import DbDep, RecordId
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import messages
from ketacare.services.access import Actor
from ketacare.services.messages.schemas import Status

router = APIRouter(tags=["messages"])
ReadLog = Access("messages", "read")
ReadTemplates = Access("message_templates", "read")
Configure = Access("message_templates", "configure")
ReadPreference = Access("message_preferences", "read")
UpdatePreference = Access("message_preferences", "update")
TemplateId = Annotated[str, Path(pattern=r"^[a-z_]{1,64}$", description="Template id, e.g. appointment_reminder")]


@router.get("/messages", response_model=list[messages.MessageRead], responses=error_responses(401, 403, 422))
def get_log(
    db: DbDep,
    status: Status | None = Query(None, description="Only messages with this result"),
    patient_id: RecordId | None = Query(None, description="Only this patient's messages"),
    limit: int = Query(200, ge=1, le=1000),
    actor: Actor = Depends(ReadLog),
) -> list[messages.MessageRead]:
    """The newest messages first: to whom, which template version, when, and the delivery result."""
    return messages.messages(db=db, actor=actor, status=status, patient_id=patient_id, limit=limit)


@router.get(
    "/messages/templates", response_model=list[messages.TemplateRead], responses=error_responses(401, 403)
)
def get_templates(db: DbDep, actor: Actor = Depends(ReadTemplates)) -> list[messages.TemplateRead]:
    """The templates in force (version 0: the shipped wording)."""
    return messages.list_templates(db=db, actor=actor)


@router.get(
    "/messages/templates/{template_id}/history",
    response_model=list[messages.TemplateRead],
    responses=error_responses(401, 403, 404, 422),
)
def get_template_history(
    template_id: TemplateId, db: DbDep, actor: Actor = Depends(ReadTemplates)
) -> list[messages.TemplateRead]:
    """Every version of one template, newest first."""
    return messages.template_history(db=db, actor=actor, template_id=template_id)


@router.put(
    "/messages/templates/{template_id}",
    response_model=messages.TemplateRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def put_template(
    template_id: TemplateId, data: messages.TemplateUpdate, db: DbDep, actor: Actor = Depends(Configure)
) -> messages.TemplateRead:
    """Save a new version of a template: subject, body, the version it replaces and why. Placeholders outside the
    list (`{when}`, `{site_name}`, ...) and doses are refused naming the field."""
    return messages.save_template(db=db, actor=actor, template_id=template_id, data=data)


@router.get(
    "/patients/{patient_id}/message-preferences",
    response_model=messages.PreferenceRead,
    responses=error_responses(401, 403, 404, 422),
)
def get_preference(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(ReadPreference)
) -> messages.PreferenceRead:
    """Whether the patient opted out of non-essential messages (reminders, questionnaires due)."""
    return messages.read_preference(db=db, actor=actor, patient_id=patient_id)


@router.put(
    "/patients/{patient_id}/message-preferences",
    response_model=messages.PreferenceRead,
    responses=error_responses(401, 403, 404, 422),
)
def put_preference(
    patient_id: RecordId, data: messages.PreferenceUpdate, db: DbDep, actor: Actor = Depends(UpdatePreference)
) -> messages.PreferenceRead:
    """Opt out of, or back into, non-essential messages; essential ones (appointment changes, instructions before
    a treatment session) always go."""
    return messages.update_preference(db=db, actor=actor, patient_id=patient_id, data=data)
