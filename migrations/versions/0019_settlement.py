"""Settlement records (落户登记), kept apart from every right (R12; issue 13).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_uid", sa.Integer(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("city", sa.String(length=60), nullable=False),
        sa.Column("district", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source_document_id", sa.Integer(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_uid"], ["registry_object.id"]),
        sa.ForeignKeyConstraint(["source_document_id"], ["source_document.id"]),
        sa.ForeignKeyConstraint(["corrects_id"], ["settlement_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_settlement_record_person_uid", "settlement_record", ["person_uid"])
    op.create_index("ix_settlement_record_corrects_id", "settlement_record", ["corrects_id"])


def downgrade() -> None:
    op.drop_index("ix_settlement_record_corrects_id", table_name="settlement_record")
    op.drop_index("ix_settlement_record_person_uid", table_name="settlement_record")
    op.drop_table("settlement_record")
