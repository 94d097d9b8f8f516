"""A forced password change: accounts the administrator created or whose password was reset.

``app_user.must_change_password`` is set when the system administrator creates an account or
resets its password from the administration pages (a generated password, shown once); until the
user chooses their own password they reach nothing but the change-password form and logout.
Existing accounts keep their passwords: the column defaults to false.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # as 0005: SQLite drops a column by itself
        op.execute("ALTER TABLE app_user DROP COLUMN must_change_password")
    else:
        op.drop_column("app_user", "must_change_password")
