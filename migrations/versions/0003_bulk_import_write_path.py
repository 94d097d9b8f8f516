"""Cheaper bulk writes: fewer plot indexes; a leaner import staging table, unlogged on PostgreSQL.

* ``ix_plot_dkbm`` (every version) goes: codes are looked up among current plots, which
  ``uq_plot_dkbm_current`` serves.
* ``ix_plot_contract_uid`` / ``ix_plot_household_uid`` become partial (``IS NOT NULL``): plots
  are looked up by a given contract or household, never by a missing one, and an import's plots
  have neither, so they no longer cost an index insertion each.
* ``import_staging`` is made again with (job_id, idx) as its key, no id sequence and no foreign
  key to import_job (jobs are never deleted), and on PostgreSQL UNLOGGED: scratch rows need no
  WAL. After a crash PostgreSQL empties the table; a job whose staged rows are gone is refused at
  promotion (``app.imports.jobs``) and imported again. The table holds only scratch rows, so
  it is recreated rather than altered: a job validated but not yet promoted when this runs is
  refused in the same way.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LINKS = ("contract_uid", "household_uid")


def _staging_columns() -> list[sa.Column]:
    return [
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("valid_geom", sa.Boolean(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=True),
        sa.Column("dkbm", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("land_class", sa.String(length=2), nullable=True),
        sa.Column("land_use", sa.String(length=8), nullable=True),
        sa.Column("is_basic_farmland", sa.Boolean(), nullable=False),
        sa.Column("contract_area_m2", sa.Float(), nullable=True),
        sa.Column("measured_area_m2", sa.Float(), nullable=True),
        sa.Column("east", sa.String(length=100), nullable=True),
        sa.Column("south", sa.String(length=100), nullable=True),
        sa.Column("west", sa.String(length=100), nullable=True),
        sa.Column("north", sa.String(length=100), nullable=True),
        sa.Column("cbfbm", sa.String(length=64), nullable=True),
        sa.Column("wkb_sha256", sa.String(length=64), nullable=True),
        sa.Column("wkb", sa.LargeBinary(), nullable=True),
    ]


def upgrade():
    op.drop_index("ix_plot_dkbm", table_name="plot")
    for column in _LINKS:
        op.drop_index(f"ix_plot_{column}", table_name="plot")
        op.create_index(
            f"ix_plot_{column}",
            "plot",
            [column],
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )

    op.drop_table("import_staging")
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "import_staging",
        *_staging_columns(),
        sa.PrimaryKeyConstraint("job_id", "idx", name=op.f("pk_import_staging")),
        prefixes=unlogged,
    )
    op.create_index("ix_import_staging_job_dkbm", "import_staging", ["job_id", "dkbm"])


def downgrade():
    op.drop_table("import_staging")
    op.create_table(
        "import_staging",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        *_staging_columns(),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_job.id"],
            name=op.f("fk_import_staging_job_id_import_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_staging")),
    )
    op.create_index("ix_import_staging_job_dkbm", "import_staging", ["job_id", "dkbm"])
    op.create_index("ix_import_staging_job_idx", "import_staging", ["job_id", "idx"], unique=True)

    for column in _LINKS:
        op.drop_index(f"ix_plot_{column}", table_name="plot")
        op.create_index(f"ix_plot_{column}", "plot", [column])
    op.create_index("ix_plot_dkbm", "plot", ["dkbm"])
