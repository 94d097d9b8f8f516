"""Leases of the land-management right (R05; issue 14 parts 1-4 and 7): leases and their plots,
the rent schedule and payments, the bureau's qualification review, the ending, and the
collective's leasing on households' behalf (委托流转) with their mandates.

What happened to a lease is written once: its plots, instalments, payments, qualification review
and ending. The database refuses UPDATE and DELETE on them (``written_once_refuse()`` of 0022 on
PostgreSQL, RAISE(ABORT) triggers on SQLite), as on the audit log.

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


WRITTEN_ONCE = (
    "lease_plot",
    "lease_instalment",
    "lease_payment",
    "lease_qualification",
    "lease_ending",
)


def upgrade():
    op.create_table('entrusted_lease',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('lessee_kind', sa.String(length=20), nullable=False),
    sa.Column('lessee_name', sa.String(length=120), nullable=False),
    sa.Column('lessee_household_uid', sa.Integer(), nullable=True),
    sa.Column('lessee_id_number', sa.String(length=18), nullable=True),
    sa.Column('lessee_uscc', sa.String(length=18), nullable=True),
    sa.Column('lessee_contact', sa.String(length=120), nullable=True),
    sa.Column('use', sa.String(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('rent_fen_per_mu_year', sa.BigInteger(), nullable=False),
    sa.Column('payment_schedule', sa.String(length=12), nullable=False),
    sa.Column('contract_document_id', sa.Integer(), nullable=True),
    sa.Column('priority_evidence', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_on > starts_on', name=op.f('ck_entrusted_lease_dates')),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_entrusted_lease_collective_id_collective')),
    sa.ForeignKeyConstraint(['contract_document_id'], ['source_document.id'], name=op.f('fk_entrusted_lease_contract_document_id_source_document')),
    sa.ForeignKeyConstraint(['lessee_household_uid'], ['registry_object.id'], name=op.f('fk_entrusted_lease_lessee_household_uid_registry_object')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entrusted_lease'))
    )
    with op.batch_alter_table('entrusted_lease', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entrusted_lease_collective_id'), ['collective_id'], unique=False)

    op.create_table('lease',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('contract_uid', sa.Integer(), nullable=False),
    sa.Column('household_uid', sa.Integer(), nullable=False),
    sa.Column('parent_lease_id', sa.Integer(), nullable=True),
    sa.Column('entrusted_lease_id', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('lessee_kind', sa.String(length=20), nullable=False),
    sa.Column('lessee_name', sa.String(length=120), nullable=False),
    sa.Column('lessee_household_uid', sa.Integer(), nullable=True),
    sa.Column('lessee_person_uid', sa.Integer(), nullable=True),
    sa.Column('lessee_id_number', sa.String(length=18), nullable=True),
    sa.Column('lessee_uscc', sa.String(length=18), nullable=True),
    sa.Column('lessee_contact', sa.String(length=120), nullable=True),
    sa.Column('use', sa.String(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('rent_fen_per_mu_year', sa.BigInteger(), nullable=False),
    sa.Column('rent_fen_per_year', sa.BigInteger(), nullable=False),
    sa.Column('payment_schedule', sa.String(length=12), nullable=False),
    sa.Column('contract_document_id', sa.Integer(), nullable=True),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('holder_consent_document_id', sa.Integer(), nullable=True),
    sa.Column('priority_evidence', sa.Text(), nullable=True),
    sa.Column('needs_qualification', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('awaiting_qualification', 'in_force', 'refused', 'ended')", name=op.f('ck_lease_state')),
    sa.CheckConstraint('ends_on > starts_on', name=op.f('ck_lease_dates')),
    sa.CheckConstraint('rent_fen_per_mu_year >= 0 AND rent_fen_per_year >= 0', name=op.f('ck_lease_rent')),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_collective_id_collective')),
    sa.ForeignKeyConstraint(['contract_document_id'], ['source_document.id'], name=op.f('fk_lease_contract_document_id_source_document')),
    sa.ForeignKeyConstraint(['contract_uid'], ['registry_object.id'], name=op.f('fk_lease_contract_uid_registry_object')),
    sa.ForeignKeyConstraint(['entrusted_lease_id'], ['entrusted_lease.id'], name=op.f('fk_lease_entrusted_lease_id_entrusted_lease')),
    sa.ForeignKeyConstraint(['holder_consent_document_id'], ['source_document.id'], name=op.f('fk_lease_holder_consent_document_id_source_document')),
    sa.ForeignKeyConstraint(['household_uid'], ['registry_object.id'], name=op.f('fk_lease_household_uid_registry_object')),
    sa.ForeignKeyConstraint(['lessee_household_uid'], ['registry_object.id'], name=op.f('fk_lease_lessee_household_uid_registry_object')),
    sa.ForeignKeyConstraint(['lessee_person_uid'], ['registry_object.id'], name=op.f('fk_lease_lessee_person_uid_registry_object')),
    sa.ForeignKeyConstraint(['parent_lease_id'], ['lease.id'], name=op.f('fk_lease_parent_lease_id_lease')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease')),
    sa.UniqueConstraint('number', name=op.f('uq_lease_number'))
    )
    with op.batch_alter_table('lease', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_collective_id'), ['collective_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_contract_uid'), ['contract_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_entrusted_lease_id'), ['entrusted_lease_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_household_uid'), ['household_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_parent_lease_id'), ['parent_lease_id'], unique=False)
        batch_op.create_index('ix_lease_state', ['collective_id', 'state'], unique=False)

    op.create_table('lease_mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entrusted_lease_id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('household_uid', sa.Integer(), nullable=False),
    sa.Column('plot_uids', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('given_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_mandate_collective_id_collective')),
    sa.ForeignKeyConstraint(['document_id'], ['source_document.id'], name=op.f('fk_lease_mandate_document_id_source_document')),
    sa.ForeignKeyConstraint(['entrusted_lease_id'], ['entrusted_lease.id'], name=op.f('fk_lease_mandate_entrusted_lease_id_entrusted_lease')),
    sa.ForeignKeyConstraint(['household_uid'], ['registry_object.id'], name=op.f('fk_lease_mandate_household_uid_registry_object')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_mandate')),
    sa.UniqueConstraint('entrusted_lease_id', 'household_uid', name=op.f('uq_lease_mandate_entrusted_lease_id'))
    )
    with op.batch_alter_table('lease_mandate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_mandate_entrusted_lease_id'), ['entrusted_lease_id'], unique=False)

    op.create_table('lease_ending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('expiry', 'agreement', 'breach')", name=op.f('ck_lease_ending_kind')),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_ending_collective_id_collective')),
    sa.ForeignKeyConstraint(['document_id'], ['source_document.id'], name=op.f('fk_lease_ending_document_id_source_document')),
    sa.ForeignKeyConstraint(['lease_id'], ['lease.id'], name=op.f('fk_lease_ending_lease_id_lease')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_ending')),
    sa.UniqueConstraint('lease_id', name=op.f('uq_lease_ending_lease_id'))
    )
    op.create_table('lease_instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_lease_instalment_amount')),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_instalment_collective_id_collective')),
    sa.ForeignKeyConstraint(['lease_id'], ['lease.id'], name=op.f('fk_lease_instalment_lease_id_lease')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_instalment'))
    )
    with op.batch_alter_table('lease_instalment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_instalment_lease_id'), ['lease_id'], unique=False)

    op.create_table('lease_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_payment_collective_id_collective')),
    sa.ForeignKeyConstraint(['lease_id'], ['lease.id'], name=op.f('fk_lease_payment_lease_id_lease')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_payment'))
    )
    with op.batch_alter_table('lease_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_payment_lease_id'), ['lease_id'], unique=False)

    op.create_table('lease_plot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('plot_uid', sa.Integer(), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_plot_collective_id_collective')),
    sa.ForeignKeyConstraint(['lease_id'], ['lease.id'], name=op.f('fk_lease_plot_lease_id_lease')),
    sa.ForeignKeyConstraint(['plot_uid'], ['registry_object.id'], name=op.f('fk_lease_plot_plot_uid_registry_object')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_plot')),
    sa.UniqueConstraint('lease_id', 'plot_uid', name=op.f('uq_lease_plot_lease_id'))
    )
    with op.batch_alter_table('lease_plot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_plot_lease_id'), ['lease_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_plot_plot_uid'), ['plot_uid'], unique=False)

    op.create_table('lease_qualification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('collective_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f('ck_lease_qualification_decision')),
    sa.ForeignKeyConstraint(['collective_id'], ['collective.id'], name=op.f('fk_lease_qualification_collective_id_collective')),
    sa.ForeignKeyConstraint(['document_id'], ['source_document.id'], name=op.f('fk_lease_qualification_document_id_source_document')),
    sa.ForeignKeyConstraint(['lease_id'], ['lease.id'], name=op.f('fk_lease_qualification_lease_id_lease')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_qualification')),
    sa.UniqueConstraint('lease_id', name=op.f('uq_lease_qualification_lease_id'))
    )


    if op.get_bind().dialect.name == "postgresql":
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


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in WRITTEN_ONCE:
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
    else:
        for table in WRITTEN_ONCE:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
    op.drop_table('lease_qualification')
    with op.batch_alter_table('lease_plot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lease_plot_plot_uid'))
        batch_op.drop_index(batch_op.f('ix_lease_plot_lease_id'))

    op.drop_table('lease_plot')
    with op.batch_alter_table('lease_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lease_payment_lease_id'))

    op.drop_table('lease_payment')
    with op.batch_alter_table('lease_instalment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lease_instalment_lease_id'))

    op.drop_table('lease_instalment')
    op.drop_table('lease_ending')
    with op.batch_alter_table('lease_mandate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lease_mandate_entrusted_lease_id'))

    op.drop_table('lease_mandate')
    with op.batch_alter_table('lease', schema=None) as batch_op:
        batch_op.drop_index('ix_lease_state')
        batch_op.drop_index(batch_op.f('ix_lease_parent_lease_id'))
        batch_op.drop_index(batch_op.f('ix_lease_household_uid'))
        batch_op.drop_index(batch_op.f('ix_lease_entrusted_lease_id'))
        batch_op.drop_index(batch_op.f('ix_lease_contract_uid'))
        batch_op.drop_index(batch_op.f('ix_lease_collective_id'))

    op.drop_table('lease')
    with op.batch_alter_table('entrusted_lease', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entrusted_lease_collective_id'))

    op.drop_table('entrusted_lease')
