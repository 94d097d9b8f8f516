"""R14: the bureau's reasoned decisions on flagged deals, stored structurally (the flags shown,
the decision, whether the holder was interviewed in person, who and when).

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_flag_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("interviewed", sa.Boolean(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["listing_id"], ["market_listing.id"]),
        sa.ForeignKeyConstraint(["deal_id"], ["market_deal.id"]),
        sa.ForeignKeyConstraint(["collective_id"], ["collective.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_market_flag_review_listing_id", "market_flag_review", ["listing_id"])
    op.create_index("ix_market_flag_review_deal_id", "market_flag_review", ["deal_id"])
    op.create_index("ix_market_flag_review_collective_id", "market_flag_review", ["collective_id"])
    # PostgreSQL: the app's role gets its privileges on the new table (and its sequence) from the
    # owner's default privileges that ``flask db grant-app`` set (app/audit/roles.py), as for
    # 0019 and 0020; running grant-app again after the upgrade grants them explicitly too.


def downgrade() -> None:
    op.drop_index("ix_market_flag_review_collective_id", table_name="market_flag_review")
    op.drop_index("ix_market_flag_review_deal_id", table_name="market_flag_review")
    op.drop_index("ix_market_flag_review_listing_id", table_name="market_flag_review")
    op.drop_table("market_flag_review")
