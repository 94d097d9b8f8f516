"""Certificates keep what they certified: a canonical JSON snapshot and its SHA-256.

``certificate.snapshot`` holds the holder, co-holders, plots (codes and areas), contract code and
term, homestead unit number, areas and approval, or shares, exactly as written at issue, re-issue
or replacement; ``certificate.snapshot_sha256`` is the hash of those bytes. The certificate page
shows the snapshot and lists what changed in the registry since.

Certificates issued before this migration are left WITHOUT a snapshot (both columns empty), on
purpose: what was printed on them is not known, and today's data written as if it had been certified
would be a false record. Their page says so and shows the registry as it is now; replacing (换发)
such a certificate records a snapshot.

Columns are added in place (no table copy: see 0005 on SQLite's copy-and-rename).

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificate", sa.Column("snapshot", sa.Text(), nullable=True))
    op.add_column("certificate", sa.Column("snapshot_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("certificate", "snapshot_sha256")
    op.drop_column("certificate", "snapshot")
