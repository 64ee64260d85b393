"""The `ketacare` command: demo, serve, db, users, patients, audit, and the clinical calculators."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ketacare.config import get_settings
from ketacare.domain.errors import InvalidValue
from ketacare.services.access import system_actor
from ketacare.services.errors import ServiceError

app = typer.Typer(
    help="Ketacare: ketamine treatment programs for treatment-resistant anxiety disorders.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
patients_app = typer.Typer(help="Patient records.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(patients_app, name="patients")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a message to stderr and exit (2 = bad input)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _database():
    from ketacare.store.db import Database

    return Database(get_settings().database_url)


def _ready_database():
    from ketacare.store.migrate import NotMigrated, require_current

    db = _database()
    try:
        require_current(db)
    except NotMigrated as e:
        fail(str(e), 1)
    return db


def _guard(fn, *args, **kwargs):
    """Run a service call, turning refused input into exit 2 with the field named."""
    try:
        return fn(*args, **kwargs)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "input"
        fail(f"{field}: {first.get('msg', 'invalid').removeprefix('Value error, ')}")
    except InvalidValue as e:
        fail(f"{e.field}: {e.message}")
    except ServiceError as e:
        fail(str(e), 1)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (KETACARE_DATABASE_URL) to the newest schema."""
    from ketacare.store.migrate import current_revision, upgrade

    db = _database()
    upgrade(db)
    out.print(
        f"database {db.engine.url.render_as_string(hide_password=True)} is at revision {current_revision(db)}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the newest one shipped."""
    from ketacare.store.migrate import current_revision, head_revision

    db = _database()
    out.print(f"current: {current_revision(db)}  newest: {head_revision(db)}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(1, min=1, max=32),
) -> None:
    """Serve the app (the database must be migrated)."""
    import uvicorn

    _ready_database()
    uvicorn.run(
        "ketacare.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
    )


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000, min=1, max=65535),
    patients: int = typer.Option(200, min=1, max=100_000, help="Synthetic patients to create on first start"),
    seed: int = typer.Option(20261126, help="Random seed (same seed, same clinic)"),
    no_serve: bool = typer.Option(False, "--no-serve", help="Only create the demo database"),
) -> None:
    """Create (once) and serve the demo clinic with synthetic patients and demo logins."""
    from ketacare.demo.patients import DEMO_PASSWORD, STAFF
    from ketacare.demo.patients import seed as seed_demo
    from ketacare.services import clinic
    from ketacare.store.migrate import upgrade

    db = _database()
    upgrade(db)
    is_demo = clinic.get_meta(db, "demo") == "true"
    if not is_demo:
        if clinic.patient_count(db) > 0:
            fail(
                "this database holds a real clinic (it was not created by the demo); point KETACARE_DATABASE_URL "
                "at another file, e.g. sqlite:///var/demo.db"
            )
        with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("Creating the demo clinic", total=patients)
            result = seed_demo(
                db, n_patients=patients, seed_value=seed, progress=lambda n: progress.advance(task, n)
            )
        clinic.set_meta(db, "demo", "true")
        clinic.set_meta(db, "portal_logins", ",".join(u for u, _ in result.portal_logins))
    portal = (clinic.get_meta(db, "portal_logins") or "").split(",")
    db.dispose()
    out.print(
        f"\n[bold]Ketacare demo clinic[/] on [link]http://{host}:{port}[/link]  (synthetic patients only)"
    )
    out.print(f"Staff logins: {', '.join(s[0] for s in STAFF)}  password: {DEMO_PASSWORD}")
    out.print(f"Patient portal logins: {', '.join(p for p in portal if p)}  password: {DEMO_PASSWORD}\n")
    if no_serve:
        return
    os.environ["KETACARE_DEMO"] = "true"
    get_settings.cache_clear()
    import uvicorn

    uvicorn.run("ketacare.app:factory", factory=True, host=host, port=port, log_level="warning")


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(
        ..., help="admin, prescriber, nurse, therapist, frontdesk, researcher or patient"
    ),
    name: str = typer.Option(..., "--name", help="Display name"),
    patient_id: int | None = typer.Option(None, help="For a patient account: the patient record id"),
    password: str | None = typer.Option(None, help="Omit to be asked (not echoed); or pipe it on stdin"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user account (password policy applies)."""
    from ketacare.services.access import users
    from ketacare.services.access.schemas import UserCreate

    if password is None:
        password = (
            sys.stdin.readline().rstrip("\n")
            if not sys.stdin.isatty()
            else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        )
    db = _ready_database()
    data = _guard(
        UserCreate, username=username, display_name=name, role=role, password=password, patient_id=patient_id
    )
    u = _guard(users.create_user, db=db, actor=system_actor(), data=data)
    if json_output:
        _print_json(u.model_dump())
    else:
        out.print(f"created {u.username} ({u.role})")


@user_app.command("totp")
def user_totp(username: str) -> None:
    """Enrol a staff account in a TOTP second factor and print the URI to scan."""
    from ketacare.services.access import users

    db = _ready_database()
    out.print(_guard(users.enable_totp, db=db, actor=system_actor(), username=username))


@patients_app.command("list")
def patients_list(
    q: str | None = typer.Option(None, "--q", "--search", help="Name prefix, MRN or YYYY-MM-DD"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(25, min=1, max=200),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """List or search patients."""
    from ketacare.services.patients import records as patients

    db = _ready_database()
    result = _guard(patients.search_patients, db=db, actor=system_actor(), q=q, page=page, per_page=per_page)
    if json_output:
        _print_json(result.model_dump(mode="json"))
        return
    t = Table(title=f"{result.total} patients (page {result.page})")
    for col in ("id", "MRN", "name", "date of birth", "sex at birth"):
        t.add_column(col)
    for p in result.items:
        t.add_row(
            str(p.id), p.mrn, f"{p.family_name}, {p.given_name}", p.date_of_birth.isoformat(), p.sex_at_birth
        )
    out.print(t)


@patients_app.command("show")
def patients_show(
    ident: str = typer.Argument(..., help="Patient id or MRN"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Show one patient's chart."""
    from ketacare.domain import units
    from ketacare.services.patients import records as patients

    db = _ready_database()
    actor = system_actor()
    pid = int(ident) if ident.isdigit() else None
    if pid is None:
        page = _guard(patients.search_patients, db=db, actor=actor, q=ident, per_page=2)
        exact = [p for p in page.items if p.mrn == ident.upper()]
        if not exact:
            fail(f"patient: no patient with MRN {ident}", 1)
        pid = exact[0].id
    chart = _guard(patients.get_chart, db=db, actor=actor, patient_id=pid)
    if json_output:
        _print_json(chart.model_dump(mode="json"))
        return
    s = get_settings()
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


@patients_app.command("add")
def patients_add(
    given: str = typer.Option(..., "--given"),
    family: str = typer.Option(..., "--family"),
    dob: str = typer.Option(..., "--dob", help="YYYY-MM-DD"),
    sex: str = typer.Option(..., "--sex", help="female, male, intersex or unknown"),
    mrn: str | None = typer.Option(None),
    weight: str | None = typer.Option(None, help='e.g. "82 kg"'),
    height: str | None = typer.Option(None, help='e.g. "175 cm"'),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Add a patient (weight and height need units: "180 lb", "5 ft 9 in")."""
    from ketacare.services.patients import PatientCreate
    from ketacare.services.patients import records as patients

    try:
        born = date.fromisoformat(dob)
    except ValueError:
        fail(f"dob: '{dob}' is not a date in the form YYYY-MM-DD")
    db = _ready_database()
    data = _guard(
        PatientCreate,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex_at_birth=sex,
        mrn=mrn,
        weight=weight,
        height=height,
    )
    p = _guard(patients.create_patient, db=db, actor=system_actor(), data=data)
    if json_output:
        _print_json(p.model_dump(mode="json"))
    else:
        out.print(f"created patient {p.id} MRN {p.mrn}")


@audit_app.command("verify")
def audit_verify(json_output: bool = typer.Option(False, "--json")) -> None:
    """Walk the hash chain; exit 1 naming the first event that was altered, removed or inserted."""
    from ketacare.services.access import audit_views

    db = _ready_database()
    report = audit_views.verify(db=db, actor=system_actor())
    if json_output:
        _print_json(report.__dict__)
    elif report.ok:
        out.print(f"audit chain intact: {report.checked} events, head {report.head_hash}")
    else:
        err.print(f"[bold red]audit chain broken[/] at event {report.first_bad_seq}: {report.problem}")
    if not report.ok:
        raise typer.Exit(1)


def _register_optional() -> None:
    """Attach the clinical calculators that ship as their own CLI modules."""
    import importlib

    for module, attr, name in [
        ("ketacare.cli.measurement", "instruments_app", "instruments"),
        ("ketacare.cli.dosing", "app", "dose"),
        ("ketacare.cli.pk", "app", "pk"),
        ("ketacare.cli.eligibility", "app", "eligibility"),
    ]:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        app.add_typer(getattr(mod, attr), name=name)
    try:
        mod = importlib.import_module("ketacare.cli.measurement")
    except ModuleNotFoundError:
        return
    app.command("score")(mod.score)


_register_optional()


def run() -> None:
    """Console-script entry point."""
    app()
