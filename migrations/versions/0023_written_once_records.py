"""Settlement records, rights-retained statements and the bureau's flag reviews are written once.

Each is a fact recorded at a moment: a settlement is corrected by a new row naming the one it
corrects, a statement is what was printed (its verification compares it with the registry now),
a flag review is the decision the bureau took on the flags it was shown. The services only ever
add rows; from this revision the database refuses UPDATE and DELETE on them too, as on the audit
log (0002) and the encumbrances (0022), so neither a bug nor a hand at the console can rewrite
the settlement-independence evidence.

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

WRITTEN_ONCE = ("settlement_record", "rights_statement", "market_flag_review")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # written_once_refuse() is 0022's: it raises, naming the table and the operation.
        for table in WRITTEN_ONCE:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION written_once_refuse()"
            )
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change")
    else:
        for table in WRITTEN_ONCE:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is written once: {action} refused'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WRITTEN_ONCE:
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
    else:
        for table in WRITTEN_ONCE:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
