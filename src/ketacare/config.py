"""Settings from KETACARE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings; every field can be set as KETACARE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="KETACARE_", extra="ignore")

    database_url: str = Field(
        "sqlite:///var/ketacare.db", description="SQLAlchemy URL: sqlite:///... or postgresql+psycopg://..."
    )
    weight_unit: Literal["kg", "lb"] = "kg"
    height_unit: Literal["cm", "in", "ft_in"] = "cm"
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_lockout_base_seconds: int = 30
    cookie_secure: bool = False
    demo: bool = False
    # Measurement-based care (issue #4): reminder email and one-time questionnaire links.
    smtp_host: str = Field("", description="SMTP server for patient reminders; none are sent when empty")
    smtp_port: int = 25
    smtp_from: str = "ketacare@localhost"
    link_key: str = Field("", description="HMAC key for one-time questionnaire links (generated if empty)")
    public_url: str = Field("http://localhost:8000", description="Base URL of the clinic, for links in email")
    assessment_plan: str = "standard"
    # Infusion sessions (issue #7): how often overdue-reading alerts are checked without a new reading; 0 = off.
    overdue_sweep_seconds: float = Field(30.0, ge=0)
    # Display (issue 12 point 7) until the clinic settings issue adds it: times are shown in this zone, labelled.
    timezone: str = Field(
        "UTC", description="IANA time zone for displayed times, e.g. Europe/Berlin (default UTC)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from ketacare.domain.formatting import zone

        zone(v)  # InvalidValue (a ValueError) for an unknown zone: the app refuses to start
        return v


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()
