"""Input and output shapes of patient messages, shared by the API and the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ketacare.services.refs import BaseVersion

Status = Literal["queued", "sending", "sent", "failed", "skipped"]


class TemplateRead(BaseModel):
    """A message template in force: version 0 is the shipped wording."""

    id: str
    name: str
    essential: bool
    subject: str
    body: str
    version: int
    changed_by_name: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None


class TemplateUpdate(BaseModel):
    """A new version of one template: the whole wording, the version it replaces and why."""

    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    base_version: BaseVersion
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class MessageRead(BaseModel):
    """One row of the message log (what went to whom, with which template version, when, and the result)."""

    id: int
    patient_id: int
    patient_name: str
    appointment_id: int | None
    kind: str
    template_id: str
    template_version: int | None
    essential: bool
    due_at: datetime
    status: Status
    detail: str | None
    to_address: str | None
    subject: str | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None


class PreferenceRead(BaseModel):
    """A patient's choice: opted out of non-essential messages (reminders, questionnaires due) or not."""

    patient_id: int
    opt_out_non_essential: bool
    changed_at: datetime | None = None


class PreferenceUpdate(BaseModel):
    """Opt out of (true) or back into (false) non-essential messages; essential ones always go."""

    model_config = ConfigDict(extra="forbid")

    opt_out_non_essential: bool


class SendReport(BaseModel):
    """What one run of the sender did."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = Field(default_factory=list)
