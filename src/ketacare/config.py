"""Settings from KETACARE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
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
    auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=30,
        description="How long an app process remembers a resolved session token (0 = ask the database every "
        "request); a session revoked by another process or the command line stops working within this time",
    )
    login_max_failures: int = 5
    login_lockout_base_seconds: int = 30
    # Failures for one account from all addresses before sign-ins from unknown devices are delayed (issue 14).
    login_account_max_failures: int = 20
    device_key: str = Field("", description="HMAC key for known-device cookies (generated and kept if empty)")
    totp_required_roles: str = Field(
        "", description="Comma-separated roles that must use a one-time code (policy: totp_requirable)"
    )
    cookie_secure: bool = Field(False, description="Secure cookie flag; always on when public_url is https")
    demo: bool = False
    # Measurement-based care (issue #4): reminder email and one-time questionnaire links.
    smtp_host: str = Field("", description="SMTP server for patient reminders; none are sent when empty")
    smtp_port: int = 25
    smtp_from: str = "ketacare@localhost"
    link_key: str = Field("", description="HMAC key for one-time questionnaire links (generated if empty)")
    public_url: str = Field("http://localhost:8000", description="Base URL of the clinic, for links in email")
    assessment_plan: str = "standard"
    # Patient messages (issue 17): the server itself sends due messages every N seconds; 0 = off (use cron and
    # `ketacare messages send` instead, or both: each message goes once).
    messages_loop_seconds: float = Field(0.0, ge=0)
    # Infusion sessions (issue #7): how often overdue-reading alerts are checked without a new reading; 0 = off.
    overdue_sweep_seconds: float = Field(30.0, ge=0)
    # First-start seeds of the clinic settings (issue 13): timezone, weight_unit, height_unit and assessment_plan
    # apply until an administrator saves the clinic settings (/admin/clinic); from then on the database wins.
    timezone: str = Field(
        "UTC", description="IANA time zone until the clinic settings are saved, e.g. Europe/Berlin (default UTC)"
    )
    # The clinic's name, address and phone before an administrator saves the clinic settings (services/clinic
    # `clinic_identity` reads the settings in force). Address lines separated by "; ".
    clinic_name: str = Field("", description="The clinic's name on printed records")
    clinic_address: str = Field("", description="The clinic's address on printed records (lines separated by '; ')")
    clinic_phone: str = Field("", description="The clinic's phone number on printed records")

    # Audit trail (issue 14 point 3): the key that seals events and signs checkpoints lives outside the database.
    audit_key: str = Field("", description="Audit key text (at least 32 characters); overrides audit_key_file")
    audit_key_file: str = Field(
        "var/audit.key", description="File holding the audit key; created (mode 600) on first use when missing"
    )
    # Research export (issue 18 point 5): the key of the keyed-hash ids and date shifts lives outside the database.
    research_key: str = Field("", description="Research export key text (at least 32 characters)")
    research_key_file: str = Field(
        "var/research.key", description="File holding the research export key; created (mode 600) when missing"
    )
    research_min_cell_count: int = Field(
        0, ge=0, le=1000, description="Smallest count an aggregate table shows (0 = the shipped default, 5)"
    )
    audit_checkpoint_dir: str = Field(
        "", description="Directory for signed audit checkpoints (default: beside an SQLite file, else var/)"
    )

    # Limits (issue 14): request bodies, API requests per token, how long to wait for the database.
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Largest request body accepted (413 above)")
    api_rate_per_minute: int = Field(
        6000,
        ge=0,
        description="API requests per minute per token (0 = no limit); a gateway of 50 chairs at 1 Hz needs 3000",
    )
    api_rate_burst: int = Field(
        600, ge=1, description="API requests a token may send at once before the rate applies"
    )
    db_connect_timeout_s: int = Field(
        2, ge=1, le=60, description="Seconds to wait for a PostgreSQL connection"
    )
    # CPU per request under concurrency (issue 15): with anyio's default of 40 threads per process, 16 clients
    # kept ~16 threads runnable that took the GIL from each other (and from the event loop) every 5 ms; fewer
    # threads and a shorter switch interval let a request that holds the GIL finish and answer sooner.
    worker_threads: int = Field(
        8,
        ge=1,
        le=30,  # the connection pool holds 10 + 20 overflow: more threads than that would wait for a connection
        description="Threads per app process that run database work at once (requests beyond queue for one)",
    )
    switch_interval_ms: float = Field(
        0.5,
        ge=0.1,
        le=100,
        description="How long a thread may hold Python's interpreter lock before another may take it (Python's "
        "default is 5)",
    )

    loop_lag_log: bool = Field(
        False, description="Log when an app process's event loop is late, with what it was running (issue 15)"
    )
    loop_lag_ms: float = Field(50.0, ge=1, description="How late the event loop must be to be logged")

    @property
    def https(self) -> bool:
        """Tell whether the clinic is served over https (then cookies are Secure and HSTS is sent)."""
        return self.public_url.lower().startswith("https://")

    @model_validator(mode="after")
    def _secure_cookies_on_https(self) -> Settings:
        if self.https:
            self.cookie_secure = True
        return self

    @property
    def totp_roles(self) -> frozenset[str]:
        """The roles named in totp_required_roles."""
        return frozenset(r.strip() for r in self.totp_required_roles.split(",") if r.strip())

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
