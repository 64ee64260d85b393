"""`ketacare plan`: treatment plans from the command line: templates, create from a template (signed), show the
plan with the course, propose the next dose, decide on a proposal (signed). Signing commands act as a person
(`--as USERNAME`) who types their password again (prompted, or KETACARE_SIGN_PASSWORD)."""

from __future__ import annotations

import os

import typer
from rich.table import Table

from ketacare.cli.shell import fail, guard, out, print_json, ready_database
from ketacare.domain.plans import plan_templates
from ketacare.domain.sources import plain
from ketacare.services.access import Actor, system_actor
from ketacare.services.plans import plans, progress, proposals
from ketacare.services.plans.schemas import Goal, PlanCreate, ProposalDecision
from ketacare.store.db import Database

app = typer.Typer(help="Treatment plans: templates, create, show, propose, decide.", no_args_is_help=True)


def _password() -> str:
    return os.environ.get("KETACARE_SIGN_PASSWORD") or typer.prompt(
        "Your password (to sign)", hide_input=True
    )


def _signer(db: Database, username: str) -> Actor:
    return guard(plans.signer, db, username)


@app.command("templates")
def templates() -> None:
    """List the plan templates with their phases."""
    table = Table("id", "name", "protocol", "phases")
    for t in plan_templates().values():
        phases = "; ".join(
            f"{p.name}: {p.sessions if p.sessions is not None else 'open'} every {p.interval_days:g} d"
            for p in t.phases
        )
        table.add_row(t.id, t.name, t.protocol, phases)
    out.print(table)


@app.command("create")
def create(
    patient_id: int = typer.Argument(..., help="Patient id"),
    template: str = typer.Option(..., "--template", help="Template id (see `ketacare plan templates`)"),
    indication: str = typer.Option(..., "--indication", help="gad, social-anxiety, panic or ptsd"),
    signer: str = typer.Option(..., "--as", help="Username of the prescriber who signs"),
    dose: float | None = typer.Option(
        None, "--dose-mg-per-kg", help="Starting dose; default: the protocol's"
    ),
    goal: str | None = typer.Option(None, "--goal", help="INSTRUMENT:SCORE, e.g. gad7:7"),
    reason: str = typer.Option("Plan from the template", "--reason"),
) -> None:
    """Create a plan from a template; version 1 is signed by `--as`."""
    db = ready_database()
    goals = []
    if goal:
        inst, _, score = goal.partition(":")
        try:
            goals = [Goal(instrument_id=inst, target_score=float(score))]
        except ValueError:
            fail("goal: write INSTRUMENT:SCORE, e.g. gad7:7")
    actor = _signer(db, signer)
    data = guard(
        PlanCreate,
        template_id=template,
        indication=indication,
        dose_mg_per_kg=dose,
        goals=goals,
        reason=reason,
        password=_password(),
    )
    plan = guard(plans.create_plan, db=db, actor=actor, patient_id=patient_id, data=data)
    out.print(
        f"plan {plan.id} created from {plan.template_id} (version 1, signed by {plan.versions[0].signed_by_name})"
    )


@app.command("show")
def show(
    patient_id: int = typer.Argument(..., help="Patient id"),
    as_json: bool = typer.Option(False, "--json", help="Print the whole course as JSON"),
) -> None:
    """Show the plan in force with the course so far, the relapse check and the next step."""
    db = ready_database()
    view = guard(progress.get_course, db=db, actor=system_actor(), patient_id=patient_id)
    if view is None:
        fail("this patient has no plan", 1)
    if as_json:
        print_json(view.model_dump(mode="json"))
        return
    plan = view.plan
    out.print(
        f"[bold]{plan.template_name}[/] (plan {plan.id}, version {plan.current_version}, {plan.status})"
    )
    table = Table("#", "date", "phase", "mg/kg", "before", "24 h", "change %", "SBP rise")
    for r in view.rows:
        table.add_row(
            str(r.number),
            r.started_at.date().isoformat(),
            r.phase,
            "-" if r.dose_mg_per_kg is None else f"{r.dose_mg_per_kg:.2f}",
            "-" if r.score_before is None else f"{r.score_before:.0f}",
            "-" if r.score_24h is None else f"{r.score_24h:.0f}",
            "-" if r.change_pct is None else f"{r.change_pct:+.0f}",
            "-" if r.peak_sbp_rise_mmhg is None else f"{r.peak_sbp_rise_mmhg:+.0f}",
        )
    out.print(table)
    out.print(f"next: {view.next_step.next_session_text}")
    if view.relapse.flagged:
        out.print(
            f"[bold red]{view.relapse.state}[/]: proposed {view.relapse.action}: {view.relapse.action_text}"
        )
    pending = next((p for p in view.proposals if p.status == "pending"), None)
    if pending:
        out.print(
            f"proposal {pending.id} ({pending.kind}, {pending.dose_mg_per_kg} mg/kg) waits for a decision:"
        )
        for rule in pending.rules:
            out.print(f"  - {rule.id}: {rule.text} ({plain(rule.source)})")


@app.command("propose")
def propose(patient_id: int = typer.Argument(..., help="Patient id")) -> None:
    """Run the titration advisor on the course of the plan in force."""
    db = ready_database()
    view = guard(progress.get_course, db=db, actor=system_actor(), patient_id=patient_id)
    if view is None:
        fail("this patient has no plan", 1)
    prop = guard(proposals.propose, db=db, actor=system_actor(), patient_id=patient_id, plan_id=view.plan.id)
    out.print(
        f"proposal {prop.id}: {prop.kind}"
        + (f" {prop.dose_mg_per_kg:g} mg/kg" if prop.dose_mg_per_kg else "")
    )
    for rule in prop.rules:
        out.print(f"  - {rule.id}: {rule.text} ({plain(rule.source)})")


@app.command("decide")
def decide(
    patient_id: int = typer.Argument(..., help="Patient id"),
    proposal_id: int = typer.Argument(..., help="Proposal id"),
    decision: str = typer.Option(..., "--decision", help="accept, edit or reject"),
    signer: str = typer.Option(..., "--as", help="Username of the prescriber who signs"),
    dose: float | None = typer.Option(None, "--dose-mg-per-kg", help="Edit: the dose you choose"),
    interval: float | None = typer.Option(None, "--interval-days", help="Edit: the interval you choose"),
    reason: str | None = typer.Option(None, "--reason", help="Required to edit or reject"),
) -> None:
    """Accept, edit or reject a titration proposal (signed by `--as`)."""
    db = ready_database()
    actor = _signer(db, signer)
    current = guard(
        proposals.get_proposal, db=db, actor=actor, patient_id=patient_id, proposal_id=proposal_id
    )
    data = guard(
        ProposalDecision,
        version=current.version,
        decision=decision,
        dose_mg_per_kg=dose,
        interval_days=interval,
        reason=reason,
        password=_password(),
    )
    prop = guard(
        proposals.decide, db=db, actor=actor, patient_id=patient_id, proposal_id=proposal_id, data=data
    )
    out.print(f"proposal {prop.id} {prop.status} by {prop.decided_by_name}")
