"""`ketacare patients list|show|add`: the patient record from the command line (as the local "system" actor)."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from ketacare.cli.shell import fail, guard, out, print_json, ready_database
from ketacare.domain import units
from ketacare.services import clinic
from ketacare.services.access import system_actor
from ketacare.services.patients import PatientCreate
from ketacare.services.patients import records as patients

app = typer.Typer(help="Patient records.", no_args_is_help=True)


@app.command("list")
def patients_list(
    q: str | None = typer.Option(None, "--q", "--search", help="Name prefix, MRN or YYYY-MM-DD"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(25, min=1, max=200),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """List or search patients."""
    db = ready_database()
    result = guard(patients.search_patients, db=db, actor=system_actor(), q=q, page=page, per_page=per_page)
    if json_output:
        print_json(result.model_dump(mode="json"))
        return
    t = Table(title=f"{result.total} patients (page {result.page})")
    for col in ("id", "MRN", "name", "date of birth", "sex at birth"):
        t.add_column(col)
    for p in result.items:
        t.add_row(
            str(p.id), p.mrn, f"{p.family_name}, {p.given_name}", p.date_of_birth.isoformat(), p.sex_at_birth
        )
    out.print(t)


@app.command("show")
def patients_show(
    ident: str = typer.Argument(..., help="Patient id or MRN"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Show one patient's chart."""
    db = ready_database()
    actor = system_actor()
    pid = int(ident) if ident.isdigit() else None
    if pid is None:
        page = guard(patients.search_patients, db=db, actor=actor, q=ident, per_page=2)
        exact = [p for p in page.items if p.mrn == ident.upper()]
        if not exact:
            fail(f"patient: no patient with MRN {ident}", 1)
        pid = exact[0].id
    chart = guard(patients.get_chart, db=db, actor=actor, patient_id=pid)
    if json_output:
        print_json(chart.model_dump(mode="json"))
        return
    s = clinic.current(db)  # the clinic's display units (clinic settings)
    p = chart.patient
    out.print(
        f"[bold]{p.family_name}, {p.given_name}[/]  MRN {p.mrn}  born {p.date_of_birth}  {p.sex_at_birth}"
        f"  (version {p.version})"
    )
    c = chart.clinical
    if c:
        w = units.format_weight(c.latest_weight_kg, s.weight_unit) if c.latest_weight_kg else "none"
        h = units.format_height(c.latest_height_cm, s.height_unit) if c.latest_height_cm else "none"
        out.print(f"weight {w}  height {h}  BMI {c.latest_bmi_kg_per_m2 or '-'} kg/m2")
        for d in c.diagnoses:
            out.print(f"  dx  {d.display} ({d.icd10cm} / {d.icd11 or '-'})")
        for m in c.medications:
            out.print(
                f"  med {m.name} {m.dose_value:g} {m.dose_unit} x{m.times_per_day or '?'}/day"
                f"{'' if m.active else ' (stopped)'}"
            )
        for t in c.trials:
            dose = f"{t.dose_mg_per_day:g} mg/day" if t.dose_mg_per_day else f"{t.sessions or '?'} sessions"
            out.print(f"  trial {t.kind} {t.name} {dose} {t.weeks or '?'} wk: {t.outcome}")


@app.command("add")
def patients_add(
    given: str = typer.Option(..., "--given"),
    family: str = typer.Option(..., "--family"),
    dob: str = typer.Option(..., "--dob", help="YYYY-MM-DD"),
    sex: str = typer.Option(..., "--sex", help="female, male, intersex or unknown"),
    mrn: str | None = typer.Option(None),
    weight: str | None = typer.Option(None, help='e.g. "82 kg"'),
    height: str | None = typer.Option(None, help='e.g. "175 cm"'),
    not_duplicate: bool = typer.Option(
        False, "--not-duplicate", help="Create even if a patient with this birth date and a similar name exists"
    ),
    under_18: bool = typer.Option(False, "--under-18", help="Create a patient younger than 18"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Add a patient (weight and height need units: "180 lb", "5 ft 9 in"); a possible duplicate or a patient
    under 18 exits 2 naming what was found until confirmed (--not-duplicate, --under-18)."""

    try:
        born = date.fromisoformat(dob)
    except ValueError:
        fail(f"dob: '{dob}' is not a date in the form YYYY-MM-DD")
    db = ready_database()
    data = guard(
        PatientCreate,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex_at_birth=sex,
        mrn=mrn,
        weight=weight,
        height=height,
        confirm_not_duplicate=not_duplicate,
        confirm_under_18=under_18,
    )
    p = guard(patients.create_patient, db=db, actor=system_actor(), data=data)
    if json_output:
        print_json(p.model_dump(mode="json"))
    else:
        out.print(f"created patient {p.id} MRN {p.mrn}")
