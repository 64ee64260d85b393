"""`ketacare user ...` (accounts, TOTP) and `ketacare audit verify|checkpoint` (the audit trail)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ketacare.cli.shell import err, fail, guard, out, print_json, ready_database
from ketacare.config import get_settings
from ketacare.domain.formatting import duration
from ketacare.services.access import (
    AuditKey,
    UserCreate,
    account_roles,
    audit_checkpoints,
    audit_keys,
    audit_views,
    checkpoint_dir,
    system_actor,
    throttle,
    users,
)

if TYPE_CHECKING:
    from ketacare.store.db import Database

user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(..., help=f"One of the policy's roles: {', '.join(account_roles())}"),
    name: str = typer.Option(..., "--name", help="Display name"),
    patient_id: int | None = typer.Option(None, help="For a patient account: the patient record id"),
    password: str | None = typer.Option(None, help="Omit to be asked (not echoed); or pipe it on stdin"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user account (password policy applies)."""
    if password is None:
        password = (
            sys.stdin.readline().rstrip("\n")
            if not sys.stdin.isatty()
            else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        )
    db = ready_database()
    data = guard(
        UserCreate, username=username, display_name=name, role=role, password=password, patient_id=patient_id
    )
    u = guard(users.create_user, db=db, actor=system_actor(), data=data)
    if json_output:
        print_json(u.model_dump())
    else:
        out.print(f"created {u.username} ({u.role})")


@user_app.command("totp")
def user_totp(username: str) -> None:
    """Enrol a staff account in a TOTP second factor and print the URI to scan."""
    db = ready_database()
    out.print(guard(users.enable_totp, db=db, actor=system_actor(), username=username))


@user_app.command("unlock")
def user_unlock(username: str, json_output: bool = typer.Option(False, "--json")) -> None:
    """Clear the sign-in delays of an account (every address and device it was tried from)."""
    db = ready_database()
    cleared = guard(throttle.clear, db=db, actor=system_actor(), username=username)
    if json_output:
        print_json({"username": username, "cleared": cleared})
    else:
        out.print(f"{username}: {cleared} sign-in counter(s) cleared")


@user_app.command("throttled")
def user_throttled(json_output: bool = typer.Option(False, "--json")) -> None:
    """List sign-in counters with failures: account, address or device, failures, delay still to run."""
    db = ready_database()
    rows = throttle.list_state(db=db, actor=system_actor())
    if json_output:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    for r in rows:
        delay = f"delayed {duration(r.delay_s / 60)}" if r.delay_s else "not delayed"
        out.print(f"{r.username or '-'}  {r.kind}  {r.address or '-'}  {r.failures} failure(s)  {delay}")


def _audit_setup() -> tuple[Database, AuditKey, Path]:
    settings = get_settings()
    db = ready_database()
    try:
        key = audit_keys.configure(settings)
    except (audit_keys.AuditKeyError, OSError) as e:
        fail(f"audit key: {e}", 1)
    return db, key, checkpoint_dir(settings, db.url)


@audit_app.command("verify")
def audit_verify(json_output: bool = typer.Option(False, "--json")) -> None:
    """Check the chain, its seals, the database guards and the signed checkpoints; exit 1 naming the first break."""
    db, key, directory = _audit_setup()
    report = audit_views.verify(db=db, actor=system_actor(), key=key, checkpoint_directory=directory)
    if json_output:
        print_json(dataclasses.asdict(report))
    elif report.ok:
        out.print(f"audit chain intact: {report.checked} events ({report.sealed} sealed), head {report.head_hash}, "
                  f"{report.checkpoints} signed checkpoint(s) in {directory} match", highlight=False, soft_wrap=True)
    else:
        where = f"at event {report.first_bad_seq}" if report.first_bad_seq is not None else "(chain-wide)"
        err.print(f"[bold red]audit chain broken[/] {where}: {report.problem}", highlight=False, soft_wrap=True)
        for f in report.findings[1:]:
            err.print(f"  - {f.problem}", highlight=False, soft_wrap=True)
    if not json_output:
        for note in report.notes:
            out.print(f"note: {note}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    directory: Path | None = typer.Option(
        None, "--dir", help="Where to write (default KETACARE_AUDIT_CHECKPOINT_DIR); the database user must not "
                            "be able to write there"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Sign the newest audit event into the checkpoint directory (run it regularly, e.g. every minute from cron)."""
    db, key, default_dir = _audit_setup()
    try:
        cp = audit_checkpoints.write_checkpoint(
            db=db, actor=system_actor(), key=key, directory=directory or default_dir
        )
    except ValueError as e:
        fail(str(e), 1)
    if json_output:
        print_json(dataclasses.asdict(cp))
    else:
        out.print(f"checkpoint {'written' if cp.created else 'already present'}: event {cp.seq} -> {cp.path}")
