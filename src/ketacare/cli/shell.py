"""What every `ketacare` command module shares: consoles, exit codes, the database, turning refusals into exits."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from ketacare.config import get_settings
from ketacare.domain.errors import InvalidValue
from ketacare.services.errors import ServiceError

if TYPE_CHECKING:
    from ketacare.store.db import Database

P = ParamSpec("P")
T = TypeVar("T")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a message to stderr and exit (2 = bad input)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def database() -> Database:
    from ketacare.store.db import Database

    return Database(get_settings().database_url)


def ready_database() -> Database:
    from ketacare.store.migrate import NotMigrated, require_current

    db = database()
    try:
        require_current(db)
    except NotMigrated as e:
        fail(str(e), 1)
    return db


def guard(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
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


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
