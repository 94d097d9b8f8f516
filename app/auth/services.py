"""Accounts: creation, authentication with throttling, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit import trail
from app.auth.models import ApiToken, Role, User, new_nonce
from app.core.errors import DomainError
from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
# Hash of a password nobody has: checking it keeps unknown-user logins as slow as real ones.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def validate_password(password: str) -> None:
    if len(password) < 10:
        raise DomainError("password_short", _("The password must have at least 10 characters."))
    if password.isdigit() or password.isalpha():
        raise DomainError("password_weak", _("The password must mix letters and digits."))


def create_user(
    username: str,
    password: str,
    role: Role | str,
    *,
    display_name: str | None = None,
    collective_ids: list[int] | None = None,
) -> User:
    """Create an account. Scoped roles (farmer, collective admin) must name their collectives."""
    if not USERNAME_RE.match(username or ""):
        raise DomainError(
            "username",
            _("A username has 3 to 64 letters, digits, dots, dashes or underscores."),
        )
    try:
        role = Role(role)
    except ValueError:
        raise DomainError(
            "role",
            _("Unknown role %(role)s.", role=role),
        ) from None
    validate_password(password)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DomainError("username_taken", _("The username %(name)s is taken.", name=username))
    collectives = []
    if collective_ids:
        collectives = list(
            db.session.scalars(select(Collective).where(Collective.id.in_(collective_ids)))
        )
        if len(collectives) != len(set(collective_ids)):
            raise DomainError("collective", _("No such collective."))
    if role in (Role.COLLECTIVE_ADMIN, Role.FARMER) and not collectives:
        raise DomainError("scope", _("This role needs at least one collective."))
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        password_hash=generate_password_hash(password),
        session_nonce=new_nonce(),
        collectives=collectives,
    )
    with trail.because("user.create"):
        db.session.add(user)
        db.session.flush()
    return user


def authenticate(username: str, password: str) -> User:
    """Check a password, counting failures; too many lock the account for a while.

    Raises DomainError with one message for every failure, so a stranger cannot tell a wrong
    password from an unknown user; a locked account says it is locked.
    """
    cfg = current_app.config
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise DomainError("login", _("Wrong username or password."))
    if user.locked_until and user.locked_until > now:
        raise DomainError(
            "locked",
            _(
                "Too many failed attempts. Try again in %(n)d minutes.",
                n=max(1, int((user.locked_until - now).total_seconds() // 60) + 1),
            ),
        )
    actor = trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role)
    if not user.is_active or not check_password_hash(user.password_hash, password or ""):
        with trail.acting(actor), trail.because("auth.login_failed"):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
                user.failed_logins = 0
            db.session.commit()
        raise DomainError("login", _("Wrong username or password."))
    with trail.acting(actor), trail.because("auth.login"):
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        db.session.flush()
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every session cookie of this user (logout everywhere)."""
    with trail.because("auth.logout"):
        user.session_nonce = new_nonce()
        db.session.flush()


def issue_token(user: User, label: str | None = None) -> str:
    """A new API token; only its SHA-256 is stored, so it is shown once."""
    token = "sq_" + secrets.token_urlsafe(32)
    days = current_app.config["API_TOKEN_DAYS"]
    with trail.because("auth.token_issue"):
        db.session.add(
            ApiToken(
                user_id=user.id,
                token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                label=label,
                expires_at=utcnow() + timedelta(days=days),
            )
        )
        db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user
