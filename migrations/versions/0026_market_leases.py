"""The marketplace leases the land-management right (R05; issue 14 part 3): a lease listing's
asked terms, offers from outside the collective with their terms, and the members' priority on
equal terms (who was offered what, when, and the decision).

Nullable columns added in place on ``market_listing`` and ``market_offer`` (ALTER TABLE ADD
COLUMN on both databases) and one new table, ``market_priority``.

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

LISTING = (
    ("lease_method", sa.String(length=12)),
    ("lease_use", sa.String(length=16)),
    ("lease_starts_on", sa.Date()),
    ("lease_ends_on", sa.Date()),
    ("rent_fen_per_mu_year", sa.BigInteger()),
    ("payment_schedule", sa.String(length=12)),
    ("priority_ends_on", sa.Date()),
)
OFFER = (
    ("lessee_kind", sa.String(length=20)),
    ("lessee_name", sa.String(length=120)),
    ("lessee_id_number", sa.String(length=18)),
    ("lessee_uscc", sa.String(length=18)),
    ("lessee_contact", sa.String(length=120)),
    ("lease_starts_on", sa.Date()),
    ("lease_ends_on", sa.Date()),
    ("lease_use", sa.String(length=16)),
)


def upgrade() -> None:
    for name, type_ in LISTING:
        op.add_column("market_listing", sa.Column(name, type_, nullable=True))
    for name, type_ in OFFER:
        op.add_column("market_offer", sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("market_offer") as batch:
        batch.add_column(sa.Column("matches_offer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_market_offer_matches_offer_id_market_offer",
            "market_offer",
            ["matches_offer_id"],
            ["id"],
        )
    op.create_table(
        "market_priority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("told", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("matched_offer_id", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["market_listing.id"]),
        sa.ForeignKeyConstraint(["collective_id"], ["collective.id"]),
        sa.ForeignKeyConstraint(["offer_id"], ["market_offer.id"]),
        sa.ForeignKeyConstraint(["matched_offer_id"], ["market_offer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("listing_id"),
    )
    op.create_index(
        "ix_market_priority_collective_id", "market_priority", ["collective_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_market_priority_collective_id", table_name="market_priority")
    op.drop_table("market_priority")
    with op.batch_alter_table("market_offer") as batch:
        batch.drop_constraint("fk_market_offer_matches_offer_id_market_offer", type_="foreignkey")
        batch.drop_column("matches_offer_id")
    for name, _type in reversed(OFFER):
        op.drop_column("market_offer", name)
    for name, _type in reversed(LISTING):
        op.drop_column("market_listing", name)
