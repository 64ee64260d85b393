"""`ketacare research export`: the de-identified research export from the command line, as a researcher account."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from ketacare.cli.shell import fail, guard, out, print_json, ready_database
from ketacare.services import research

app = typer.Typer(help="De-identified research export (researchers only).", no_args_is_help=True)


@app.callback()
def research_group() -> None:
    """De-identified research data."""


@app.command("export")
def export(
    out_dir: Path = typer.Option(..., "--out", help="Directory to write the files into (created)"),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet"),
    key: str = typer.Option("export", "--key", help="Export key: the same key gives the same ids and date shifts"),
    username: str = typer.Option(..., "--as", help="The researcher account the export is audited as (required)"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Write the de-identified export (data files, data dictionary, risk summary) into a directory."""
    try:
        request = research.ExportRequest(export_key=key, format=fmt)
    except ValidationError as e:
        err = e.errors()[0]
        fail(f"{'--format' if err['loc'][0] == 'format' else '--key'}: {err['msg']}")
    db = ready_database()
    actor = guard(research.local_actor, db=db, username=username)
    result = guard(research.export_to_dir, db=db, actor=actor, request=request, out=out_dir)
    if json_output:
        print_json(result.model_dump())
        return
    for f in result.files:
        out.print(f"{f.name}: {f.rows} rows")
    r = result.risk
    out.print(f"k = {r.k} (smallest group on {', '.join(r.quasi_identifiers)}); {r.suppressed_cells} aggregate "
              f"cells below {r.min_cell_count} suppressed")
    out.print(f"{result.rows} rows in {result.seconds:.1f} s ({result.rows_per_second:.0f} rows/s) -> {out_dir}")
