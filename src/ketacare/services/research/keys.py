"""The research export key: kept outside the database (like the audit key), it makes pseudonyms and date shifts."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ketacare.config import Settings

MIN_SECRET_CHARS = 32


class ResearchKeyError(RuntimeError):
    """The research key is missing or unusable."""


def _derive(text: str, where: str) -> bytes:
    text = text.strip()
    if len(text) < MIN_SECRET_CHARS:
        raise ResearchKeyError(f"the research key in {where} is shorter than {MIN_SECRET_CHARS} characters")
    return hmac.new(text.encode("utf-8"), b"ketacare research export v1", hashlib.sha256).digest()


def load_key(settings: Settings) -> bytes:
    """Return the research key named by `settings`; write a new key file (mode 600) when there is none."""
    if settings.research_key:
        return _derive(settings.research_key, "KETACARE_RESEARCH_KEY")
    path = Path(settings.research_key_file)
    if not path.exists():
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
    return _derive(path.read_text(encoding="utf-8"), str(path))
