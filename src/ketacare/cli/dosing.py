"""`ketacare dose`: compute a ketamine/esketamine dose order from the protocol library (adapter, no rules)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ketacare.domain.dosing.order import (
    DoseOrder,
    DoseRequest,
    OrderRefused,
    WeightBasisOptions,
    compute_order,
    weight_basis_options,
)
from ketacare.domain.dosing.protocol import all_protocols
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sources import plain
from ketacare.domain.units import parse_height, parse_weight

app = typer.Typer(
    help="Dose orders: mg/kg -> mg, preparation, pump rate, limit checks.", no_args_is_help=True
)
_out = Console()


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _when(text: str | None, field: str, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            field, f"'{text}' is not a date-time; use ISO 8601, e.g. 2025-03-03T09:00"
        ) from None


def _previous(texts: list[str] | None) -> tuple[datetime, ...]:
    return tuple(_when(t, "previous_session", datetime.min) for t in texts or ())


@app.command()
def calc(
    protocol: str = typer.Option(..., "--protocol", help="Protocol id (see `ketacare dose protocols`)."),
    weight: str | None = typer.Option(None, "--weight", help='Measured body weight with unit, e.g. "96 kg".'),
    height: str | None = typer.Option(
        None, "--height", help='Height with unit, e.g. "165 cm" or "5 ft 5 in".'
    ),
    sex: str | None = typer.Option(None, "--sex", help="female or male (for ideal/adjusted body weight)."),
    weight_basis: str | None = typer.Option(
        None,
        "--weight-basis",
        help="actual, adjusted or ideal. Required at or above the clinic's BMI threshold (the candidate doses "
        "are listed when it is missing); below it the default is actual weight. A basis other than the "
        "policy's recommendation needs --basis-reason (or --reason).",
    ),
    basis_reason: str | None = typer.Option(
        None, "--basis-reason", help="Why this weight basis, when it is not the policy's recommendation."
    ),
    mg_per_kg: float | None = typer.Option(
        None, "--mg-per-kg", help="Dose in mg/kg (weight-based protocols)."
    ),
    dose_mg: float | None = typer.Option(None, "--dose-mg", help="Dose in mg (fixed-dose protocols)."),
    vial_strength: float | None = typer.Option(None, "--vial-strength", help="Vial strength in mg/mL."),
    age: int | None = typer.Option(None, "--age", help="Age in years (esketamine label age rule)."),
    session_number: int | None = typer.Option(None, "--session-number", help="1 for the first session."),
    start: str | None = typer.Option(None, "--start", help="Start time, ISO 8601 (default: now)."),
    weight_measured_at: str | None = typer.Option(
        None, "--weight-measured-at", help="When the weight was measured, ISO 8601 (default: the start time)."
    ),
    previous_weight: str | None = typer.Option(
        None, "--previous-weight", help='Previous weight, e.g. "90 kg".'
    ),
    confirm_weight: str | None = typer.Option(
        None, "--confirm-weight", help="Confirmation of an old or changed weight (who/how)."
    ),
    previous_session: list[str] | None = typer.Option(
        None, "--previous-session", help="Start time of an earlier session, ISO 8601 (repeatable)."
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Reason for passing a soft limit or overriding the weight basis."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON only."),
) -> None:
    """Compute a dose order and print dose, preparation, pump rate, candidates and limit messages."""
    try:
        start_at = _when(start, "start", datetime.now().replace(second=0, microsecond=0))
        request = DoseRequest(
            protocol_id=protocol,
            start=start_at,
            weight_kg=parse_weight(weight, "weight") if weight is not None else None,
            height_cm=parse_height(height, "height") if height is not None else None,
            sex=sex,
            weight_measured_at=_when(weight_measured_at, "weight_measured_at", start_at),
            previous_weight_kg=parse_weight(previous_weight, "previous_weight") if previous_weight else None,
            weight_confirmation=confirm_weight,
            weight_basis=weight_basis,
            weight_basis_reason=basis_reason or reason,
            mg_per_kg=mg_per_kg,
            dose_mg=dose_mg,
            vial_strength_mg_per_ml=vial_strength,
            age_years=age,
            session_number=session_number,
            previous_session_starts=_previous(previous_session),
            soft_limit_reason=reason,
        )
        order = compute_order(request)
    except OrderRefused as exc:
        lines = [f"order refused ({exc.field}):"]
        lines += [f"  [{m.level}] {m.rule}: {plain(m.message)} (source: {plain(m.source)})" for m in exc.messages]
        _fail("\n".join(lines))
        return
    except InvalidValue as exc:
        if exc.field == "weight_basis":
            _fail(f"{exc.field}: {exc.message}\n" + _options_text(weight_basis_options(request)))
        _fail(f"{exc.field}: {exc.message}")
        return
    if as_json:
        typer.echo(json.dumps(_order_json(order), indent=2))
    else:
        _print_order(order)


def _options_text(opts: WeightBasisOptions | None) -> str:
    if opts is None:
        return ""
    lines = [f"candidate doses at {opts.mg_per_kg:g} mg/kg (BMI {opts.bmi_kg_per_m2:.1f} kg/m2):"]
    for c in opts.candidates:
        dose = "refused (hard limit)" if c.dose_mg is None else f"{c.dose_mg:g} mg"
        per_kg = "" if c.mg_per_kg_actual is None else f", {c.mg_per_kg_actual:g} mg/kg of actual weight"
        rec = "  <- clinic policy recommendation" if c.recommended else ""
        lines.append(f"  --weight-basis {c.basis}: {c.weight_kg:g} kg -> {dose}{per_kg}{rec}")
    return "\n".join(lines)


def _order_json(order: DoseOrder) -> dict[str, Any]:
    data = order.as_dict()
    data["limit_messages"] = data.pop("messages")
    return data


def _print_order(order: DoseOrder) -> None:
    t = Table(title=f"{order.protocol_id}: {order.drug}, {order.route}", show_header=False)
    rows: list[tuple[str, str]] = []
    if order.dosing_weight_kg is not None:
        rows += [
            ("weight", f"{order.weight_kg:g} kg measured {order.weight_measured_at:%Y-%m-%d %H:%M}"),
            ("BMI", f"{order.bmi_kg_per_m2:.1f} kg/m2"),
            (
                "dosing weight",
                f"{order.dosing_weight_kg:g} kg ({order.weight_basis} basis"
                + (
                    f", prescriber's choice; policy recommends {order.policy_weight_basis}: "
                    f"{order.weight_basis_reason})"
                    if order.weight_basis_overridden
                    else ", prescriber's choice)"
                    if order.weight_basis_chosen
                    else ", policy below the BMI threshold)"
                ),
            ),
            ("mg/kg", f"{order.mg_per_kg:g} (delivered {order.delivered_mg_per_kg:g})"),
        ]
    p = order.preparation
    dose = f"{order.dose_mg:g} mg"
    if order.computed_dose_mg is not None and order.computed_dose_mg != order.dose_mg:
        dose += f" (computed {order.computed_dose_mg:g} mg, rounded to what the syringe can draw)"
    if order.mg_per_kg_actual is not None:
        dose += f"; {order.mg_per_kg_actual:g} mg/kg of actual weight"
    rows.append(("dose", dose))
    if p.devices is not None:
        rows.append(("devices", f"{p.devices} x {p.device_mg:g} mg"))
    else:
        rows.append(("draw", f"{p.draw_volume_ml:g} mL of {p.vial_strength_mg_per_ml:g} mg/mL"))
        if order.rate_ml_per_h is not None:
            rows.append(
                (
                    "dilute",
                    f"with {p.diluent_volume_ml:g} mL {p.diluent} to {p.final_volume_ml:g} mL "
                    f"({p.final_concentration_mg_per_ml:g} mg/mL)",
                )
            )
            rows.append(("pump rate", f"{order.rate_ml_per_h:g} mL/h, VTBI {order.volume_ml:g} mL"))
    rows.append(("time", f"{order.start:%H:%M} - {order.end:%H:%M} ({order.duration_min:g} min)"))
    for k, v in rows:
        t.add_row(k, v)
    _out.print(t)
    if order.candidates:
        c = Table(title="Candidate doses")
        for col in ("basis", "weight kg", "dose mg", "mg/kg of actual", ""):
            c.add_column(col)
        for cand in order.candidates:
            mark = " ".join(
                x for x in ("chosen" if cand.chosen else "", "policy" if cand.policy else "") if x
            )
            dose = "refused (hard limit)" if cand.dose_mg is None else f"{cand.dose_mg:g}"
            per_kg = "-" if cand.mg_per_kg_actual is None else f"{cand.mg_per_kg_actual:g}"
            c.add_row(cand.basis, f"{cand.weight_kg:g}", dose, per_kg, mark)
        _out.print(c)
    for m in order.messages:
        _out.print(f"[{m.level}] {plain(m.message)} (source: {plain(m.source)}) - reason: {m.reason}", markup=False)


@app.command()
def protocols(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON only."),
) -> None:
    """List the protocol library with doses, limits, preparation and sources."""
    library = all_protocols()
    if as_json:
        typer.echo(json.dumps([p.raw for p in library], indent=2))
        return
    t = Table(title="Dosing protocols")
    for col in ("id", "route", "default", "hard max", "duration"):
        t.add_column(col)
    for p in library:
        default = f"{p.default_mg_per_kg:g} mg/kg" if p.dosing == "weight" else f"{p.default_mg:g} mg"
        hard = [
            f"{lim.value:g} {lim.unit}"
            for lim in p.limits
            if lim.level == "hard" and lim.is_max and lim.kind in ("mg_per_kg_max", "dose_mg_max")
        ]
        t.add_row(
            p.id, p.route, default, ", ".join(hard), f"{p.duration_min:g} min" if p.duration_min else "-"
        )
    _out.print(t)
