"""`ketacare user ...` (accounts, TOTP) and `ketacare audit verify|checkpoint` (the audit trail)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import segno
import typer

from ketacare.cli.shell import err, fail, guard, out, print_json, ready_database
from ketacare.config import get_settings
from ketacare.domain.formatting import duration
from ketacare.services.access import (
    AccountRequest,
    AuditKey,
    Profile,
    account_roles,
    accounts,
    approvals,
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
    name: str = typer.Option(..., "--name", help="Full name as signatures show it, e.g. 'Dr Alice Ng'"),
    credentials: str | None = typer.Option(None, help="Shown after the name on signatures, e.g. MD, RN"),
    licence: str | None = typer.Option(None, help="Licence number"),
    patient_id: int | None = typer.Option(None, help="For a patient account: the patient record id"),
    password: str | None = typer.Option(None, help="Omit to be asked (not echoed); or pipe it on stdin"),
    temporary: bool = typer.Option(
        True, "--temporary/--final", help="The holder must choose their own password at first login (default)"
    ),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user account (password policy applies; the local command line needs no second approval)."""
    if password is None:
        password = (
            sys.stdin.readline().rstrip("\n")
            if not sys.stdin.isatty()
            else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        )
    db = ready_database()
    data = guard(
        AccountRequest,
        username=username,
        display_name=name,
        credentials=credentials,
        licence_number=licence,
        role=role,
        password=password,
        patient_id=patient_id,
    )
    outcome = guard(accounts.request_account, db=db, actor=system_actor(), data=data, temporary=temporary)
    u = outcome.user
    if u is None:  # the local command line acts at once; a pending request would be a policy change
        fail("the account waits for a second administrator: see `ketacare user changes`", 1)
    if json_output:
        print_json(u.model_dump())
    else:
        first = " (must choose a password at first login)" if u.must_change_password else ""
        out.print(f"created {u.username} ({u.role}){first}")


@user_app.command("list")
def user_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """List accounts: username, role, status and the name signatures show."""
    rows = guard(accounts.list_accounts, db=ready_database(), actor=system_actor())
    if json_output:
        print_json([u.model_dump() for u in rows])
        return
    for u in rows:
        status = "deactivated" if not u.is_active else "active"
        out.print(f"{u.username:20} {u.role:12} {status:12} {u.signature}")


@user_app.command("show")
def user_show(username: str, json_output: bool = typer.Option(False, "--json")) -> None:
    """Show one account with its open logins and failed-login counters."""
    db, actor = ready_database(), system_actor()
    u = guard(accounts.get_user, db=db, actor=actor, username=username)
    logins = guard(accounts.sessions, db=db, actor=actor, username=username)
    counters = guard(accounts.locks, db=db, actor=actor, username=username)
    if json_output:
        print_json(
            {
                "user": u.model_dump(),
                "sessions": [x.model_dump() for x in logins],
                "locks": [x.model_dump() for x in counters],
            }
        )
        return
    out.print(f"{u.signature} ({u.username}, {u.role}, {'active' if u.is_active else 'deactivated'})")
    for x in logins:
        out.print(f"  login {x.id} since {x.created_at:%Y-%m-%d %H:%M} UTC from {x.address or '?'}")
    for c in counters:
        out.print(
            f"  {c.failures} failed logins ({c.key})"
            + (f", locked until {c.locked_until}" if c.locked_until else "")
        )


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """Deactivate an account: every login it has ends at once."""
    guard(accounts.set_active, db=ready_database(), actor=system_actor(), username=username, active=False)
    out.print(f"deactivated {username}; its logins have ended")


@user_app.command("reactivate")
def user_reactivate(username: str) -> None:
    """Reactivate a deactivated account."""
    guard(accounts.set_active, db=ready_database(), actor=system_actor(), username=username, active=True)
    out.print(f"reactivated {username}")


@user_app.command("role")
def user_role(username: str, role: str) -> None:
    """Change an account's role (its logins end; the new role applies from the next login)."""
    guard(accounts.change_role, db=ready_database(), actor=system_actor(), username=username, role=role)
    out.print(f"{username} is now {role}")


@user_app.command("profile")
def user_profile(
    username: str,
    name: str = typer.Option(..., "--name"),
    credentials: str | None = typer.Option(None),
    licence: str | None = typer.Option(None),
) -> None:
    """Set the name, credentials and licence number an account's signatures show."""
    data = guard(Profile, display_name=name, credentials=credentials, licence_number=licence)
    u = guard(
        accounts.update_profile, db=ready_database(), actor=system_actor(), username=username, data=data
    )
    out.print(f"{u.username} signs as {u.signature}")


@user_app.command("revoke")
def user_revoke(
    username: str,
    session: int | None = typer.Option(None, help="One login id (see `user show`); default all"),
) -> None:
    """End one or all open logins of an account."""
    n = guard(
        accounts.revoke_sessions,
        db=ready_database(),
        actor=system_actor(),
        username=username,
        session_id=session,
    )
    out.print(f"ended {n} login(s) of {username}")


@user_app.command("reset-link")
def user_reset_link(username: str) -> None:
    """Print a one-time link (24 h) with which the holder sets a new password; shown only now."""
    token = guard(accounts.reset_link, db=ready_database(), actor=system_actor(), username=username)
    out.print(f"{get_settings().public_url.rstrip('/')}/password/{token}")


@user_app.command("changes")
def user_changes(json_output: bool = typer.Option(False, "--json")) -> None:
    """List account changes waiting for (or decided by) a second administrator."""
    rows = guard(approvals.list_changes, db=ready_database(), actor=system_actor())
    if json_output:
        print_json([c.model_dump() for c in rows])
        return
    for c in rows:
        out.print(f"{c.id:5} {c.status:9} {c.summary()} (asked by {c.requested_by})")


@user_app.command("approve")
def user_approve(change_id: int) -> None:
    """Approve a pending account change as the local operator."""
    u = guard(approvals.approve, db=ready_database(), actor=system_actor(), change_id=change_id)
    out.print(f"approved: {u.username} ({u.role})")


@user_app.command("totp")
def user_totp(
    username: str, qr: bool = typer.Option(False, "--qr", help="Also print a QR code to scan")
) -> None:
    """Enrol a staff account in a TOTP second factor and print the URI to scan."""
    db = ready_database()
    uri = guard(users.enable_totp, db=db, actor=system_actor(), username=username)
    out.print(uri)
    if qr:
        segno.make(uri, error="m").terminal(compact=True)


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
