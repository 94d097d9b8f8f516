"""The audit log stays append-only whoever connects: triggers that always fire; no rewrite grants.

PostgreSQL only (SQLite has no roles and no replica mode; its triggers always fire).

* The triggers of 0002 fire ALWAYS: ordinary triggers are skipped by a session with
  ``session_replication_role = replica``, which any superuser, and since PostgreSQL 15 any
  role granted ``SET ON PARAMETER session_replication_role``, may set.
* UPDATE, DELETE, TRUNCATE, REFERENCES and TRIGGER on ``audit_entry`` are revoked from every
  role but the table's owner (PUBLIC included), whatever was granted before or comes through
  default privileges: the app's role may only INSERT and SELECT (docs/DEPLOYMENT.md).
* ``import_staging_analyze()`` runs ``ANALYZE import_staging`` as the table's owner, so an app
  that owns no table still refreshes the planner's statistics of the rows it just staged
  (PostgreSQL 15 lets only a table's owner ANALYZE it). It takes no argument, touches nothing
  else and pins its search_path, so anyone may call it.

Only the table's owner (the role that runs migrations) or a superuser can still switch the
triggers off (ALTER TABLE ... DISABLE TRIGGER): the app must not run as either. A cut or
rewritten tail is then caught by ``flask audit verify`` against the head it last saw.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TRIGGERS = ("audit_entry_no_change", "audit_entry_no_truncate")

# Every role but the owner that holds a privilege able to change or remove existing entries.
_REVOKE_FROM_ALL_BUT_OWNER = """
DO $$
DECLARE
  grantee_name text;
BEGIN
  REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_entry FROM PUBLIC;
  FOR grantee_name IN
    SELECT DISTINCT quote_ident(r.rolname)
    FROM pg_class c
    CROSS JOIN LATERAL aclexplode(c.relacl) a
    JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = 'audit_entry'::regclass
      AND a.grantee <> c.relowner
      AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')
  LOOP
    EXECUTE format(
      'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_entry FROM %s', grantee_name
    );
  END LOOP;
END $$;
"""

# The staging table named with its schema, so the function's pinned search_path cannot be used
# to make it analyze anything else.
_ANALYZE_FUNCTION = """
DO $$
BEGIN
  EXECUTE format(
    'CREATE FUNCTION import_staging_analyze() RETURNS void LANGUAGE sql SECURITY DEFINER '
    'SET search_path = pg_catalog, pg_temp AS %L',
    (SELECT format('ANALYZE %I.%I', n.nspname, c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = 'import_staging'::regclass)
  );
END $$;
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger in _TRIGGERS:
        op.execute(f"ALTER TABLE audit_entry ENABLE ALWAYS TRIGGER {trigger}")
    op.execute(_REVOKE_FROM_ALL_BUT_OWNER)
    op.execute(_ANALYZE_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION import_staging_analyze()")
    # The grants revoked are not given back: nobody should hold them.
    for trigger in _TRIGGERS:
        op.execute(f"ALTER TABLE audit_entry ENABLE TRIGGER {trigger}")
