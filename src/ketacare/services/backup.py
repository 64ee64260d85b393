"""Back up the whole clinic to one file and restore it into an empty database, both verified: row counts, the
audit chain and every signed session record must come back identical. Optionally encrypted with a key the clinic
holds (AES-256-GCM in chunks; a truncated or altered file is refused)."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import struct
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from ketacare import __version__
from ketacare.services import clock
from ketacare.services.access import Actor, audit
from ketacare.services.sessions import verify_signed_records
from ketacare.services.uow import UnitOfWork
from ketacare.store import backup as raw
from ketacare.store.db import Database
from ketacare.store.migrate import current_revision

MAGIC = b"KETACARE-BACKUP-AESGCM-1\n"
_CHUNK = 1 << 20
_MANIFEST = "manifest.json"


class BackupError(Exception):
    """The backup or restore was refused or failed; nothing was changed. The message says why."""


class Manifest(BaseModel):
    """What a backup holds, checked again after every restore."""

    format: Literal[1] = 1
    created_at: datetime
    app_version: str
    engine: str
    revision: str | None
    tables: dict[str, int]
    audit_events: int
    audit_head_hash: str
    audit_intact: bool
    signed_records: int


class RestoreReport(BaseModel):
    """What a restore did and what it checked."""

    manifest: Manifest
    tables_match: bool
    differences: dict[str, tuple[int, int]]
    audit_intact: bool
    audit_head_matches: bool
    signed_records: int
    signed_records_intact: bool
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def new_key() -> str:
    """Return a new random 256-bit key as text for a key file (keep it away from the database and its backups)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def read_key(path: Path) -> bytes:
    """Read a key file written by `new_key`."""
    try:
        key = base64.urlsafe_b64decode(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as e:
        raise BackupError(f"cannot read the key file {path}: {e}") from None
    if len(key) != 32:
        raise BackupError(f"{path} is not a backup key (expected 32 bytes, base64)")
    return key


def _state(db: Database) -> tuple[dict[str, int], audit.ChainReport, int, list[str]]:
    with db.session() as s:
        chain = audit.verify_chain(s)
        signed, record_problems = verify_signed_records(s)
    return raw.table_counts(db), chain, signed, record_problems


def create_backup(*, db: Database, actor: Actor, out: Path, key: bytes | None = None) -> Manifest:
    """Write a verified backup of the whole database to `out` (encrypted when `key` is given)."""
    if out.exists():
        raise BackupError(f"{out} exists: choose a new file name (a backup never overwrites one)")
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "clinic_backup")
        uow.audit("export", "clinic_backup", details={"file": out.name, "encrypted": key is not None})
    with tempfile.TemporaryDirectory(prefix="ketacare-backup-") as tmp:
        data = Path(tmp) / ("database.sqlite" if db.dialect == "sqlite" else "database.pgdump")
        try:
            raw.snapshot(db, data)
        except raw.BackupError as e:
            raise BackupError(str(e)) from None
        snap = _snapshot_db(db, data)
        try:
            tables, chain, signed, _ = _state(snap) if snap is not None else _state(db)
        finally:
            if snap is not None:
                snap.dispose()
        manifest = Manifest(
            created_at=clock.now(),
            app_version=__version__,
            engine=db.dialect,
            revision=current_revision(db),
            tables=tables,
            audit_events=chain.checked,
            audit_head_hash=chain.head_hash,
            audit_intact=chain.ok,
            signed_records=signed,
        )
        archive = Path(tmp) / "backup.tar"
        with tarfile.open(archive, "w") as tar:
            info = tarfile.TarInfo(_MANIFEST)
            body = manifest.model_dump_json(indent=2).encode()
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            tar.add(data, arcname=data.name)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as sink, archive.open("rb") as source:
            if key is None:
                while chunk := source.read(_CHUNK):
                    sink.write(chunk)
            else:
                _encrypt(source, sink, key)
    return manifest


def _snapshot_db(db: Database, data: Path) -> Database | None:
    """Open an SQLite snapshot to count what it holds (PostgreSQL counts come from the live database's dump
    transaction instead: pg_dump reads one consistent snapshot, and the counts are taken right after)."""
    if db.dialect != "sqlite":
        return None
    return Database(f"sqlite:///{data}")


def read_manifest(src: Path, key: bytes | None = None) -> Manifest:
    """Read a backup's manifest (decrypting it when needed) without restoring anything."""
    with tempfile.TemporaryDirectory(prefix="ketacare-restore-") as tmp:
        manifest, _ = _unpack(src, key, Path(tmp))
        return manifest


