"""`ketacare backup`, `ketacare restore` and `ketacare backup-key`: the whole clinic to one file and back."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ketacare.cli.shell import database, fail, out, ready_database
from ketacare.services import backup
from ketacare.services.access import system_actor


def _key(key_file: Path | None) -> bytes | None:
    if key_file is None:
        return None
    try:
        return backup.read_key(key_file)
    except backup.BackupError as e:
        fail(str(e))


def backup_command(
    out_file: Path = typer.Argument(..., metavar="FILE", help="New file to write (never overwritten)"),
    key_file: Path | None = typer.Option(None, help="Encrypt with this key file (see `ketacare backup-key`)"),
) -> None:
    """Back up the whole database to FILE, with a manifest of what it holds (row counts, audit head)."""
    db = ready_database()
    try:
        m = backup.create_backup(db=db, actor=system_actor(), out=out_file, key=_key(key_file))
    except backup.BackupError as e:
        fail(str(e))
    rows = sum(m.tables.values())
    out.print(
        f"backed up {m.engine} database (revision {m.revision}) to {out_file}"
        f"{' (encrypted)' if key_file else ''}: {len(m.tables)} tables, {rows:,} rows, "
        f"{m.audit_events:,} audit events (chain {'intact' if m.audit_intact else 'BROKEN'}), "
        f"{m.signed_records} signed session records"
    )


def restore_command(
    in_file: Path = typer.Argument(..., metavar="FILE", help="A file written by `ketacare backup`"),
    key_file: Path | None = typer.Option(None, help="The key file the backup was encrypted with"),
) -> None:
    """Restore FILE into the empty database KETACARE_DATABASE_URL names, then verify it against the backup."""
    db = database()
    try:
        report = backup.restore_backup(db=db, actor=system_actor(), src=in_file, key=_key(key_file))
    except backup.BackupError as e:
        fail(str(e))
    m = report.manifest
    out.print(
        f"restored the {m.engine} backup of {m.created_at:%Y-%m-%d %H:%M} UTC: {len(m.tables)} tables "
        f"({'all row counts match' if report.tables_match else 'ROW COUNTS DIFFER'}), audit chain "
        f"{'intact' if report.audit_intact else 'BROKEN'} ({m.audit_events:,} events, head "
        f"{'matches' if report.audit_head_matches else 'DIFFERS'}), {report.signed_records} signed records "
        f"{'intact' if report.signed_records_intact else 'ALTERED'}"
    )
    if not report.ok:
        for p in report.problems:
            out.print(f"problem: {p}")
        raise typer.Exit(1)


def key_command(
    key_file: Path = typer.Argument(..., metavar="FILE", help="New key file (kept away from the database)"),
) -> None:
    """Write a new random backup key to FILE (readable by its owner only)."""
    if key_file.exists():
        fail(f"{key_file} exists: a key is never overwritten (backups made with it would be lost)")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(backup.new_key() + "\n")
    out.print(f"wrote a new backup key to {key_file}: keep a copy somewhere safe, apart from the backups")
