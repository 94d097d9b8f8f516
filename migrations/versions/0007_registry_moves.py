"""Moves of rights outside the marketplace wait for a countersign: the ``right_move`` table.

A plot moved between households' contracts, shares transferred or bought back, a homestead
transferred to another household: each is a request with a legal basis from a fixed list and a
source document, applied only when a bureau reviewer other than the requester countersigns
(app/registry/moves.py). A right has at most one pending move (partial unique index).

A new table only: nothing else is copied or rebuilt. On PostgreSQL the app's role gets its DML
from the default privileges ``app/audit/roles.py`` set up.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "right_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject_uid", sa.Integer(), nullable=False),
        sa.Column("from_household_uid", sa.Integer(), nullable=True),
        sa.Column("to_household_uid", sa.Integer(), nullable=True),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("basis", sa.String(length=24), nullable=False),
        sa.Column("source_document_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collective_id"], ["collective.id"], name=op.f("fk_right_move_collective_id_collective")
        ),
        sa.ForeignKeyConstraint(
            ["subject_uid"],
            ["registry_object.id"],
            name=op.f("fk_right_move_subject_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["from_household_uid"],
            ["registry_object.id"],
            name=op.f("fk_right_move_from_household_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["to_household_uid"],
            ["registry_object.id"],
            name=op.f("fk_right_move_to_household_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name=op.f("fk_right_move_source_document_id_source_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_right_move")),
    )
    op.create_index("ix_right_move_collective_id", "right_move", ["collective_id"])
    op.create_index("ix_right_move_subject_uid", "right_move", ["subject_uid"])
    op.create_index("ix_right_move_state", "right_move", ["state"])
    op.create_index(
        "uq_right_move_pending",
        "right_move",
        ["subject_uid"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_right_move_pending", table_name="right_move")
    op.drop_index("ix_right_move_state", table_name="right_move")
    op.drop_index("ix_right_move_subject_uid", table_name="right_move")
    op.drop_index("ix_right_move_collective_id", table_name="right_move")
    op.drop_table("right_move")
