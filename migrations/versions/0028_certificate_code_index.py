"""The public check finds a certificate by its printed code through an index.

A certificate's printed verification code is the first 16 hex digits of its snapshot's SHA-256
(``app.registry.certificates.verification_code``). ``/verify`` looked it up with
``LIKE 'prefix%'``, which read the whole certificate table on both databases (SQLite's LIKE is
case-insensitive and PostgreSQL's default collation is not C, so neither used an index). The
lookup is now an equality on ``substr(snapshot_sha256, 1, 16)``, and this index on that
expression serves it on both databases.

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_certificate_code", "certificate", [sa.text("substr(snapshot_sha256, 1, 16)")]
    )


def downgrade():
    op.drop_index("ix_certificate_code", table_name="certificate")
