"""Legal time beside record time on every version row.

``valid_from`` / ``valid_to`` (dates of the county's calendar) say when a version took legal effect
and when that effect ended (NULL: still in effect); ``begin_lifespan`` / ``end_lifespan`` stay the
record time. "As of" answers in legal time.

Rows written before this revision carry no legal date: their legal time is their record time,
the county date (Asia/Shanghai) of ``begin_lifespan`` and ``end_lifespan``. A registrar who knows
the real date corrects the object with that date.

On SQLite the column is added in place (ALTER TABLE ADD COLUMN, never a copy-and-rename of these
tables, which other tables reference) and NOT NULL needs a default there; the default is never
used, as every write gives the date. Downgrade drops the columns in place too (SQLite >= 3.35).

Revision ID: 0014
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

VERSIONED_TABLES = (
    "person",
    "membership",
    "household",
    "household_member",
    "land_contract",
    "plot",
    "homestead",
    "share_holding",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in VERSIONED_TABLES:
        if sqlite:
            op.add_column(
                table,
                sa.Column("valid_from", sa.Date(), nullable=False, server_default="1970-01-01"),
            )
            op.add_column(table, sa.Column("valid_to", sa.Date(), nullable=True))
            op.execute(
                f"UPDATE {table} SET valid_from = date(begin_lifespan, '+8 hours'), "  # noqa: S608
                "valid_to = date(end_lifespan, '+8 hours')"
            )
        else:
            op.add_column(table, sa.Column("valid_from", sa.Date(), nullable=True))
            op.add_column(table, sa.Column("valid_to", sa.Date(), nullable=True))
            op.execute(
                f"UPDATE {table} SET "  # noqa: S608
                "valid_from = (begin_lifespan AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date, "
                "valid_to = (end_lifespan AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date"
            )
            op.alter_column(table, "valid_from", nullable=False)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in VERSIONED_TABLES:
        for column in ("valid_to", "valid_from"):
            if sqlite:
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            else:
                op.drop_column(table, column)
