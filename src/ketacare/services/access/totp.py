"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 30 s steps, 6 digits) for staff second factor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime, timedelta
from urllib.parse import quote

STEP_S = 30
DIGITS = 6


def new_secret() -> str:
    """Return a new random base32 secret (160 bits, as RFC 4226 recommends)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)


def code_at(secret: str, when: datetime) -> str:
    """Return the 6-digit code for the 30-second step containing `when`."""
    counter = step_of(when)
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def step_of(when: datetime) -> int:
    """Return the 30-second step counter containing `when`."""
    return int(when.timestamp()) // STEP_S


def matching_step(secret: str, code: str | None, when: datetime, window: int = 1) -> int | None:
    """Return the step whose code is `code` (allowing `window` steps of clock drift either side), else None.

    Every candidate is compared, so the time taken does not depend on which step matched."""
    found = None
    for k in range(-window, window + 1):
        at = when + timedelta(seconds=STEP_S * k)
        if hmac.compare_digest(code_at(secret, at), code or ""):
            found = step_of(at)
    return found


def accept(secret: str, code: str | None, when: datetime, last_step: int | None) -> int | None:
    """Return the step to store when `code` is valid now and newer than `last_step` (no replay), else None."""
    step = matching_step(secret, code, when)
    if step is None or (last_step is not None and step <= last_step):
        return None
    return step


def verify(secret: str, code: str, when: datetime, window: int = 1) -> bool:
    """Return True when `code` is valid at `when`, allowing `window` steps of clock drift either side."""
    return matching_step(secret, code, when, window) is not None


def provisioning_uri(secret: str, username: str, issuer: str = "Ketacare") -> str:
    """Return the otpauth:// URI an authenticator app scans."""
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
