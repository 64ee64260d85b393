"""CLI adapter for patient messages: `ketacare messages send` (cron-safe), `ketacare messages log`."""

from __future__ import annotations

import typer
from rich.table import Table

from ketacare.cli.shell import fail, guard, out, print_json, ready_database
from ketacare.config import get_settings
from ketacare.domain import formatting as fmt
from ketacare.services import clinic
from ketacare.services import messages as svc
from ketacare.services.access import system_actor

app = typer.Typer(help="Patient messages: reminders, instructions, notices.", no_args_is_help=True)


@app.command("send")
def send(
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    questionnaires: bool = typer.Option(
        True, "--questionnaires/--no-questionnaires", help="also email questionnaires due (`reminders send`)"
    ),
) -> None:
    """Send every message whose local time has come, each once: safe to run every minute from cron."""
    from ketacare.services.measurement import SmtpNotConfigured as QuestionnaireSmtp
    from ketacare.services.measurement import send_reminders

    settings = get_settings()
    db = ready_database()
    try:
        report = guard(svc.send_due, db=db, settings=settings)
        if questionnaires:
            q = send_reminders(db=db, settings=settings)
            report.sent, report.failed = report.sent + q.sent, report.failed + q.failed
            report.errors += q.errors
    except (svc.SmtpNotConfigured, QuestionnaireSmtp) as e:
        fail(str(e))
    finally:
        db.dispose()
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        typer.echo(
            f"queued {report.queued}, sent {report.sent}, failed {report.failed} (tried again later), "
            f"skipped {report.skipped}"
        )
        for problem in report.errors:
            typer.echo(f"  {problem}", err=True)
    if report.failed:
        raise typer.Exit(1)


@app.command("log")
def log(
    status: str = typer.Option("", help="only this status: queued, sending, sent, failed, skipped"),
    limit: int = typer.Option(50, min=1, max=1000, help="how many rows, newest first"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """List the newest messages: to whom, which template version, when, and the result."""
    if status and status not in ("queued", "sending", "sent", "failed", "skipped"):
        fail("status: use queued, sending, sent, failed or skipped")
    db = ready_database()
    tz = clinic.zone(db)
    rows = guard(svc.messages, db=db, actor=system_actor(), status=status or None, limit=limit)  # type: ignore[arg-type]
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    t = Table(title="Messages")
    for col in ("Due", "Patient", "Template", "Status", "Attempts", "Detail"):
        t.add_column(col)
    for r in rows:
        version = "" if r.template_version is None else f" v{r.template_version}"
        t.add_row(
            fmt.date_time(r.due_at, tz), r.patient_name, r.template_id + version, r.status, str(r.attempts),
            r.detail or "",
        )  # fmt: skip
    out.print(t)
