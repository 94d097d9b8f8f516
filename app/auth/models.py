"""Users, their roles and the collectives each is scoped to."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Table
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


def new_nonce() -> str:
    return secrets.token_hex(16)


class User(db.Model):
    __tablename__ = "app_user"
    __scope__ = "admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256), info={"audit": "redact"})
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Part of the login cookie's identity: changing it logs the user out everywhere.
    session_nonce: Mapped[str] = mapped_column(
        String(32), default=new_nonce, info={"audit": "redact"}
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A farmer's account is the person's own: it reaches that person's households only.
    person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))

    collectives = relationship("Collective", secondary=user_collective, lazy="selectin")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

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

    user = relationship(User)
