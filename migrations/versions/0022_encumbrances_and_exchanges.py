"""What weighs on a right (encumbrances and their releases) and exchanges of plots (R04; issue 14
parts 5 and 6).

The three tables are written once and never changed: a release is a row of its own, an exchange
is a record of what was done. The database refuses UPDATE and DELETE on them, as on the audit
log (0002). New tables get the app role's grants from the default privileges (DEPLOYMENT.md).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

WRITTEN_ONCE = ("encumbrance", "encumbrance_release", "plot_exchange")


def upgrade() -> None:
    op.create_table(
        "encumbrance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("right_kind", sa.String(length=20), nullable=False),
        sa.Column("right_uid", sa.Integer(), nullable=False),
        sa.Column("party_name", sa.String(length=120), nullable=False),
        sa.Column("party_uscc", sa.String(length=18), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_document_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('pledge', 'dispute', 'freeze', 'lease')", name=op.f("ck_encumbrance_kind")
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_encumbrance_dates")
        ),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_encumbrance_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["right_uid"],
            ["registry_object.id"],
            name=op.f("fk_encumbrance_right_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name=op.f("fk_encumbrance_source_document_id_source_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encumbrance")),
    )
    with op.batch_alter_table("encumbrance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_encumbrance_collective_id"), ["collective_id"])
        batch_op.create_index(batch_op.f("ix_encumbrance_right_uid"), ["right_uid"])

    op.create_table(
        "encumbrance_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encumbrance_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source_document_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_encumbrance_release_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["encumbrance_id"],
            ["encumbrance.id"],
            name=op.f("fk_encumbrance_release_encumbrance_id_encumbrance"),
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name=op.f("fk_encumbrance_release_source_document_id_source_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encumbrance_release")),
        sa.UniqueConstraint("encumbrance_id", name=op.f("uq_encumbrance_release_encumbrance_id")),
    )
    with op.batch_alter_table("encumbrance_release", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_encumbrance_release_collective_id"), ["collective_id"])

    op.create_table(
        "plot_exchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("household_a_uid", sa.Integer(), nullable=False),
        sa.Column("contract_a_uid", sa.Integer(), nullable=False),
        sa.Column("household_b_uid", sa.Integer(), nullable=False),
        sa.Column("contract_b_uid", sa.Integer(), nullable=False),
        sa.Column("plots_a", sa.Text(), nullable=False),
        sa.Column("plots_b", sa.Text(), nullable=False),
        sa.Column("exchanged_on", sa.Date(), nullable=False),
        sa.Column("agreement_document_id", sa.Integer(), nullable=False),
        sa.Column("filing_document_id", sa.Integer(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_document_id"],
            ["source_document.id"],
            name=op.f("fk_plot_exchange_agreement_document_id_source_document"),
        ),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name=op.f("fk_plot_exchange_collective_id_collective"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_a_uid"],
            ["registry_object.id"],
            name=op.f("fk_plot_exchange_contract_a_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_b_uid"],
            ["registry_object.id"],
            name=op.f("fk_plot_exchange_contract_b_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["filing_document_id"],
            ["source_document.id"],
            name=op.f("fk_plot_exchange_filing_document_id_source_document"),
        ),
        sa.ForeignKeyConstraint(
            ["household_a_uid"],
            ["registry_object.id"],
            name=op.f("fk_plot_exchange_household_a_uid_registry_object"),
        ),
        sa.ForeignKeyConstraint(
            ["household_b_uid"],
            ["registry_object.id"],
            name=op.f("fk_plot_exchange_household_b_uid_registry_object"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plot_exchange")),
    )
    with op.batch_alter_table("plot_exchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plot_exchange_collective_id"), ["collective_id"])
        batch_op.create_index(batch_op.f("ix_plot_exchange_contract_a_uid"), ["contract_a_uid"])
        batch_op.create_index(batch_op.f("ix_plot_exchange_contract_b_uid"), ["contract_b_uid"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION written_once_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is written once: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$;
            """
        )
        for table in WRITTEN_ONCE:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION written_once_refuse()"
            )
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change")
    else:
        for table in WRITTEN_ONCE:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is written once: {action} refused'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WRITTEN_ONCE:
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
        op.execute("DROP FUNCTION written_once_refuse()")
    else:
        for table in WRITTEN_ONCE:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
    with op.batch_alter_table("plot_exchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plot_exchange_contract_b_uid"))
        batch_op.drop_index(batch_op.f("ix_plot_exchange_contract_a_uid"))
        batch_op.drop_index(batch_op.f("ix_plot_exchange_collective_id"))
    op.drop_table("plot_exchange")
    with op.batch_alter_table("encumbrance_release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encumbrance_release_collective_id"))
    op.drop_table("encumbrance_release")
    with op.batch_alter_table("encumbrance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encumbrance_right_uid"))
        batch_op.drop_index(batch_op.f("ix_encumbrance_collective_id"))
    op.drop_table("encumbrance")
