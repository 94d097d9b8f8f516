"""PostgreSQL roles: the app may add to the audit log and read it, never change or remove it (R16).

Two roles (docs/DEPLOYMENT.md): the *owner* owns every table and runs the migrations; the *app*
owns nothing and gets, from the owner, the DML it needs everywhere but ``audit_entry``, where it
may only INSERT and SELECT. A table's owner (or a superuser, or anyone allowed to set
``session_replication_role``) could switch the log's triggers off; the app is none of these.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

AUDIT_TABLE = "audit_entry"
REWRITE_PRIVILEGES = "UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


class RoleRefused(ValueError):
    """The named role cannot serve as the app's role."""


def grant_app(conn: Connection, app_role: str) -> list[str]:
    """Give ``app_role`` what the app needs, as the tables' owner (the connection's user).

    R16: SELECT, INSERT, UPDATE and DELETE on every table the owner has in the current schema and
    use of its sequences, now and (default privileges) for tables later migrations create;
    temporary tables; on the audit log only INSERT and SELECT. Idempotent: run it again after
    any migration. Returns the statements run.
    """
    row = conn.execute(
        text(
            "SELECT current_user, current_database(), current_schema(), "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = :r), "
            "pg_has_role(:r, current_user, 'MEMBER')"
            " FROM pg_roles WHERE rolname = :r"
        ),
        {"r": app_role},
    ).one_or_none()
    if row is None:
        raise RoleRefused(f"there is no role {app_role}: CREATE ROLE {app_role} LOGIN first")
    owner, database, schema, superuser, member_of_owner = row
    if superuser or member_of_owner:
        raise RoleRefused(
            f"{app_role} is {'a superuser' if superuser else 'the owner or a member of it'}: "
            "the app's role must own nothing and be able to switch off no trigger"
        )
    q = conn.dialect.identifier_preparer.quote
    app, own, sch = q(app_role), q(owner), q(schema)
    owned = conn.execute(
        text(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relowner = current_user::regrole "
            "AND c.relkind IN ('r', 'p', 'S') ORDER BY c.relkind, c.relname"
        )
    ).all()
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {q(database)} TO {app}",
        f"GRANT USAGE ON SCHEMA {sch} TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {sch} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {sch} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]
    for name, kind in owned:
        if kind == "S":
            statements.append(f"GRANT USAGE, SELECT ON SEQUENCE {sch}.{q(name)} TO {app}")
        elif name == AUDIT_TABLE:  # the REVOKE also takes back what default privileges gave
            statements.append(f"GRANT SELECT, INSERT ON {sch}.{AUDIT_TABLE} TO {app}")
            statements.append(f"REVOKE {REWRITE_PRIVILEGES} ON {sch}.{AUDIT_TABLE} FROM {app}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {sch}.{q(name)} TO {app}")
    for statement in statements:
        conn.exec_driver_sql(statement)
    return statements


# Run as the app's role. The same query is in docs/DEPLOYMENT.md ("Check").
CHECK_SQL = """
SELECT
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND pg_has_role(c.relowner, 'MEMBER')) AS tables_owned,
  has_table_privilege('audit_entry', 'UPDATE') OR has_table_privilege('audit_entry', 'DELETE')
    OR has_table_privilege('audit_entry', 'TRUNCATE') AS may_rewrite_log,
  has_table_privilege('audit_entry', 'INSERT')
    AND has_table_privilege('audit_entry', 'SELECT') AS may_append_log,
  (SELECT bool_and(tgenabled = 'A') FROM pg_trigger
    WHERE tgrelid = 'audit_entry'::regclass AND NOT tgisinternal) AS triggers_always,
  has_parameter_privilege('session_replication_role', 'SET') AS may_set_replica
"""


def app_role_problems(conn: Connection) -> list[str]:
    """R16: what lets the connection's role rewrite the audit log or skip a check (empty: none)."""
    if conn.dialect.name != "postgresql":
        return []
    r = conn.execute(text(CHECK_SQL)).mappings().one()
    problems = []
    if r["superuser"]:
        problems.append("the app connects as a superuser")
    if r["tables_owned"]:
        problems.append(f"the app's role owns {r['tables_owned']} tables or objects")
    if r["may_rewrite_log"]:
        problems.append("the app's role may UPDATE, DELETE or TRUNCATE the audit log")
    if not r["may_append_log"]:
        problems.append("the app's role may not INSERT into and SELECT from the audit log")
    if not r["triggers_always"]:
        problems.append("the audit log's triggers do not fire always (migration 0004 not run?)")
    if r["may_set_replica"]:
        problems.append("the app's role may set session_replication_role (skips foreign keys)")
    return problems
