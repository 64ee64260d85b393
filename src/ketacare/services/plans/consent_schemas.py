"""Input and output shapes of the consent use cases (issue 16 point 1), shared by api and web."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ketacare.domain.plans.consent_status import Status
from ketacare.services.access import SigningCredentials
from ketacare.services.refs import MAX_RECORD_ID

SignedVia = Literal["portal", "clinic_tablet"]
Indication = Literal["gad", "social-anxiety", "panic", "ptsd"]
# Drawn strokes as SVG path data from the signing canvas: moves and lines with numbers, nothing else.
SVG_PATH = r"^[ML0-9 .,\-]*$"


class ConsentSignIn(BaseModel):
    """The patient's signature of the document version they read: typed name plus a drawn or a click signature."""

    model_config = ConfigDict(extra="forbid")
    template_id: Annotated[str, StringConstraints(max_length=64)]
    version: Annotated[str, StringConstraints(max_length=16)] = Field(
        ..., description="The version you read; refused when the document changed meanwhile"
    )
    signed_via: SignedVia = Field(
        "portal",
        description="portal: the patient's own account; clinic_tablet: witnessed by the signed-in staff",
    )
    read_confirmed: bool = Field(False, description="The patient confirms they read the whole document")
    typed_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    signature_kind: Literal["drawn", "click"] = "click"
    signature_svg_path: Annotated[str, StringConstraints(max_length=40_000, pattern=SVG_PATH)] | None = None
    click_signed: bool = Field(False, description="Click signature: 'I sign this consent' ticked")
    indication: Indication | None = None


class ConsentCountersignIn(SigningCredentials):
    """The prescriber's countersignature, re-authenticated with their password or one-time code."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(
        ..., ge=1, le=MAX_RECORD_ID, description="The signature record version you read (optimistic locking)"
    )


class ConsentWithdrawIn(BaseModel):
    """A withdrawal of consent: when (default now) and the reason the patient gave."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    withdrawn_at: datetime | None = None


class ConsentSignatureRead(BaseModel):
    """A stored signature with who signed, witnessed, countersigned or recorded a withdrawal (display names)."""

    id: int
    patient_id: int
    template_id: str
    template_version: str
    title: str
    document_sha256: str
    routes: list[str]
    indication: str | None
    typed_name: str
    signature_kind: str
    signature_svg_path: str | None
    signed_at: datetime
    signed_via: str
    signed_by_name: str | None
    witnessed_by_name: str | None
    expires_at: datetime
    countersigned_at: datetime | None
    countersigned_by_name: str | None
    countersign_meaning: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    version: int


class ConsentStatusRead(BaseModel):
    """Whether a signed consent is in force for a route at a moment, with a plain reason."""

    route: str
    status: Status
    reason: str
    in_force: bool
    at: datetime
    signature_id: int | None = None
    template_id: str | None = None
    version: str | None = None
    current_version: str | None = None
    signed_at: datetime | None = None
    countersigned_at: datetime | None = None
    expires_at: datetime | None = None


class ConsentDocumentRead(BaseModel):
    """A consent document offered for signing (its routes, version and since when)."""

    id: str
    version: str
    title: str
    routes: list[str]
    effective: date
    valid_months: int
    reconsent_on_new_version: bool


class DocumentStatusRead(BaseModel):
    """One consent document in force and the patient's status for it."""

    document: ConsentDocumentRead
    status: ConsentStatusRead


class PatientConsentsRead(BaseModel):
    """A patient's consent on file: the status per route the clinic offers, and every signature (newest first)."""

    patient_id: int
    patient_name: str  # "Given Family", as the patient types it to sign
    mrn: str
    statuses: list[DocumentStatusRead]
    signatures: list[ConsentSignatureRead]
