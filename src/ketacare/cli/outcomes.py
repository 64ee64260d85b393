"""CLI adapter for outcomes: `ketacare outcomes patient ID` and `ketacare outcomes dashboard [--from --to
--diagnosis] [--json]`. Bad input exits 2 naming the field. (The PDFs are served by `reports/outcomes.py`.)"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.table import Table

from ketacare.cli.shell import fail, guard, out, print_json, ready_database
from ketacare.services import outcomes
from ketacare.services.access import system_actor

app = typer.Typer(help="Treatment outcomes: one patient's summary and the clinic dashboard.",
                  no_args_is_help=True)  # fmt: skip


def _pct(r: outcomes.RateRead) -> str:
    return "no patients" if r.proportion is None else f"{r.k}/{r.n} {100 * r.proportion:.0f} %"


@app.command("patient")
def patient(patient_id: int = typer.Argument(..., min=1), json_output: bool = typer.Option(False, "--json")) -> None:
    """Show one patient's outcome on the primary instrument."""
    o = guard(outcomes.patient_outcome, db=ready_database(), actor=system_actor(), patient_id=patient_id)
    if json_output:
        print_json(o.model_dump(mode="json"))
        return
    out.print(f"{o.instrument_name}: {o.status_words}")
    for label, s in (("baseline", o.baseline), ("best", o.best), ("latest", o.latest)):
        out.print(f"  {label}: {'-' if s is None else f'{s.total:g} on {s.at:%Y-%m-%d}'}")
    out.print(f"  sessions {o.sessions_given}, cumulative dose {o.cumulative_dose_mg:.1f} mg, "
              f"side effects {o.side_effects}")  # fmt: skip


def _filters(date_from: str | None, date_to: str | None, diagnosis: str | None) -> outcomes.OutcomeFilters:
    try:
        return outcomes.OutcomeFilters(date_from=date_from, date_to=date_to, diagnosis=diagnosis)
    except ValidationError as e:
        first = e.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg'].removeprefix('Value error, ')}")


@app.command("dashboard")
def dashboard(
    date_from: str | None = typer.Option(None, "--from", help="First session on or after (YYYY-MM-DD)"),
    date_to: str | None = typer.Option(None, "--to", help="First session on or before (YYYY-MM-DD)"),
    diagnosis: str | None = typer.Option(None, help="Primary diagnosis concept, e.g. gad"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Print the clinic's response and remission rates (aggregates only)."""
    d = guard(outcomes.dashboard, db=ready_database(), actor=system_actor(),
              filters=_filters(date_from, date_to, diagnosis))  # fmt: skip
    if json_output:
        print_json(d.model_dump(mode="json"))
        return
    t = Table(title=f"{d.patients} patients, {d.judged} judged")
    for col in ("group", "response", "remission"):
        t.add_column(col)
    for g in [d.overall, *d.at_points, *d.by_diagnosis]:
        t.add_row(g.label, _pct(g.response), _pct(g.remission))
    out.print(t)
    out.print(d.model.words)
