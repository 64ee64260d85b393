"""Password hashing (argon2id with transparent rehash) and the password policy."""

from __future__ import annotations

import os
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from ketacare.domain.errors import InvalidValue

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's score from 0 (guessable in under 10^3 tries) to 4 (over 10^10): 3 resists an offline attack on a
# slow hash such as argon2id for years. Only the first STRENGTH_CHARS characters are estimated (zxcvbn 4.5 refuses
# longer input, and slows down on long input).
MIN_STRENGTH = 3
STRENGTH_CHARS = 72  # zxcvbn refuses longer input
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


def weakness(password: str, personal: tuple[str, ...] = ()) -> str | None:
    """Return zxcvbn's advice when `password` is too easy to guess (names, dates, common words), else None."""
    inputs = [w for p in personal if p for w in (p, *p.split())]
    result = zxcvbn(password[:STRENGTH_CHARS], user_inputs=inputs)
    if result["score"] >= MIN_STRENGTH:
        return None
    feedback = result["feedback"]
    advice = [feedback.get("warning") or "This password is easy to guess.", *feedback.get("suggestions", [])]
    return " ".join(a for a in advice if a)


def check_password_policy(password: str, username: str, personal: tuple[str, ...] = ()) -> None:
    """Refuse a password that is short, contains the username, is common, or that zxcvbn finds easy to guess."""
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
    advice = weakness(password, (username, *personal))
    if advice is not None:
        raise InvalidValue("password", f"too easy to guess. {advice}")
