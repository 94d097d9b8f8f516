"""People and households over a lifetime: death, guardians, what becomes of rights, hukou kind.

- ``person``: ``died_on``; ``hukou_kind`` (居民户口 since the 2014 reform, default for everyone)
  and ``hukou_origin`` (the pre-2014 农业 / 非农业 label), beside ``hukou_type`` (rural/urban).
- ``household.end_reason`` (died out / merged) and ``household_member.end_reason`` (death,
  split, merged, …) on the last version of what ended.
- ``collective.share_inheritance``: the charter's answer to "what becomes of a dead member's
  shares" (heir / collective).
- ``guardianship`` (监护人, versioned) and ``succession`` (what became of each right when its
  holder died or its household died out).

Columns are added in place; on SQLite the downgrade drops them in place too (no copy of a table
that others reference, see 0005). New tables get the app role's rights from the default
privileges the deployment set (app/audit/roles.py).

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("person", sa.Column("hukou_kind", sa.String(16), nullable=False, server_default="resident")),
    ("person", sa.Column("hukou_origin", sa.String(16), nullable=True)),
    ("person", sa.Column("died_on", sa.Date(), nullable=True)),
    ("household", sa.Column("end_reason", sa.String(16), nullable=True)),
    ("household_member", sa.Column("end_reason", sa.String(16), nullable=True)),
    ("collective", sa.Column("share_inheritance", sa.String(16), nullable=True)),
)

_VERSION_COLUMNS = (
    ("id", sa.Integer(), False),
    ("version", sa.Integer(), False),
    ("begin_lifespan", sa.DateTime(), False),
    ("end_lifespan", sa.DateTime(), True),
    ("change_reason", sa.Text(), True),
    ("changed_by", sa.String(length=64), True),
    ("uid", sa.Integer(), False),
    ("source_document_id", sa.Integer(), True),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.add_column(table, column)

    op.create_table(
        "guardianship",
        sa.Column("ward_uid", sa.Integer(), nullable=False),
        sa.Column("guardian_uid", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        *(sa.Column(name, type_, nullable=nullable) for name, type_, nullable in _VERSION_COLUMNS),
        sa.ForeignKeyConstraint(
            ["ward_uid"],
            ["registry_object.id"],
            name=op.f("fk_guardianship_ward_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["guardian_uid"],
            ["registry_object.id"],
            name=op.f("fk_guardianship_guardian_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_guardianship_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["uid"], ["registry_object.id"], name=op.f("fk_guardianship_uid_registry_object")
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name=op.f("fk_guardianship_source_document_id_source_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardianship")),
    )
    op.create_index("ix_guardianship_ward_uid", "guardianship", ["ward_uid"])
    op.create_index("ix_guardianship_guardian_uid", "guardianship", ["guardian_uid"])
    op.create_index("ix_guardianship_collective_id", "guardianship", ["collective_id"])
    op.create_index("ix_guardianship_uid", "guardianship", ["uid"])
    op.create_index(
        "uq_guardianship_current",
        "guardianship",
        ["uid"],
        unique=True,
        sqlite_where=sa.text("end_lifespan IS NULL"),
        postgresql_where=sa.text("end_lifespan IS NULL"),
    )

    op.create_table(
        "succession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("deceased_uid", sa.Integer(), nullable=True),
        sa.Column("household_uid", sa.Integer(), nullable=True),
        sa.Column("right_kind", sa.String(length=20), nullable=False),
        sa.Column("right_uid", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("heir_person_uid", sa.Integer(), nullable=True),
        sa.Column("heir_household_uid", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_document_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_succession_collective_id_collective"),
        ),
        *(
            sa.ForeignKeyConstraint(
                [column],
                ["registry_object.id"],
                name=op.f(f"fk_succession_{column}_registry_object"),
            )
            for column in (
                "deceased_uid",
                "household_uid",
                "right_uid",
                "heir_person_uid",
                "heir_household_uid",
            )
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name=op.f("fk_succession_source_document_id_source_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_succession")),
    )
    op.create_index("ix_succession_collective_id", "succession", ["collective_id"])
    op.create_index("ix_succession_deceased_uid", "succession", ["deceased_uid"])
    op.create_index("ix_succession_household_uid", "succession", ["household_uid"])


def downgrade() -> None:
    op.drop_table("succession")
    op.drop_table("guardianship")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in reversed(_COLUMNS):
        if sqlite:  # in place: a copy-and-rename would fire other tables' ON DELETE CASCADE
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
        else:
            op.drop_column(table, column.name)
