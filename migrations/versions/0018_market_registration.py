"""Registration of marketplace deals: land returned to the collective (R06), and what a paid
exit's deal records (the written notice, compensation for improvements) (issue 12).

Revision ID: 0018
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "land_return",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("household_uid", sa.Integer(), nullable=False),
        sa.Column("contract_uid", sa.Integer(), nullable=False),
        sa.Column("plot_uids", sa.Text(), nullable=False),
        sa.Column("notice_given_on", sa.Date(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("source_document_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["collective_id"], ["collective.id"]),
        sa.ForeignKeyConstraint(["household_uid"], ["registry_object.id"]),
        sa.ForeignKeyConstraint(["contract_uid"], ["registry_object.id"]),
        sa.ForeignKeyConstraint(["source_document_id"], ["source_document.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_land_return_collective_id", "land_return", ["collective_id"])
    op.create_index("ix_land_return_household_uid", "land_return", ["household_uid"])
    with op.batch_alter_table("market_deal") as batch:
        batch.add_column(sa.Column("notice_given_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("improvements_fen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("registration", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("market_deal") as batch:
        batch.drop_column("registration")
        batch.drop_column("improvements_fen")
        batch.drop_column("notice_given_on")
    op.drop_index("ix_land_return_household_uid", table_name="land_return")
    op.drop_index("ix_land_return_collective_id", table_name="land_return")
    op.drop_table("land_return")
