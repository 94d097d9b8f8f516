"""A lease on no paper weighs on its plots too; the police list's remarks (备注) are kept.

* ``encumbrance``: a lease of one year or less between members may have no written contract
  (R05), so its registry record cannot cite a document. The record now names the lease it comes
  from (``lease_id``) and ``source_document_id`` becomes nullable, under a CHECK that every row
  cites a document or, for a lease, the lease record. A pledge, a dispute or a freeze still
  needs its document.
* ``encumbrance_release``: the end of such a lease has no document either; a release names the
  lease's ending (``lease_ending_id``) when it has none, under the same kind of CHECK.
* ``settlement_record.note``: the list row's 备注, at most 200 characters (VARCHAR(200); the
  import refuses a longer one). Added in place on both databases.

Both tables stay written once: on PostgreSQL the columns change in place (ALTER TABLE does not
touch the row triggers). SQLite cannot drop a NOT NULL or add a CHECK in place, so both tables
are copied: the releases are set aside first (they reference the encumbrances, and dropping a
referenced table with foreign keys on would fail), the encumbrances are copied into their new
table, the releases are put back into theirs, and the UPDATE/DELETE triggers of 0022 are
created again on both. The copies are INSERTs, which the triggers allow.

Downgrading refuses (NOT NULL) while a record without a document exists: such facts cannot be
dropped, as the tables are written once.

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

ENCUMBRANCE_CITES = "source_document_id IS NOT NULL OR (kind = 'lease' AND lease_id IS NOT NULL)"
RELEASE_CITES = "source_document_id IS NOT NULL OR lease_ending_id IS NOT NULL"
WRITTEN_ONCE = ("encumbrance", "encumbrance_release")
OLD_ENCUMBRANCE = (
    "id, collective_id, kind, right_kind, right_uid, party_name, party_uscc, case_number, "
    "starts_on, ends_on, note, source_document_id, recorded_by, recorded_by_id, recorded_at"
)
OLD_RELEASE = (
    "id, encumbrance_id, collective_id, released_on, reason, source_document_id, recorded_by, "
    "recorded_by_id, recorded_at"
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _encumbrance(name: str, *, new: bool) -> None:
    extra: list = []
    if new:
        extra = [
            sa.Column("lease_id", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(
                ["lease_id"], ["lease.id"], name="fk_encumbrance_lease_id_lease"
            ),
            sa.CheckConstraint(ENCUMBRANCE_CITES, name="ck_encumbrance_cites"),
        ]
    op.create_table(
        name,
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
        sa.Column("source_document_id", sa.Integer(), nullable=new),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('pledge', 'dispute', 'freeze', 'lease')", name="ck_encumbrance_kind"
        ),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ck_encumbrance_dates"),
        sa.ForeignKeyConstraint(
            ["collective_id"], ["collective.id"], name="fk_encumbrance_collective_id_collective"
        ),
        sa.ForeignKeyConstraint(
            ["right_uid"], ["registry_object.id"], name="fk_encumbrance_right_uid_registry_object"
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name="fk_encumbrance_source_document_id_source_document",
        ),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_encumbrance"),
    )


def _release(*, new: bool) -> None:
    extra: list = []
    if new:
        extra = [
            sa.Column("lease_ending_id", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(
                ["lease_ending_id"],
                ["lease_ending.id"],
                name="fk_encumbrance_release_lease_ending_id_lease_ending",
            ),
            sa.CheckConstraint(RELEASE_CITES, name="ck_encumbrance_release_cites"),
        ]
    op.create_table(
        "encumbrance_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encumbrance_id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source_document_id", sa.Integer(), nullable=new),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collective.id"],
            name="fk_encumbrance_release_collective_id_collective",
        ),
        sa.ForeignKeyConstraint(
            ["encumbrance_id"],
            ["encumbrance.id"],
            name="fk_encumbrance_release_encumbrance_id_encumbrance",
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["source_document.id"],
            name="fk_encumbrance_release_source_document_id_source_document",
        ),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_encumbrance_release"),
        sa.UniqueConstraint("encumbrance_id", name="uq_encumbrance_release_encumbrance_id"),
    )


def _sqlite_triggers() -> None:
    for table in WRITTEN_ONCE:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is written once: {action} refused'); END"
            )


def _sqlite_rebuild(*, new: bool) -> None:
    """Copy both tables into their ``new`` (or old) shape, keeping every row and id."""
    # The columns both shapes have (going down, the added ones are left behind).
    enc_cols, rel_cols = OLD_ENCUMBRANCE, OLD_RELEASE
    op.execute("CREATE TABLE _kept_encumbrance_release AS SELECT * FROM encumbrance_release")
    op.drop_table("encumbrance_release")  # its index and triggers go with it
    _encumbrance("_new_encumbrance", new=new)
    op.execute(
        f"INSERT INTO _new_encumbrance ({enc_cols}) SELECT {enc_cols} FROM encumbrance"
    )
    op.drop_table("encumbrance")  # nothing references it now
    op.execute("ALTER TABLE _new_encumbrance RENAME TO encumbrance")
    op.create_index("ix_encumbrance_collective_id", "encumbrance", ["collective_id"])
    op.create_index("ix_encumbrance_right_uid", "encumbrance", ["right_uid"])
    if new:
        op.create_index("ix_encumbrance_lease_id", "encumbrance", ["lease_id"])
    _release(new=new)
    op.execute(
        f"INSERT INTO encumbrance_release ({rel_cols}) "
        f"SELECT {rel_cols} FROM _kept_encumbrance_release"
    )
    op.drop_table("_kept_encumbrance_release")
    op.create_index(
        "ix_encumbrance_release_collective_id", "encumbrance_release", ["collective_id"]
    )
    _sqlite_triggers()


def upgrade() -> None:
    op.add_column("settlement_record", sa.Column("note", sa.String(length=200), nullable=True))
    if _sqlite():
        _sqlite_rebuild(new=True)
        return
    op.add_column("encumbrance", sa.Column("lease_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_encumbrance_lease_id_lease", "encumbrance", "lease", ["lease_id"], ["id"]
    )
    op.create_index("ix_encumbrance_lease_id", "encumbrance", ["lease_id"])
    # ALTER TABLE fires no row trigger: the written-once triggers stay as they are. Rows
    # already written keep lease_id empty (they cite their document; an UPDATE is refused).
    op.alter_column("encumbrance", "source_document_id", existing_type=sa.Integer(), nullable=True)
    op.create_check_constraint("ck_encumbrance_cites", "encumbrance", ENCUMBRANCE_CITES)
    op.add_column("encumbrance_release", sa.Column("lease_ending_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_encumbrance_release_lease_ending_id_lease_ending",
        "encumbrance_release",
        "lease_ending",
        ["lease_ending_id"],
        ["id"],
    )
    op.alter_column(
        "encumbrance_release", "source_document_id", existing_type=sa.Integer(), nullable=True
    )
    op.create_check_constraint("ck_encumbrance_release_cites", "encumbrance_release", RELEASE_CITES)


def downgrade() -> None:
    if _sqlite():
        _sqlite_rebuild(new=False)
    else:
        op.drop_constraint("ck_encumbrance_release_cites", "encumbrance_release", type_="check")
        op.alter_column(
            "encumbrance_release", "source_document_id", existing_type=sa.Integer(), nullable=False
        )
        op.drop_constraint(
            "fk_encumbrance_release_lease_ending_id_lease_ending",
            "encumbrance_release",
            type_="foreignkey",
        )
        op.drop_column("encumbrance_release", "lease_ending_id")
        op.drop_constraint("ck_encumbrance_cites", "encumbrance", type_="check")
        op.alter_column(
            "encumbrance", "source_document_id", existing_type=sa.Integer(), nullable=False
        )
        op.drop_index("ix_encumbrance_lease_id", table_name="encumbrance")
        op.drop_constraint("fk_encumbrance_lease_id_lease", "encumbrance", type_="foreignkey")
        op.drop_column("encumbrance", "lease_id")
    if _sqlite():  # in place (a plain column): no copy of the written-once table
        op.execute("ALTER TABLE settlement_record DROP COLUMN note")
    else:
        op.drop_column("settlement_record", "note")
