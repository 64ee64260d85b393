"""CLI adapter: check a patient's screening facts file for ketamine eligibility (issue #5)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ketacare.domain.eligibility import EligibilitySettings, Evaluation, evaluate, facts_from_dict
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sources import plain

app = typer.Typer(help="Ketamine eligibility screening from a facts document (JSON).", no_args_is_help=True)


class RuleSet(StrEnum):
    """Selectable treatment-resistance definitions."""

    bokma2019 = "bokma2019"
    delphi2024 = "delphi2024"


@app.callback()
def _main() -> None:
    """Ketamine eligibility screening."""


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)  # plain text: rich would wrap long field paths
    return typer.Exit(2)


def _print_human(e: Evaluation) -> None:
    console = Console()
    tr = e.treatment_resistance
    console.print(
        f"Decision: [bold]{e.decision}[/bold]  (rule set {e.rule_set}, catalogue {e.catalogue_version})"
    )
    stage = "-" if tr.stage is None else str(tr.stage)
    console.print(
        f"Treatment resistance ({escape(tr.rule_set_label)}): {tr.status}, stage {stage} - {escape(tr.stage_label)}"
    )
    console.print(f"  {escape(tr.reason)}")
    if e.findings:
        table = Table("severity", "rule", "message", "source", show_lines=True)
        for f in e.findings:
            source = plain(f.source)
            table.add_row(f.severity, f.rule_id, escape(plain(f.message)), escape(source))
        console.print(table)
    if e.missing:
        console.print("Missing facts:")
        for m in e.missing:
            reason = f" ({m.reason})" if m.reason else ""
            console.print(escape(f"  - {m.label}{reason}: {m.where}  [{m.key}]"))


@app.command()
def check(
    facts_file: Path = typer.Argument(..., metavar="FACTS.json", help="Screening facts document (JSON)."),
    rule_set: RuleSet | None = typer.Option(None, "--rule-set", help="Treatment-resistance definition."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON only."),
) -> None:
    """Check FACTS.json and print the decision, findings, missing facts and treatment-resistance stage."""
    try:
        raw = json.loads(facts_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read {facts_file}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"{facts_file} is not readable JSON: {exc}") from None
    try:
        facts = facts_from_dict(raw)
        settings = EligibilitySettings(rule_set=rule_set.value if rule_set else None)
        result = evaluate(facts, settings)
    except InvalidValue as exc:
        raise _fail(f"invalid facts: {exc.field}: {exc.message}") from None
    if as_json:
        doc = {
            "decision": result.decision,
            "rule_set": result.rule_set,
            "catalogue_version": result.catalogue_version,
            "findings": [
                {
                    k: f.to_dict()[k]
                    for k in ("rule_id", "severity", "message", "action", "source", "verified", "subject")
                }
                for f in result.findings
            ],
            "missing": [m.to_dict() for m in result.missing],
            "treatment_resistance": result.treatment_resistance.to_dict(),
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print_human(result)
