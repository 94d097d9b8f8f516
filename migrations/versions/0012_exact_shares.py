"""Shares are exact decimals: NUMERIC(18, 4) on PostgreSQL, integer units on SQLite.

``share_holding.shares`` and ``share_register.total_shares`` were floats. The model type is
``app.core.numbers.ExactDecimal(18, 4)``:

* PostgreSQL: ``ALTER COLUMN ... TYPE NUMERIC(18, 4) USING round(col::numeric, 4)`` in place.
  A stored float is rounded to four places once (0.30000000000000004 becomes 0.3000).
* SQLite has no exact decimal type, so the column becomes ``BIGINT`` holding ten-thousandths of
  a share (12.5 shares = 125000), which SQLite stores, sums and compares exactly. SQLite cannot
  change a column's declared type in place, and ``DROP COLUMN`` is refused on ``shares`` (a
  CHECK constraint names it), so both tables are copied and renamed. That is safe here, unlike
  the tables 0005 warns about: no table references ``share_holding`` or ``share_register``
  (versions are referred to through ``registry_object``) and neither has a trigger, so dropping
  the old copy cascades to nothing. Indexes, including the partial unique index of the current
  version, are created again by the copy (tests/test_migrations.py checks them).

The charter's cap (``collective.share_cap_percent``) is NUMERIC(5, 2) already and keeps its
column; the model now reads it as a Decimal.

Revision ID: 0012
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_COLUMNS = (("share_holding", "shares"), ("share_register", "total_shares"))
_UNITS = 10_000  # ten-thousandths: scale 4


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in _COLUMNS:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE NUMERIC(18, 4) "
                f"USING round({column}::numeric, 4)"
            )
        return
    for table, column in _COLUMNS:
        # Units first, while the column is still REAL: the copy casts to BIGINT, which would
        # cut 12.5 to 12.
        op.execute(f"UPDATE {table} SET {column} = round({column} * {_UNITS})")
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(
                column, existing_type=sa.Float(), type_=sa.BigInteger(), existing_nullable=False
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in _COLUMNS:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE DOUBLE PRECISION "
                f"USING {column}::double precision"
            )
        return
    for table, column in _COLUMNS:
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(
                column, existing_type=sa.BigInteger(), type_=sa.Float(), existing_nullable=False
            )
        op.execute(f"UPDATE {table} SET {column} = {column} / {_UNITS}.0")
