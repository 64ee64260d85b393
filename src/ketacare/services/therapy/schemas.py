"""Input and output shapes of the integration-therapy use cases, shared by the API and the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ketacare.services.access import SigningCredentials
from ketacare.services.refs import Version

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
RecordRef = Annotated[int, Field(ge=1, le=2**31 - 1)]
Sharing = Literal["private", "care_team"]
VisitStatusName = Literal["upcoming", "due", "overdue", "done", "expired"]
# The free-text fields of a note, in the order the page shows them.
TEXT_FIELDS = (
    "themes",
    "insights",
    "coping_skills",
    "homework",
    "intentions",
    "expectations",
    "set_and_setting",
    "safety_plan",
    "narrative",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GoalProgressIn(_Strict):
    """Progress on one goal, recorded with a visit's note."""

    goal_id: RecordRef
    status: str
    progress: NoteText | None = None


class NoteCreate(_Strict):
    """A therapy visit's note. Integration notes follow an infusion (`session_id`; left out: the patient's latest
    infusion before the visit) and answer the risk check; preparation notes come before the first infusion.
    `visit_at` is UTC (left out: now)."""

    kind: Literal["integration", "preparation"] = "integration"
    session_id: RecordRef | None = None
    visit_at: datetime | None = None
    modality: str | None = None
    themes: NoteText | None = None
    insights: NoteText | None = None
    coping_skills: NoteText | None = None
    homework: NoteText | None = None
    intentions: NoteText | None = None
    expectations: NoteText | None = None
    set_and_setting: NoteText | None = None
    safety_plan: NoteText | None = None
    narrative: NoteText | None = None
    risk: dict[str, str] = Field(default_factory=dict, description="risk question -> answer (integration notes)")
    sharing: Sharing = "private"
    goal_progress: list[GoalProgressIn] = Field(default_factory=list, max_length=50)


class NoteSign(_Strict, SigningCredentials):
    """Sign your own note as it is now; send the `version` you read and your password (or one-time code)."""

    version: Version


class NoteAddendumCreate(_Strict):
    """A correction or addition to a signed note (its author only)."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class GoalCreate(_Strict):
    goal: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    status: str = "active"


class AddendumRead(BaseModel):
    id: int
    text: str
    author_name: str
    at: datetime
    digest_sha256: str


class InfusionRef(BaseModel):
    """The infusion a note follows: its session, its number in the patient's course, when it ended."""

    session_id: int
    number: int
    ended_at: datetime | None


class NoteRead(BaseModel):
    id: int
    patient_id: int
    kind: str
    kind_label: str
    author_id: int
    author_name: str
    visit_at: datetime
    infusion: InfusionRef | None
    timing: str  # "2 days after infusion 3", "before the first infusion"
    modality: str | None
    modality_label: str | None
    texts: dict[str, str]  # the free-text fields that were filled, in TEXT_FIELDS order
    risk: dict[str, str]
    escalated: bool
    escalated_items: list[str]
    sharing: Sharing
    signed_at: datetime | None
    signed_meaning: str | None
    digest_sha256: str | None
    addenda: list[AddendumRead]
    version: int
    mine: bool  # written by the reader


class NoteSummary(BaseModel):
    """A note the reader may not open, shown in the timeline only as a private entry (never its content)."""

    id: int
    kind_label: str
    author_name: str
    visit_at: datetime


class GoalProgressRead(BaseModel):
    status: str
    progress: str | None
    at: datetime
    note_id: int | None


class GoalRead(BaseModel):
    id: int
    goal: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    version: int
    progress: list[GoalProgressRead]


class VisitDue(BaseModel):
    """The integration visit after one infusion: when it is due and whether a note covers it."""

    patient_id: int
    patient_name: str
    mrn: str
    infusion: InfusionRef
    due_from: datetime
    due_by: datetime
    status: VisitStatusName


class TherapyView(BaseModel):
    """A patient's therapy page: notes the reader may open, private ones of others as bare entries, goals,
    integration visits, and the first infusion (preparation visits come before it)."""

    patient_id: int
    patient_name: str
    mrn: str
    notes: list[NoteRead]
    private_entries: list[NoteSummary]
    goals: list[GoalRead]
    visits: list[VisitDue]
    infusions: list[InfusionRef]
    first_infusion_at: datetime | None


class PlanNote(BaseModel):
    """A note shared with the care team, for the plan page and the chart: the essentials a prescriber reads."""

    id: int
    kind_label: str
    author_name: str
    visit_at: datetime
    timing: str
    modality_label: str | None
    summary: str  # themes / insights / homework, shortened
    escalated: bool
    signed: bool
