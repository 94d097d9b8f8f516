"""Rights-retained statements (权益保留证明): what was printed, its hash and verification code
(issue 13).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rights_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("person_uid", sa.Integer(), nullable=False),
        sa.Column("household_uid", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["collective_id"], ["collective.id"]),
        sa.ForeignKeyConstraint(["person_uid"], ["registry_object.id"]),
        sa.ForeignKeyConstraint(["household_uid"], ["registry_object.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name=op.f("uq_rights_statement_code")),
    )
    op.create_index("ix_rights_statement_collective_id", "rights_statement", ["collective_id"])
    op.create_index("ix_rights_statement_person_uid", "rights_statement", ["person_uid"])


def downgrade() -> None:
    op.drop_index("ix_rights_statement_person_uid", table_name="rights_statement")
    op.drop_index("ix_rights_statement_collective_id", table_name="rights_statement")
    op.drop_table("rights_statement")
