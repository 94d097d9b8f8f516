"""Import jobs carry a heartbeat: a job whose process died is shown as failed and can be discarded.

``import_job.heartbeat_at`` is stamped every few seconds while a process runs the job
(``app.imports.liveness``); a running job silent for longer than IMPORT_HEARTBEAT_STALE_SECONDS
has stopped.

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("heartbeat_at")
