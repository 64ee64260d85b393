"""Shared benchmark helpers: fresh databases on each engine, timing, percentiles."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ketacare.store.db import Database
from ketacare.store.migrate import upgrade

PG_URL = os.environ.get("KETACARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    try:
        eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@contextmanager
def fresh_database(engine: str, name: str) -> Iterator[Database]:
    """Yield a new, migrated database on `engine` ("sqlite" or "postgresql"), removed afterwards."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            db = Database(f"sqlite:///{d}/{name}.db")
            upgrade(db)
            try:
                yield db
            finally:
                db.dispose()
        return
    base = make_url(PG_URL)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    dbname = f"kc_bench_{name}_{uuid.uuid4().hex[:8]}"  # several people may benchmark on one server at once
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{dbname}"'))
    db = Database(base.set(database=dbname).render_as_string(hide_password=False))
    upgrade(db)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def engines() -> list[str]:
    return ["sqlite"] + (["postgresql"] if postgres_available() else [])


def time_calls(fn: Callable[[int], object], n: int) -> list[float]:
    """Call fn(i) n times; return each call's duration in milliseconds."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def pct(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) of values."""
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else max(values)
