"""Bulk loading of generated columns: `COPY ... FROM STDIN (FORMAT csv)` on PostgreSQL, `executemany` of tuples in
large transactions on SQLite. Bypasses the ORM and the services: for synthetic data only (no audit per row)."""

from __future__ import annotations

import io
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, func, select

from ketacare.store.db import Database
from ketacare.store.tables import Base

Columns = dict[str, pa.Array]
SQLITE_CACHE_KIB = 200_000  # page cache during the load (KiB): index pages of the large tables stay in memory
PG_MAINTENANCE_MEM = "256MB"  # index and foreign-key rebuilds after the load sort in memory


def _naive(col: pa.Array) -> pa.Array:
    """Return a UTC timestamp column without its zone (formatting a zoned column is ~50x slower in Arrow)."""
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        return col.cast(pa.int64()).cast(pa.timestamp(col.type.unit))
    return col


def _sqlite_values(col: pa.Array) -> list[Any]:
    """Return a column as Python values in SQLAlchemy's SQLite storage format (text timestamps and dates)."""
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):  # "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC
        return _naive(col).cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    return col.to_pylist()  # type: ignore[no-any-return]


class BulkLoader:
    """Append generated columns to tables on one connection, one transaction per `write`.

    SQLite: the load runs with `synchronous=OFF` and a large page cache on its own connection; the previous values
    are restored when it ends (WAL stays on: a crash mid-load can lose the load, never earlier commits).
    PostgreSQL: with `defer_indexes`, the secondary indexes and foreign keys of the tables are dropped before the
    load and re-created after it (one sort per index, one join per key, instead of a check per row); each id
    sequence moves past the explicit ids at the end.
    """

    def __init__(self, db: Database, tables: list[str], *, defer_indexes: bool = False) -> None:
        self.db, self.tables, self.defer_indexes = db, tables, defer_indexes
        self.next_id: dict[str, int] = {}
        self._conn: Connection | None = None
        self._restore: list[str] = []
        self._rebuild: list[str] = []

    def _c(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("use BulkLoader as a context manager")
        return self._conn

    def _raw(self) -> Any:
        return self._c().connection.driver_connection

    def __enter__(self) -> BulkLoader:
        conn = self._conn = self.db.engine.connect()
        for name in self.tables:
            table = Base.metadata.tables[name]
            self.next_id[name] = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
        conn.commit()
        if conn.dialect.name == "sqlite":  # on the driver connection: PRAGMAs outside any transaction
            raw = self._raw()
            sync = raw.execute("PRAGMA synchronous").fetchone()[0]
            cache = raw.execute("PRAGMA cache_size").fetchone()[0]
            self._restore = [f"PRAGMA synchronous={int(sync)}", f"PRAGMA cache_size={int(cache)}"]
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        elif self.defer_indexes:
            self._drop_indexes(conn)
        return self

    def _drop_indexes(self, conn: Connection) -> None:
        """Drop the tables' secondary indexes and foreign keys, remembering how to re-create them."""
        names = tuple(self.tables)
        with conn.begin():
            fks = conn.exec_driver_sql(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%(t)s)", {"t": list(names)}).all()
            indexes = conn.exec_driver_sql(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid::regclass::text = ANY(%(t)s) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", {"t": list(names)}).all()
            for table, con, definition in fks:
                conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"')
                self._rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{con}" {definition}')
            for index, definition in indexes:
                conn.exec_driver_sql(f"DROP INDEX {index}")
                self._rebuild.insert(0, definition)  # indexes first: the key checks then use them

    def write(self, chunk: dict[str, Columns]) -> None:
        """Insert every table's columns of one chunk in one transaction (tables in the order given)."""
        with self._c().begin():
            for name in self.tables:
                cols = chunk.get(name)
                if cols:
                    self._insert(name, cols)

    def _insert(self, name: str, cols: Columns) -> None:
        names = ", ".join(cols)  # column names from our own generator, not input
        raw = self._raw()
        if self._c().dialect.name == "postgresql":
            buf = io.BytesIO()
            table = pa.table({k: _naive(v) for k, v in cols.items()})
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, batch_size=65_536))
            with raw.cursor() as cur:
                cur.execute("SET LOCAL TIME ZONE 'UTC'")  # the naive UTC timestamps above
                with cur.copy(f"COPY {name} ({names}) FROM STDIN (FORMAT csv)") as cp:
                    cp.write(buf.getbuffer())
            return
        marks = ", ".join("?" for _ in cols)
        cur = raw.cursor()
        try:
            cur.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})",  # noqa: S608 - our own names
                            zip(*(_sqlite_values(c) for c in cols.values()), strict=True))
        finally:
            cur.close()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
            raw = self._raw()
            for pragma in self._restore:
                raw.execute(pragma)
            if conn.dialect.name == "postgresql":
                with conn.begin():
                    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_MAINTENANCE_MEM}'")
                    for statement in self._rebuild:  # our own catalogue's definitions, restored even on failure
                        conn.exec_driver_sql(statement)
                    for name in self.tables:  # table names from our own metadata, not input
                        conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                            f"(SELECT max(id) FROM {name}))"
                        )
                    # fresh statistics: without them the planner scans millions of vitals to refresh one patient
                    for name in self.tables:
                        conn.exec_driver_sql(f"ANALYZE {name}")
            else:
                raw.execute("ANALYZE")
        finally:
            conn.close()
