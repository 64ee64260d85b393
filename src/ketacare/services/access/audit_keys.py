"""The audit key: kept outside the database, it seals every event (HMAC) and signs checkpoints (Ed25519)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ketacare.config import Settings, get_settings

MIN_SECRET_CHARS = 32


class AuditKeyError(RuntimeError):
    """The audit key is missing or unusable."""


@dataclass(frozen=True)
class AuditKey:
    """Two keys derived from one secret: one seals events, the other signs checkpoints."""

    seal_key: bytes
    signing_key: Ed25519PrivateKey

    def seal(self, event_hash: str) -> str:
        """Return the HMAC-SHA256 (hex) of an event hash."""
        return hmac.new(self.seal_key, event_hash.encode("ascii"), hashlib.sha256).hexdigest()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_hex(self) -> str:
        """Return the raw checkpoint public key as hex (safe to publish)."""
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def key_from_secret(secret: bytes) -> AuditKey:
    """Derive the seal and signing keys from one secret."""
    seal_key = hmac.new(secret, b"ketacare audit event seal v1", hashlib.sha256).digest()
    seed = hmac.new(secret, b"ketacare audit checkpoint signature v1", hashlib.sha256).digest()
    return AuditKey(seal_key=seal_key, signing_key=Ed25519PrivateKey.from_private_bytes(seed))


def _from_text(text: str, where: str) -> AuditKey:
    text = text.strip()
    if len(text) < MIN_SECRET_CHARS:
        raise AuditKeyError(f"the audit key in {where} is shorter than {MIN_SECRET_CHARS} characters")
    return key_from_secret(text.encode("utf-8"))


def load_key(settings: Settings, *, create: bool) -> AuditKey | None:
    """Return the configured audit key; with `create`, write a new key file when there is none."""
    if settings.audit_key:
        return _from_text(settings.audit_key, "KETACARE_AUDIT_KEY")
    path = Path(settings.audit_key_file)
    if path.exists():
        return _from_text(path.read_text(encoding="utf-8"), str(path))
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then linked into place: two processes starting at once agree on one key.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _from_text(path.read_text(encoding="utf-8"), str(path))


_current: AuditKey | None = None


def use(key: AuditKey | None) -> None:
    """Set the process-wide audit key (the app and the CLI at start; tests)."""
    global _current
    _current = key


def configure(settings: Settings) -> AuditKey:
    """Load (or create) the key named by `settings` and make it the process-wide key."""
    key = load_key(settings, create=True)
    if key is None:  # pragma: no cover - load_key(create=True) writes a key or raises
        raise AuditKeyError("no audit key")
    use(key)
    return key


def current() -> AuditKey:
    """Return the process-wide audit key, loading it from the environment's settings on first use."""
    return _current if _current is not None else configure(get_settings())
