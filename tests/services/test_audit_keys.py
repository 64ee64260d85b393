"""The audit key: made once outside the database, read back the same, refused when too short."""

from __future__ import annotations

import stat

import pytest

from ketacare.config import Settings
from ketacare.services.access import audit_keys


def test_a_key_file_is_created_once_private_and_read_back(tmp_path):
    path = tmp_path / "keys" / "audit.key"
    settings = Settings(audit_key="", audit_key_file=str(path))
    assert audit_keys.load_key(settings, create=False) is None
    first = audit_keys.load_key(settings, create=True)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = audit_keys.load_key(settings, create=True)
    assert first.seal("ab" * 32) == again.seal("ab" * 32)
    assert first.public_key_hex() == again.public_key_hex()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_a_short_key_is_refused():
    with pytest.raises(audit_keys.AuditKeyError, match="shorter than 32"):
        audit_keys.load_key(Settings(audit_key="too short"), create=False)


def test_different_keys_make_different_seals():
    a = audit_keys.key_from_secret(b"a" * 40)
    b = audit_keys.key_from_secret(b"b" * 40)
    assert a.seal("0" * 64) != b.seal("0" * 64) and a.public_key_hex() != b.public_key_hex()
