"""The SMTP side of a sending run: refuse to start without a server, one connection reused for the run."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from types import TracebackType

from ketacare.config import Settings


class SmtpNotConfigured(RuntimeError):
    """KETACARE_SMTP_HOST is empty."""


def require(settings: Settings) -> None:
    """Refuse a sending run when no SMTP server is configured (the message says what to set)."""
    if not settings.smtp_host:
        raise SmtpNotConfigured("set KETACARE_SMTP_HOST (and KETACARE_SMTP_PORT, KETACARE_SMTP_FROM) first")


class Mailer:
    """Send messages over one SMTP connection, opened at the first message and again after a failure."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> str | None:
        """Send `msg`; return None when the server took it, else the error in one line (the run goes on)."""
        try:
            if self._smtp is None:
                self._smtp = smtplib.SMTP(self._settings.smtp_host, self._settings.smtp_port, timeout=15)
            self._smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            self._smtp = None  # a broken connection is not reused: the next message opens a new one
            return f"{type(e).__name__}: {e}"
        return None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None
