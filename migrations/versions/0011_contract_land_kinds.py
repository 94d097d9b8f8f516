"""Land contracts record their land type (the term cap of Art. 21) and contracting method.

``land_contract.land_type`` (arable / grassland / forest) sets the longest term (30 / 50 / 70
years); ``land_contract.method`` (household / other) decides the contract code's last letter (J
or Q). Existing contracts are household contracts of arable land, as the registry assumed.

Added and dropped in place (no copy-and-rename on SQLite); no new table, so no new grants.

Revision ID: 0011
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "land_contract",
        sa.Column("land_type", sa.String(length=12), server_default="arable", nullable=False),
    )
    op.add_column(
        "land_contract",
        sa.Column("method", sa.String(length=12), server_default="household", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("land_contract", "method")
    op.drop_column("land_contract", "land_type")
