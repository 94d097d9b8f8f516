"""Homesteads: existing (存量) ones registered as they are, inherited ones kept and noted (R7-R8).

* ``homestead.registration``: "new" (granted under the cap and 一户一宅) or "existing" (存量).
* ``homestead.acquired_by``: approval / inheritance / other.
* ``homestead.heir_person_uid``: an heir who is not a member here holds the homestead in person.
* ``homestead.note``: the registry's note (附记) on the homestead.
* ``uq_homestead_household_current`` no longer counts a homestead that came by inheritance.

Columns are added and dropped in place (no copy-and-rename of the table on SQLite).
Going down fails while a household holds a second, inherited homestead: the old index cannot
hold it.

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_PREDICATE = "end_lifespan IS NULL AND disposal IS NULL"
NEW_PREDICATE = "end_lifespan IS NULL AND disposal IS NULL AND acquired_by <> 'inheritance'"
COLUMNS = ("note", "heir_person_uid", "acquired_by", "registration")


def _household_index(predicate: str) -> None:
    op.create_index(
        "uq_homestead_household_current",
        "homestead",
        ["household_uid"],
        unique=True,
        sqlite_where=sa.text(predicate),
        postgresql_where=sa.text(predicate),
    )


def upgrade() -> None:
    op.add_column(
        "homestead",
        sa.Column("registration", sa.String(length=10), server_default="new", nullable=False),
    )
    op.add_column(
        "homestead",
        sa.Column("acquired_by", sa.String(length=16), server_default="approval", nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        # In place, with its reference (alembic would want a copy of the table for the key).
        op.execute(
            "ALTER TABLE homestead ADD COLUMN heir_person_uid INTEGER "
            "REFERENCES registry_object (id)"
        )
    else:
        op.add_column("homestead", sa.Column("heir_person_uid", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_homestead_heir_person_uid_registry_object"),
            "homestead",
            "registry_object",
            ["heir_person_uid"],
            ["id"],
        )
    op.add_column("homestead", sa.Column("note", sa.Text(), nullable=True))
    op.drop_index("uq_homestead_household_current", table_name="homestead")
    _household_index(NEW_PREDICATE)


def downgrade() -> None:
    op.drop_index("uq_homestead_household_current", table_name="homestead")
    _household_index(OLD_PREDICATE)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (>= 3.35) drops a column in place; alembic would copy the table instead.
        for column in COLUMNS:
            op.execute(f"ALTER TABLE homestead DROP COLUMN {column}")
    else:
        op.drop_constraint(
            op.f("fk_homestead_heir_person_uid_registry_object"), "homestead", type_="foreignkey"
        )
        for column in COLUMNS:
            op.drop_column("homestead", column)
