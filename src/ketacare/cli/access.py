"""`ketacare user ...` (accounts, TOTP) and `ketacare audit verify` (the hash-chained audit trail)."""

from __future__ import annotations

import sys

import typer

from ketacare.cli.shell import err, guard, out, print_json, ready_database
from ketacare.services.access import UserCreate, account_roles, audit_views, system_actor, users

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


@audit_app.command("verify")
def audit_verify(json_output: bool = typer.Option(False, "--json")) -> None:
    """Walk the hash chain; exit 1 naming the first event that was altered, removed or inserted."""
    db = ready_database()
    report = audit_views.verify(db=db, actor=system_actor())
    if json_output:
        print_json(report.__dict__)
    elif report.ok:
        out.print(f"audit chain intact: {report.checked} events, head {report.head_hash}")
    else:
        err.print(f"[bold red]audit chain broken[/] at event {report.first_bad_seq}: {report.problem}")
    if not report.ok:
        raise typer.Exit(1)
