"""What became of a bid's deposit (保证金): held while the bidding runs, applied to the price
for the winner, to be refunded to everyone else (issue 12 §2).

One nullable column on ``market_offer``: NULL for an offer without a deposit. Added in place on
both databases (ALTER TABLE ADD COLUMN, never a copy of the table).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("market_offer", sa.Column("deposit_state", sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column("market_offer", "deposit_state")
