"""The audit trail is append-only: the database refuses UPDATE, DELETE and TRUNCATE (R16).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_entry_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse()"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: UPDATE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused'); END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER audit_entry_no_change ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_refuse()")
    else:
        op.execute("DROP TRIGGER audit_entry_no_delete")
        op.execute("DROP TRIGGER audit_entry_no_update")
