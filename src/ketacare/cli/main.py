"""The `ketacare` command: demo, serve, db, and one command group per capability (cli/<capability>.py)."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.progress import Progress

from ketacare.cli import (
    access,
    backup,
    dosing,
    eligibility,
    measurement,
    messages,
    outcomes,
    patients,
    pk,
    plans,
    research,
    scheduling,
)
from ketacare.cli.shell import database, err, fail, out, ready_database
from ketacare.config import get_settings

app = typer.Typer(
    help="Ketacare: ketamine treatment programs for treatment-resistant anxiety disorders.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(access.user_app, name="user")
app.add_typer(patients.app, name="patients")
app.add_typer(access.audit_app, name="audit")
app.add_typer(measurement.instruments_app, name="instruments")
app.add_typer(measurement.reminders_app, name="reminders")
app.add_typer(messages.app, name="messages")
app.add_typer(dosing.app, name="dose")
app.add_typer(pk.app, name="pk")
app.add_typer(eligibility.app, name="eligibility")
app.add_typer(plans.app, name="plan")
app.add_typer(outcomes.app, name="outcomes")
app.add_typer(scheduling.app, name="schedule")
app.add_typer(research.app, name="research")
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.command("backup-key")(backup.key_command)
app.command("score")(measurement.score)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (KETACARE_DATABASE_URL) to the newest schema."""
    from ketacare.store.migrate import current_revision, upgrade

    db = database()
    upgrade(db)
    out.print(
        f"database {db.engine.url.render_as_string(hide_password=True)} is at revision {current_revision(db)}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the newest one shipped."""
    from ketacare.store.migrate import current_revision, head_revision

    db = database()
    out.print(f"current: {current_revision(db)}  newest: {head_revision(db)}")


def default_workers(dialect: str, cores: int | None) -> int:
    """Return how many app processes to run: one per core on PostgreSQL; one on SQLite (one writer at a time)."""
    return max(1, cores or 1) if dialect == "postgresql" else 1


@db_app.command("roles")
def db_roles(
    owner: str = typer.Option("ketacare_owner", help="Role that owns the schema and runs `ketacare db upgrade`"),
    app_role: str = typer.Option("ketacare_app", "--app", help="Role the app connects as (owns nothing)"),
    print_only: bool = typer.Option(False, "--print", help="Print the SQL instead of running it"),
) -> None:
    """Create least-privilege PostgreSQL roles (run as a superuser on KETACARE_DATABASE_URL, after migrating)."""
    from ketacare.store.roles import apply_roles, role_statements

    db = database()
    if db.dialect != "postgresql":
        fail("roles are a PostgreSQL feature; an SQLite clinic is protected by file permissions", 2)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        sql = (role_statements if print_only else apply_roles)(conn, owner=owner, app=app_role)
    for statement in sql:
        out.print(statement + ";", highlight=False, soft_wrap=True)
    if not print_only:
        out.print(f"# done: migrate as {owner}, serve as {app_role} (set their passwords with ALTER ROLE ... PASSWORD)",
                  highlight=False)


WORKER_HEALTHCHECK_S = 30


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="App processes (default: one per core on PostgreSQL, one on SQLite)"
    ),
    graceful_seconds: int = typer.Option(
        30, min=1, max=600, help="On stop, how long in-flight requests may take to finish"
    ),
    proxy_headers: bool = typer.Option(
        False,
        "--proxy-headers/--no-proxy-headers",
        help="Take the client address from X-Forwarded-For, only from --forwarded-allow-ips (behind a TLS proxy)",
    ),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1",
        "--forwarded-allow-ips",
        help="Comma-separated addresses of the trusted reverse proxies (with --proxy-headers)",
    ),
) -> None:
    """Serve the app (the database must be migrated).

    Sign-in throttling counts failures per account and client address: behind a reverse proxy, pass
    --proxy-headers with the proxy's address so that each client is told apart (default off: the proxy's address
    would then be every client's)."""
    import uvicorn

    from ketacare.cli import workers as workers_module

    db = ready_database()
    n = workers or default_workers(db.dialect, os.cpu_count())
    if db.dialect == "sqlite" and n > 1:
        err.print("note: SQLite takes one writer at a time; more processes will queue behind each other")
    db.dispose()
    options: dict[str, Any] = dict(
        app="ketacare.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=n,
        log_level="info",
        access_log=False,  # our own access log line (http/request_log.py) carries no query string or name
        server_header=False,
        timeout_graceful_shutdown=graceful_seconds,
        # The supervisor SIGKILLs a worker that does not answer its ping in time; under full load on a shared
        # machine a busy worker's answering thread can wait seconds for its turn, and uvicorn's 5 s default would
        # kill a serving worker with its requests in flight. A hung worker is still replaced, after this long.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips if proxy_headers else None,
    )
    if n > 1 and workers_module.can_balance():
        workers_module.run(options)
    else:
        uvicorn.run(**options)


FEATURED_PATIENTS = 200  # the demo clinic seeded through the services; more come from the bulk cohort


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

    db = database()
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
            # Beyond the featured clinic, patients come from the bulk cohort builder (issue 18 point 6).
            featured = min(patients, FEATURED_PATIENTS)
            result = seed_demo(
                db, n_patients=featured, seed_value=seed, progress=lambda n: progress.advance(task, n)
            )
            if patients > featured:
                from ketacare.demo.cohort import build as build_cohort

                build_cohort(db, n_patients=patients - featured, seed_value=seed,
                             progress=lambda n: progress.advance(task, n))
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

    uvicorn.run(
        "ketacare.app:factory", factory=True, host=host, port=port, log_level="warning", server_header=False,
        access_log=False,
    )


def run() -> None:
    """Console-script entry point."""
    app()
