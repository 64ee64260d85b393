"""Input and output shapes of accounts, sign-in and the audit trail, shared by api, web and cli."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ketacare.services.access.policy import account_roles, is_patient_role
from ketacare.services.refs import RecordRef

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserCreate(_Strict):
    username: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            to_lower=True,
            min_length=3,
            max_length=64,
            pattern=r"^[a-z0-9][a-z0-9._\-]*$",
        ),
    ]
    display_name: Name
    role: str  # one of the policy's account roles (policy.toml)
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    patient_id: RecordRef | None = None

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        allowed = account_roles()
        if value not in allowed:
            raise ValueError(f"unknown role {value!r}: use one of {', '.join(allowed)}")
        return value

    @model_validator(mode="after")
    def _patient_link(self) -> Self:
        patient_account = is_patient_role(self.role)
        if patient_account and self.patient_id is None:
            raise ValueError("a patient account needs patient_id")
        if not patient_account and self.patient_id is not None:
            raise ValueError("only a patient account links to a patient record")
        return self


class LoginRequest(_Strict):
    username: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None


class UserRead(_Read):
    id: int
    username: str
    display_name: str
    role: str
    patient_id: int | None
    is_active: bool
    totp_enabled: bool = False


class AuditEventRead(_Read):
    seq: int
    occurred_at: datetime
    actor_username: str
    actor_role: str
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: int | None
    outcome: str
    reason: str | None
    address: str | None


class AuditFilter(BaseModel):
    """What the audit page and its CSV export select: local dates in the clinic's zone, MRN, user, action."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    mrn: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    action: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    outcome: Literal["success", "denied", "failure"] | None = None
    date_from: date | None = None
    date_to: date | None = None

    @field_validator("date_to")
    @classmethod
    def _dates_in_order(cls, v: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if v is not None and start is not None and v < start:
            raise ValueError("Enter an end date on or after the start date")
        return v


class AuditRow(AuditEventRead):
    mrn: str | None = None


class AuditPage(BaseModel):
    events: list[AuditRow]
    total: int
    page: int
    pages: int
    per_page: int


class ThrottleRead(BaseModel):
    """One sign-in counter as an administrator sees it."""

    key: str
    kind: str  # "pair" (account + address), "account" (all addresses), "device" (a known device)
    username: str | None
    address: str | None
    failures: int
    last_failure_at: datetime | None
    delayed_until: datetime | None
    delay_s: int


class LoginNoticeRead(_Read):
    """Failed sign-in attempts on the account since its owner last signed in."""

    id: int
    failures: int
    first_failure_at: datetime
    last_failure_at: datetime
    addresses: list[str]


class SigningCredentials(BaseModel):
    """Re-authentication at the moment of signing: the password, or the one-time code when the user has TOTP."""

    password: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        None, description="Your password (accounts without a one-time code)"
    )
    totp_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = Field(
        None, description="The 6-digit code from your authenticator app (accounts with TOTP)"
    )


class TotpEnrolment(_Strict):
    """Confirm a new authenticator: the secret it was given, a code it shows now, and the password."""

    secret: Annotated[str, StringConstraints(pattern=r"^[A-Z2-7]{16,64}$")]
    totp_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TotpSecret(BaseModel):
    """A new secret to enter in an authenticator app (shown once)."""

    secret: str
    uri: str


# --- account administration (issues 13 and 14) ---

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._\-]*$"
    ),
]
Credentials = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Licence = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


class Profile(_Strict):
    """What a person's signature shows: "Dr Alice Ng, MD", and the licence number on signed records."""

    display_name: Name
    credentials: Credentials | None = None
    licence_number: Licence | None = None

    @field_validator("display_name", mode="before")
    @classmethod
    def _name_given(cls, value: object) -> object:
        if _blank(value):
            raise ValueError("enter the person's full name")
        return value

    @field_validator("credentials", "licence_number")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class AccountRequest(Profile):
    """A new account an administrator asks for; the password is temporary (changed at first login)."""

    username: Username
    role: str
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    patient_id: int | None = None

    @field_validator("password", mode="before")
    @classmethod
    def _password_given(cls, value: object) -> object:
        if _blank(value):
            raise ValueError("enter a temporary password")
        return value

    @field_validator("username", mode="before")
    @classmethod
    def _username_shape(cls, value: object) -> object:
        text = str(value or "").strip().lower()
        if len(text) < 3 or not text[0].isalnum() or not set(text) <= _USERNAME_CHARS:
            raise ValueError("use at least 3 lower-case letters, digits, . _ or -, starting with a letter or digit")
        return value

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        allowed = account_roles()
        if value not in allowed:
            raise ValueError(f"unknown role {value!r}: use one of {', '.join(allowed)}")
        return value


class PasswordChange(_Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    confirm_password: Annotated[str, StringConstraints(min_length=0, max_length=256)]


class UserDetailRead(UserRead):
    credentials: str | None = None
    licence_number: str | None = None
    must_change_password: bool = False
    created_at: datetime
    password_changed_at: datetime
    deactivated_at: datetime | None = None
    signature: str = ""


class SessionRead(_Read):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None


class LockRead(BaseModel):
    key: str
    failures: int
    locked_until: datetime | None


class AccountChangeRead(_Read):
    id: int
    kind: str
    username: str
    payload: dict[str, object]
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    def summary(self) -> str:
        """Say in words what the change does."""
        p = self.payload
        if self.kind == "role":
            return f"change {self.username} from {p.get('from_role')} to {p.get('role')}"
        if self.kind == "link_patient":
            return f"portal login {self.username} for patient record {p.get('patient_id')}"
        creds = f", {p['credentials']}" if p.get("credentials") else ""
        return f"new {p.get('role')} account {self.username} ({p.get('display_name')}{creds})"


class AccountOutcome(BaseModel):
    """What an administrator's request did: the account now, or the change awaiting a second administrator."""

    user: UserDetailRead | None = None
    pending: AccountChangeRead | None = None


class BreakGlassRead(_Read):
    id: int
    username: str
    reason: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    events: int = 0