def restore_backup(*, db: Database, actor: Actor, src: Path, key: bytes | None = None) -> RestoreReport:
    """Restore a backup into the empty database `db`, then verify it against the backup's manifest."""
    with tempfile.TemporaryDirectory(prefix="ketacare-restore-") as tmp:
        manifest, data = _unpack(src, key, Path(tmp))
        if manifest.engine != db.dialect:
            raise BackupError(
                f"this backup is of a {manifest.engine} database; restore it into {manifest.engine} "
                f"(moving between engines is not supported)"
            )
        try:
            raw.load(db, data)
        except raw.BackupError as e:
            raise BackupError(str(e)) from None
    tables, chain, signed, record_problems = _state(db)
    differences = {
        name: (want, tables.get(name, 0))
        for name, want in manifest.tables.items()
        if tables.get(name, 0) != want
    }
    problems = [
        f"{name}: {want} rows in the backup, {got} restored" for name, (want, got) in differences.items()
    ]
    if manifest.audit_intact and not chain.ok:
        problems.append(f"audit chain: {chain.problem}")
    if chain.head_hash != manifest.audit_head_hash:
        problems.append("audit chain: the restored head does not match the backup's")
    problems.extend(record_problems)
    report = RestoreReport(
        manifest=manifest,
        tables_match=not differences,
        differences=differences,
        audit_intact=chain.ok,
        audit_head_matches=chain.head_hash == manifest.audit_head_hash,
        signed_records=signed,
        signed_records_intact=not record_problems,
        problems=problems,
    )
    with UnitOfWork(db, actor) as uow:  # recorded after the checks, so the counts compare like with like
        uow.authorize("restore", "clinic_backup")
        uow.audit(
            "create",
            "clinic_backup",
            outcome="success" if report.ok else "failure",
            reason="; ".join(problems)[:500] or None,
            details={
                "file": src.name,
                "backup_created_at": manifest.created_at.isoformat(),
                "restored": True,
            },
        )
    return report


def _unpack(src: Path, key: bytes | None, into: Path) -> tuple[Manifest, Path]:
    if not src.is_file():
        raise BackupError(f"{src} does not exist")
    archive = into / "backup.tar"
    with src.open("rb") as source:
        encrypted = source.read(len(MAGIC)) == MAGIC
        source.seek(0)
        if encrypted and key is None:
            raise BackupError(f"{src} is encrypted: give the clinic's key file (--key-file)")
        with archive.open("wb") as sink:
            if encrypted and key is not None:
                _decrypt(source, sink, key)
            else:
                while chunk := source.read(_CHUNK):
                    sink.write(chunk)
    try:
        with tarfile.open(archive, "r") as tar:
            names = tar.getnames()
            data_name = next((n for n in names if n in ("database.sqlite", "database.pgdump")), None)
            if _MANIFEST not in names or data_name is None:
                raise BackupError(f"{src} is not a Ketacare backup (no manifest or database inside)")
            tar.extractall(into, members=[tar.getmember(_MANIFEST), tar.getmember(data_name)], filter="data")
    except tarfile.TarError as e:
        raise BackupError(f"{src} is not a readable Ketacare backup: {e}") from None
    manifest = Manifest.model_validate(json.loads((into / _MANIFEST).read_text()))
    return manifest, into / data_name


def _encrypt(source: BinaryIO, sink: BinaryIO, key: bytes) -> None:
    aead, prefix = AESGCM(key), secrets.token_bytes(8)
    sink.write(MAGIC + prefix)
    chunks = _chunks(source)
    current = next(chunks, b"")
    counter = 0
    while True:
        following = next(chunks, None)
        flag = b"last" if following is None else b"more"  # the last chunk says so: a cut file is caught
        sealed = aead.encrypt(prefix + struct.pack(">I", counter), current, flag)
        sink.write(struct.pack(">I", len(sealed)) + sealed)
        if following is None:
            return
        current, counter = following, counter + 1


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk


def _decrypt(source: BinaryIO, sink: BinaryIO, key: bytes) -> None:
    aead = AESGCM(key)
    source.read(len(MAGIC))
    prefix = source.read(8)
    counter = 0
    while True:
        head = source.read(4)
        if len(head) < 4:
            raise BackupError("the backup file is truncated (its last part is missing)")
        sealed = source.read(struct.unpack(">I", head)[0])
        nonce = prefix + struct.pack(">I", counter)
        for flag in (b"more", b"last"):
            try:
                sink.write(aead.decrypt(nonce, sealed, flag))
            except InvalidTag:
                continue
            if flag == b"last":
                if source.read(1):
                    raise BackupError("the backup file has data after its end: it was altered")
                return
            break
        else:
            raise BackupError("the key does not open this backup, or the file was altered")
        counter += 1
