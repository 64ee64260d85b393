"""Typed clinic settings shared by the API and the pages (issue 13)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ketacare.domain import formatting
from ketacare.domain.clinic import check_phone, dial_href
from ketacare.domain.errors import InvalidValue
from ketacare.domain.messages import DEFAULT_LOCALE, check_locale
from ketacare.services.refs import MAX_RECORD_ID

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Basis = Literal["actual", "adjusted", "ideal"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CrisisLine(_Strict):
    """A crisis line shown to patients: the country it serves, its name, the number to dial and when to call."""

    country: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    name: Name
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    when: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]

    @field_validator("number")
    @classmethod
    def _dialable(cls, v: str) -> str:
        try:
            return check_phone(v, "number")
        except InvalidValue as e:
            raise ValueError(e.message) from None

    @property
    def href(self) -> str:
        """Return the tel: link that dials exactly the number shown."""
        return dial_href(self.number)


class ClinicSettingsIn(_Strict):
    """Everything a clinic sets about itself. Times are shown and entered in `timezone` (IANA name)."""

    name: Name
    address: LongText = ""
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = "UTC"
    locale: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=16)] = Field(
        DEFAULT_LOCALE, description="Language of patient messages: dates and times in it (babel, e.g. en_US)"
    )
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""
    crisis_lines: list[CrisisLine] = Field(min_length=1, max_length=12)
    weight_unit: Literal["kg", "lb"] = "kg"
    height_unit: Literal["cm", "in", "ft_in"] = "cm"
    weight_bmi_threshold: float = Field(
        30.0, description="BMI (kg/m2) at or above which the prescriber chooses"
    )
    weight_basis_at_or_above: Basis = "ideal"
    assessment_plan: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = (
        "standard"
    )
    alert_thresholds: dict[str, float] = Field(
        default_factory=dict, description='Alert thresholds the clinic changed, "rule.vital" -> value'
    )
    outcome_primary_instruments: dict[str, str] = Field(
        default_factory=dict,
        description='Primary outcome instrument per diagnosis concept ("gad" -> "gad7"; "default" for the rest); '
        "empty: the shipped defaults (issue 18)",
    )
    reminder_subject: Text = "Your clinic asks you to fill in a short questionnaire"
    reminder_intro: LongText = (
        "Your care team asks you to fill in a short questionnaire. It takes a few minutes."
    )
    fictional: bool = Field(False, description="True for the demo's example clinic (not a real clinic)")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            formatting.zone(v)
        except InvalidValue as e:
            raise ValueError(e.message) from None
        return v

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        try:
            return check_locale(v)
        except InvalidValue as e:
            raise ValueError(e.message) from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        try:
            return check_phone(v, "phone") if v else v
        except InvalidValue as e:
            raise ValueError(e.message) from None


class ClinicSettingsUpdate(ClinicSettingsIn):
    """A new version of the settings: the version it replaces and why it changed."""

    base_version: int = Field(
        ge=0, le=MAX_RECORD_ID, description="The version this edit started from (409 when it is stale)"
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ClinicSettingsRead(ClinicSettingsIn):
    """The settings in force: version 0 means "from the environment, never saved in the database"."""

    version: int
    changed_by_name: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None


class ThresholdRead(BaseModel):
    """One alert threshold a clinic may set: its bounds, the shipped default and the value in force."""

    key: str
    rule: str
    rule_title: str
    vital: str
    unit: str
    min: float
    max: float
    default: float
    value: float
    changed: bool
    source: str
