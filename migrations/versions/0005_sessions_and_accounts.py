"""Server-side sessions, login throttling per username and address, login history, token use.

* ``user_session``: one row per login; the cookie carries a random key, the row its SHA-256.
  Logout ends the row, so a copied cookie stops working; ``expires_at`` is fixed at login.
* ``login_throttle``: failed logins counted per attempted username (existing or not) and per
  client address, with a growing delay and a lock; they no longer live on the user row, so
  ``app_user.failed_logins`` / ``locked_until`` go, and so does ``session_nonce`` (sessions are
  ended row by row now).
* ``login_event``: the login history (successes and failures) read by a user and the admin.
* ``api_token.last_used_at``.

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_user_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_user_session_key_sha256")),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"], unique=False)

    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("scope", "key", name="uq_login_throttle_scope_key"),
    )

    op.create_table(
        "login_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_login_event_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_event")),
    )
    op.create_index("ix_login_event_user_id_at", "login_event", ["user_id", "at"], unique=False)
    op.create_index("ix_login_event_username_at", "login_event", ["username", "at"], unique=False)

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))

    # Not a batch (copy-and-rename) on SQLite: dropping the old app_user table would run its
    # ON DELETE CASCADE and empty user_collective and api_token. SQLite drops a plain column
    # in place.
    for column in ("session_nonce", "locked_until", "failed_logins"):
        _drop_user_column(column)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop_user_column(column: str) -> None:
    if _sqlite():
        op.execute(f"ALTER TABLE app_user DROP COLUMN {column}")
    else:
        op.drop_column("app_user", column)


def downgrade():
    # Columns added in place (no copy of app_user: see upgrade). Every old cookie is refused
    # after a downgrade: a new nonce per user.
    op.add_column(
        "app_user", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.add_column(
        "app_user",
        sa.Column("session_nonce", sa.String(length=32), nullable=False, server_default=""),
    )
    op.execute("UPDATE app_user SET session_nonce = 'x' || CAST(id AS VARCHAR(20))")
    if not _sqlite():  # SQLite keeps the defaults: removing one means copying the table
        op.alter_column("app_user", "failed_logins", server_default=None)
        op.alter_column("app_user", "session_nonce", server_default=None)

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")

    op.drop_index("ix_login_event_username_at", table_name="login_event")
    op.drop_index("ix_login_event_user_id_at", table_name="login_event")
    op.drop_table("login_event")
    op.drop_table("login_throttle")
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
