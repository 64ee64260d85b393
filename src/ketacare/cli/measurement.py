"""CLI adapter for measurement: `ketacare instruments list`, `ketacare score` and `ketacare reminders send`.

Holds no clinical rule: it parses the command line, calls `ketacare.domain.measurement` and prints.
Refused input prints a message naming the item to stderr and exits 2.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ketacare.config import get_settings
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import all_instruments, load_instrument, parse_answer_text
from ketacare.domain.measurement import score as score_answers

instruments_app = typer.Typer(
    help="Measurement instruments (GAD-7, PHQ-9, PCL-5, C-SSRS, ...).", no_args_is_help=True
)
app = instruments_app
score_app = typer.Typer(help="Score one questionnaire or rating.")

_out = Console()
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@instruments_app.callback()
def instruments() -> None:
    """Measurement instruments Ketacare can score."""


def instrument_rows() -> list[dict[str, Any]]:
    """Return one summary dict per shipped instrument (what `instruments list --json` prints)."""
    rows = []
    for inst in all_instruments():
        loinc = {k: v for k, v in inst.loinc.items() if k in ("panel", "total", "derived")} or None
        rows.append(
            {
                "id": inst.id,
                "name": inst.name,
                "short_name": inst.short_name,
                "items": inst.n_items,
                "rater": inst.rater,
                "licence": inst.licence,
                "loinc": loinc,
            }
        )
    return rows


@instruments_app.command("list")
def list_instruments(json_output: bool = typer.Option(False, "--json", help="Print JSON only.")) -> None:
    """List the instruments Ketacare can score."""
    rows = instrument_rows()
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Instruments")
    for column in ("id", "instrument", "items", "rater", "LOINC panel / total"):
        table.add_column(column)
    for row in rows:
        loinc = row["loinc"] or {}
        codes = " / ".join(loinc.get(k, "-") for k in ("panel", "total")) if loinc else "-"
        table.add_row(row["id"], row["short_name"], str(row["items"]), row["rater"], codes)
    _out.print(table)


def score_command(instrument: str, answers: str, json_: bool) -> None:
    """Score `answers` ("1,2,,3": an empty place is a missing item) for `instrument` and print the result."""
    try:
        inst = load_instrument(instrument)
        result = score_answers(inst.id, parse_answer_text(inst.id, answers))
    except InvalidValue as err:
        raise _fail(f"{err.field}: {err.message}") from None
    payload = result.to_dict()
    if json_:
        typer.echo(json.dumps(payload, indent=2))
        return
    lines = [f"{inst.short_name} ({inst.name})"]
    if result.total is not None:
        lines.append(f"total: {result.total} / {inst.max_total}")
    if result.mean is not None:
        lines.append(f"item mean: {result.mean:.2f}")
    if result.severity is not None:
        lines.append(f"severity: {result.severity}")
    lines += [f"subscale {k}: {'-' if v is None else v}" for k, v in result.subscales.items()]
    lines += [f"{k}: {'not determined' if v is None else v}" for k, v in result.derived.items()]
    if result.flags:
        lines.append(f"FLAGS: {', '.join(result.flags)}")
    if result.reason:
        lines.append(f"note: {result.reason}")
    typer.echo("\n".join(lines))


@score_app.command()
def score(
    instrument: str = typer.Argument(..., help="Instrument id, e.g. gad7 (see `instruments list`)."),
    answers: str = typer.Option(
        ...,
        "--answers",
        help="Comma-separated answers in item order; leave a place empty for a missing item, e.g. 1,2,,0.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Score one questionnaire or rating."""
    score_command(instrument, answers, json_output)


# --- `ketacare reminders send`: email patients about due questionnaires (at most three reminders per item) ---

reminders_app = typer.Typer(help="Questionnaire reminders by email.", no_args_is_help=True)


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
        _err.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(2) from None
    except NotMigrated as e:
        _err.print(f"[bold red]error:[/] {e}", highlight=False)
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
