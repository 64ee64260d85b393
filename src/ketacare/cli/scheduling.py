"""CLI adapter: the clinic's appointments of a day (`ketacare schedule day`) and revoking a calendar feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import typer
from rich.table import Table

from ketacare.cli.shell import fail, guard, out, print_json, ready_database
from ketacare.domain import formatting as fmt
from ketacare.services import clinic
from ketacare.services.access import system_actor
from ketacare.services.scheduling import calendar, feeds

app = typer.Typer(help="Appointments: the day's calendar, calendar feeds.", no_args_is_help=True)


@app.command("day")
def day(
    on: str = typer.Argument("", help="the local day, YYYY-MM-DD (default: today)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """List the appointments of a day in the clinic's local time."""
    db = ready_database()
    tz = clinic.zone(db)
    try:
        d = date.fromisoformat(on) if on else datetime.now(UTC).astimezone(tz).date()
    except ValueError:
        fail("day: write the day as YYYY-MM-DD")
    start = datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    rows = guard(calendar.appointments_between, db=db, actor=system_actor(), start=start, end=end)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    t = Table(title=f"Appointments {d.isoformat()} ({fmt.zone_label(tz, start)})")
    for col in ("Time", "Type", "Where", "Patient", "Attending", "Status"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            f"{fmt.clock_time(r.starts_at, tz, seconds=False, label=False)}-"
            f"{fmt.clock_time(r.ends_at, tz, seconds=False, label=False)}",
            r.type_name,
            r.chair_label or r.room_name or "-",
            f"{r.patient_name} ({r.patient_mrn})",
            r.staff_name or "-",
            r.status.replace("_", " "),
        )
    out.print(t)


@app.command("revoke-feed")
def revoke_feed(feed_id: int = typer.Argument(..., help="the feed's number")) -> None:
    """Revoke a calendar feed (its address answers nothing from now on)."""
    db = ready_database()
    r = guard(feeds.revoke_feed, db=db, actor=system_actor(), feed_id=feed_id)
    out.print(f"feed #{r.id} revoked")
