"""Password hashing (argon2id with transparent rehash) and the password policy."""

from __future__ import annotations

import os
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ketacare.domain.errors import InvalidValue

MIN_LENGTH = 12
MAX_LENGTH = 256
# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile). The test suite alone may ask for the
# cheapest profile (KETACARE_PASSWORD_HASH_PROFILE=test) so that hundreds of test logins stay fast.
_hasher = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if os.environ.get("KETACARE_PASSWORD_HASH_PROFILE") == "test"
    else PasswordHasher()
)


def hash_password(password: str) -> str:
    """Return an argon2id hash (salted, with its parameters) of `password`."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Return True when `password` matches `stored_hash`."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Return True when the hash was made with weaker parameters than today's (rehash at next login)."""
    return _hasher.check_needs_rehash(stored_hash)


@cache
def _common() -> frozenset[str]:
    text = resources.files("ketacare.services.access.data").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password_policy(password: str, username: str) -> None:
    """Refuse a password that is short, contains the username, or is on the common-password list."""
    if len(password) < MIN_LENGTH:
        raise InvalidValue("password", f"use at least {MIN_LENGTH} characters (a short phrase is easiest)")
    if len(password) > MAX_LENGTH:
        raise InvalidValue("password", f"use at most {MAX_LENGTH} characters")
    if username and username.casefold() in password.casefold():
        raise InvalidValue("password", "the password must not contain the username")
    if password.casefold() in _common():
        raise InvalidValue(
            "password", "that password is on the list of commonly used passwords; choose another"
        )
