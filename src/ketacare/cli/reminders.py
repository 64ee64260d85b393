"""`ketacare reminders send`: email patients about due questionnaires (at most three reminders per item)."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from ketacare.config import get_settings

reminders_app = typer.Typer(help="Questionnaire reminders by email.", no_args_is_help=True)
err = Console(stderr=True)


@reminders_app.command("send")
def send(as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Send reminder emails for due and overdue questionnaires through KETACARE_SMTP_HOST."""
    from ketacare.services.measurement import SmtpNotConfigured, send_reminders
    from ketacare.store.db import Database
    from ketacare.store.migrate import NotMigrated, require_current

    settings = get_settings()
    db = Database(settings.database_url)
    try:
        require_current(db)
        report = send_reminders(db=db, settings=settings)
    except SmtpNotConfigured as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(2) from None
    except NotMigrated as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    result = {
        "sent": report.sent,
        "failed": report.failed,
        "skipped": report.skipped,
        "errors": report.errors,
    }
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        typer.echo(f"sent {report.sent}, failed {report.failed}, skipped {report.skipped} (already reminded)")
    if report.failed:
        raise typer.Exit(1)
