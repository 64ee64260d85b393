"""Errors services raise; adapters map them to HTTP statuses and CLI exit codes."""

from __future__ import annotations

from ketacare.domain.formatting import duration


class ServiceError(Exception):
    """Base class for refusals a user should see."""


class NotFound(ServiceError):
    """No such record, or one the actor may not know exists (HTTP 404)."""

    def __init__(self, what: str = "record") -> None:
        super().__init__(f"{what} not found")
        self.what = what


class HiddenByPolicy(NotFound):
    """A policy refusal answered as "not found" so that a record's existence does not leak."""


class Forbidden(ServiceError):
    """The actor's role may not do this (HTTP 403)."""

    def __init__(self, action: str, resource: str) -> None:
        super().__init__(f"your role may not {action} {resource.replace('_', ' ')}")
        self.action = action
        self.resource = resource


class Unauthenticated(ServiceError):
    """No valid login (HTTP 401)."""


class Conflict(ServiceError):
    """The record changed since the caller read it (HTTP 409); carries the current version."""

    def __init__(self, what: str, current_version: int, sent_version: int | None) -> None:
        super().__init__(
            f"{what} was changed by someone else: you edited version {sent_version}, the current version is "
            f"{current_version}. Reload, check their change, and save again."
        )
        self.what = what
        self.current_version = current_version
        self.sent_version = sent_version


class TooManyAttempts(ServiceError):
    """Signing in (or re-authenticating to sign) is delayed for a while after repeated failures (HTTP 429)."""

    def __init__(self, retry_after_s: int, field: str | None = None) -> None:
        super().__init__(f"too many failed attempts: try again in {duration(retry_after_s / 60)}")
        self.retry_after_s = retry_after_s
        self.field = field  # the form field the delay concerns (a signing password), if any


class EnrolmentRequired(ServiceError):
    """The clinic requires a one-time code of this role and the user has not enrolled one yet (HTTP 403; the web
    sends them to enrol)."""

    def __init__(self) -> None:
        super().__init__("enrol an authenticator app first: your clinic requires a one-time code for your role")



class PasswordChangeRequired(Forbidden):
    """An administrator set this account's password: its holder chooses their own before anything else (403)."""

    def __init__(self) -> None:
        ServiceError.__init__(self, "choose your own password first (an administrator set the current one)")
        self.action, self.resource = "use", "account"
