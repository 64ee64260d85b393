"""Least-privilege PostgreSQL roles: an owner that migrates, an app role that owns nothing and cannot alter.

The owner role owns the schema, tables, sequences and trigger functions and is the only one that runs
migrations. The app role may read and write the clinic's tables, append to the audit trail (INSERT, and move
the chain head), and nothing else: no UPDATE or DELETE of audit events, no DELETE of the chain head, no
TRUNCATE, no TRIGGER, no DDL (it owns nothing, so it cannot DROP or DISABLE a trigger), and, being no
superuser, it cannot `SET session_replication_role` to skip the triggers.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

APPEND_ONLY = {"audit_events": "SELECT, INSERT", "audit_chain_head": "SELECT, INSERT, UPDATE"}
READ_ONLY = ("alembic_version",)


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _role_exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first() is not None


def _owned_objects(conn: Connection) -> list[str]:
    """Return ALTER ... OWNER targets for every table, view, sequence, function and type of `public`."""
    out = []
    for kind, name in conn.execute(text(
        "SELECT c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') "
        "AND c.relkind = 'S') ORDER BY c.relname")).all():
        word = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}.get(kind, "TABLE")
        out.append(f"{word} public.{_q(conn, name)}")
    for (sig,) in conn.execute(text(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' ORDER BY 1")).all():
        out.append(f"FUNCTION {sig}")
    for (name,) in conn.execute(text(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype = 'e' ORDER BY 1")).all():
        out.append(f"TYPE public.{_q(conn, name)}")
    return out


def role_statements(conn: Connection, *, owner: str, app: str) -> list[str]:
    """Return the SQL that creates (if needed) and grants the two roles in the connected database."""
    database = _q(conn, str(conn.execute(text("SELECT current_database()")).scalar_one()))
    o, a = _q(conn, owner), _q(conn, app)
    sql = []
    if not _role_exists(conn, owner):
        sql.append(f"CREATE ROLE {o} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    if not _role_exists(conn, app):
        sql.append(f"CREATE ROLE {a} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
    sql += [
        f"ALTER DATABASE {database} OWNER TO {o}",
        f"REVOKE ALL ON DATABASE {database} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {database} TO {a}",
        f"ALTER SCHEMA public OWNER TO {o}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {a}",
    ]
    sql += [f"ALTER {target} OWNER TO {o}" for target in _owned_objects(conn)]
    sql += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {a}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES "
        f"TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {a}",
    ]
    tables = {str(n) for (n,) in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()}
    limited = {**APPEND_ONLY, **dict.fromkeys(READ_ONLY, "SELECT")}
    for table, rights in limited.items():
        if table in tables:
            name = f"public.{_q(conn, table)}"
            sql += [f"REVOKE ALL ON {name} FROM {a}", f"GRANT {rights} ON {name} TO {a}"]
    return sql


def apply_roles(conn: Connection, *, owner: str, app: str) -> list[str]:
    """Create and grant the roles (run as a superuser connected to the clinic's database); return the SQL run."""
    sql = role_statements(conn, owner=owner, app=app)
    for statement in sql:
        conn.exec_driver_sql(statement)
    return sql
