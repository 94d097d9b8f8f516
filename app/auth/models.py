"""Users, their roles and the collectives each is scoped to; their logins, sessions and tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import utcnow
from app.extensions import db


class Role(enum.StrEnum):
    FARMER = "farmer"
    COLLECTIVE_ADMIN = "collective_admin"
    BUREAU_REVIEWER = "bureau_reviewer"
    SETTLEMENT_OFFICER = "settlement_officer"
    AUDITOR = "auditor"
    SYSTEM_ADMIN = "system_admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.FARMER: _l("Farmer"),
    Role.COLLECTIVE_ADMIN: _l("Collective administrator"),
    Role.BUREAU_REVIEWER: _l("Bureau reviewer"),
    Role.SETTLEMENT_OFFICER: _l("Settlement officer"),
    Role.AUDITOR: _l("Auditor"),
    Role.SYSTEM_ADMIN: _l("System administrator"),
}

# Roles whose reach is limited to named collectives (farmers further to their own household).
SCOPED_ROLES = {Role.FARMER, Role.COLLECTIVE_ADMIN}
# Roles that read the registry county-wide.
COUNTY_READERS = {Role.BUREAU_REVIEWER, Role.AUDITOR}

user_collective = Table(
    "user_collective",
    db.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("collective_id", ForeignKey("collective.id", ondelete="CASCADE"), primary_key=True),
)


class User(db.Model):
    __tablename__ = "app_user"
    __scope__ = "admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256), info={"audit": "redact"})
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the administrator creates the account or resets its password: until the user
    # chooses their own, they reach nothing but the password change (and logout).
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A farmer's account is the person's own: it reaches that person's households only.
    person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))

    collectives = relationship("Collective", secondary=user_collective, lazy="selectin")

    # The secret key of the login (UserSession) this request came with; not stored. Flask-Login
    # keeps get_id() in the cookie, so the cookie names one server-side session, never the user.
    session_key = None

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Without a session (login_user in a test's request context) an id no session has:
        # a cookie carrying it opens nothing. Logins go through services.start_session.
        return self.session_key or f"no-session:{self.id}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def collective_ids(self) -> set[int]:
        return {c.id for c in self.collectives}


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, info={"audit": "redact"})
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Ticked at most once a minute, outside the audit trail (a usage time, not a change).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship(User)

    def state(self, now: datetime) -> str:
        """'revoked', 'expired' or 'active'."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class UserSession(db.Model):
    """One login: the cookie carries a random key whose SHA-256 is kept here.

    The session ends at logout, "log out everywhere", a password change or deactivation, or
    ``expires_at`` (fixed at login: the lifetime does not slide). Creating and ending one are
    audited; ``last_seen_at`` ticks (at most once a minute) are not.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True, info={"audit": "redact"})
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # logout, logout_everywhere, password_change, deactivated, ended (one session ended by hand)
    end_reason: Mapped[str | None] = mapped_column(String(32))

    user = relationship(User)


class LoginThrottle(db.Model):
    """Failed logins counted per attempted username (existing or not) and per client address.

    Not on the user row: an unknown username is throttled exactly like a real one, so the answer
    never tells whether an account exists. Each attempt is audited as an event (actor anonymous)
    carrying the same facts, so the counters themselves are not.
    """

    __tablename__ = "login_throttle"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "username" or "address"
    key: Mapped[str] = mapped_column(String(64))  # normalised username, or the client address
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)  # a short, growing delay
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)  # usernames only

    __table_args__ = (UniqueConstraint("scope", "key", name="uq_login_throttle_scope_key"),)


class LoginEvent(db.Model):
    """The login history: every attempt, successful or not, readable by its user and the admin.

    Each row repeats an audit entry (a session insert, or an anonymous auth.login_failed event),
    kept here so the history can be listed per user and per username.
    """

    __tablename__ = "login_event"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))  # as normalised for throttling
    # The account the username names, if any (its owner sees failures on it too).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # ok, failed, delayed, locked

    __table_args__ = (
        Index("ix_login_event_user_id_at", "user_id", "at"),
        Index("ix_login_event_username_at", "username", "at"),
    )
