"""The marketplace's tables: listings, declarations and consents, offers, deals, steps (issue 12).

New tables only. A right is in at most one open listing: a partial unique index on
``market_listing.right_uid`` over the open states (app/market/states.py OPEN). Money is whole
fen in BIGINT; shares are the registry's exact decimals. On PostgreSQL the app's role gets its
DML from the default privileges app/audit/roles.py set up.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from app.core.numbers import ExactDecimal

#: The open states of a listing as this revision knows them (app/market/states.py OPEN).
OPEN = (
    "state IN ('awaiting_consent', 'bureau_review', 'collective_consent', 'contracting', "
    "'draft', 'published', 'ready', 'township_approval')"
)

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_listing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("right_kind", sa.String(length=20), nullable=False),
        sa.Column("right_uid", sa.Integer(), nullable=False),
        sa.Column("deal_kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("household_uid", sa.Integer(), nullable=True),
        sa.Column("person_uid", sa.Integer(), nullable=True),
        sa.Column("plot_uids", sa.Text(), nullable=True),
        sa.Column("shares", ExactDecimal(precision=18, scale=4), nullable=True),
        sa.Column("asking_price_fen", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("bid_deadline", sa.DateTime(), nullable=True),
        sa.Column("bid_step_fen", sa.BigInteger(), nullable=True),
        sa.Column("deposit_fen", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=True),
        sa.Column("cooling_off_ends_on", sa.Date(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("notice_ends_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_market_listing_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["household_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_listing_household_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["person_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_listing_person_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["right_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_listing_right_uid_registry_object"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_listing")),
    )
    with op.batch_alter_table("market_listing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_listing_collective_id"), ["collective_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_market_listing_right_uid"), ["right_uid"], unique=False
        )
        batch_op.create_index("ix_market_listing_state", ["collective_id", "state"], unique=False)
        batch_op.create_index(
            "uq_market_listing_open_right",
            ["right_uid"],
            unique=True,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )

    op.create_table(
        "market_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("person_uid", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("decided_by_person_uid", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=True),
        sa.Column("witnessed_by", sa.String(length=64), nullable=True),
        sa.Column("paper_document_id", sa.Integer(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("statement_sha256", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_market_consent_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_person_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_consent_decided_by_person_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["market_listing.id"],
            name=op.f("fk_market_consent_listing_id_market_listing"),
        ),
        sa.ForeignKeyConstraint(
            ["paper_document_id"],
            ["source_document.id"],
            name=op.f("fk_market_consent_paper_document_id_source_document"),
        ),
        sa.ForeignKeyConstraint(
            ["person_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_consent_person_uid_registry_object"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_consent")),
        sa.UniqueConstraint("listing_id", "person_uid", name=op.f("uq_market_consent_listing_id")),
    )
    with op.batch_alter_table("market_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_consent_listing_id"), ["listing_id"], unique=False
        )

    op.create_table(
        "market_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("household_uid", sa.Integer(), nullable=True),
        sa.Column("person_uid", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("deposit_fen", sa.BigInteger(), nullable=True),
        sa.Column("deposit_reference", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("eligibility", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_market_offer_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["household_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_offer_household_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["market_listing.id"],
            name=op.f("fk_market_offer_listing_id_market_listing"),
        ),
        sa.ForeignKeyConstraint(
            ["person_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_offer_person_uid_registry_object"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_offer")),
    )
    with op.batch_alter_table("market_offer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_offer_listing_id"), ["listing_id"], unique=False
        )

    op.create_table(
        "market_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_market_step_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["source_document.id"],
            name=op.f("fk_market_step_document_id_source_document"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["market_listing.id"],
            name=op.f("fk_market_step_listing_id_market_listing"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_step")),
    )
    with op.batch_alter_table("market_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_step_listing_id"), ["listing_id"], unique=False)

    op.create_table(
        "market_deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("buyer_household_uid", sa.Integer(), nullable=True),
        sa.Column("buyer_person_uid", sa.Integer(), nullable=True),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("resolution_document_id", sa.Integer(), nullable=True),
        sa.Column("votes_for", sa.Integer(), nullable=True),
        sa.Column("votes_cast", sa.Integer(), nullable=True),
        sa.Column("contract_signed_on", sa.Date(), nullable=True),
        sa.Column("contract_document_id", sa.Integer(), nullable=True),
        sa.Column("payment_terms", sa.Text(), nullable=True),
        sa.Column("payment", sa.String(length=10), nullable=True),
        sa.Column("payment_reference", sa.String(length=64), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("escrow_released_at", sa.DateTime(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("attestation_number", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["buyer_household_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_deal_buyer_household_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["buyer_person_uid"],
            ["registry_object.id"],
            name=op.f("fk_market_deal_buyer_person_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_market_deal_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_document_id"],
            ["source_document.id"],
            name=op.f("fk_market_deal_contract_document_id_source_document"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["market_listing.id"],
            name=op.f("fk_market_deal_listing_id_market_listing"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["market_offer.id"], name=op.f("fk_market_deal_offer_id_market_offer")
        ),
        sa.ForeignKeyConstraint(
            ["resolution_document_id"],
            ["source_document.id"],
            name=op.f("fk_market_deal_resolution_document_id_source_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_deal")),
        sa.UniqueConstraint("attestation_number", name=op.f("uq_market_deal_attestation_number")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_market_deal_listing_id")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_market_deal_offer_id")),
    )
    with op.batch_alter_table("market_deal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_deal_collective_id"), ["collective_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("market_deal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_deal_collective_id"))

    op.drop_table("market_deal")
    with op.batch_alter_table("market_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_step_listing_id"))

    op.drop_table("market_step")
    with op.batch_alter_table("market_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_offer_listing_id"))

    op.drop_table("market_offer")
    with op.batch_alter_table("market_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_consent_listing_id"))

    op.drop_table("market_consent")
    with op.batch_alter_table("market_listing", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_market_listing_open_right",
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )
        batch_op.drop_index("ix_market_listing_state")
        batch_op.drop_index(batch_op.f("ix_market_listing_right_uid"))
        batch_op.drop_index(batch_op.f("ix_market_listing_collective_id"))

    op.drop_table("market_listing")
