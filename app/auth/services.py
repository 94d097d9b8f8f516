"""Accounts: creation, authentication with throttling, server-side sessions, API tokens.

A login is a ``UserSession`` row; the cookie carries only its random key (the table keeps the
key's SHA-256), so ending the row on the server ends the login wherever the cookie was copied.
Failed logins are counted per attempted username (whether or not it exists) and per client
address in ``LoginThrottle``, never on the user row, and audited as anonymous attempts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit import trail
from app.auth.models import (
    SCOPED_ROLES,
    ApiToken,
    LoginEvent,
    LoginThrottle,
    Role,
    User,
    UserSession,
)
from app.core.database import SQLITE_BUSY_TIMEOUT_MS
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.core.page_cache import Store
from app.divisions.models import Collective
from app.extensions import db

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
# Hashes of a password nobody has, per hash method: checking one keeps unknown-user logins as
# slow as real ones.
_DUMMY_HASHES: dict[str, str] = {}


def _hash_method() -> str:
    """PASSWORD_HASH_METHOD: werkzeug's scrypt by default; the test settings use a cheap one."""
    return current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


def _dummy_hash() -> str:
    method = _hash_method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _DUMMY_HASHES[method]


# Who a login attempt is audited as before anybody is known.
ANONYMOUS = trail.AuditContext(actor="anonymous", role="anonymous")
# last_seen_at / last_used_at are written at most this often (they are not audited).
TOUCH_SECONDS = 60
_KEEP_SECONDS = 60  # a kept identity is checked against the data's version anyway
_TOUCH_WAIT_MS = 200  # how long such a tick may wait for SQLite's write lock


class LoginThrottled(DomainError):
    """Too many failed attempts: wait ``retry_after`` seconds (or for an administrator)."""

    status = 429

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded with logins and sessions."""

    address: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, request) -> Client:
        agent = _printable(request.headers.get("User-Agent") or "")[:200]
        return cls(address=(request.remote_addr or None), user_agent=agent or None)


def _printable(text: str) -> str:
    # PostgreSQL refuses NUL in text; no control character belongs in a name or header anyway.
    return "".join(ch for ch in text if ch.isprintable())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_username(username: str | None) -> str:
    """The key attempts are counted under: trimmed, case-folded, printable, at most 64 chars."""
    return _printable((username or "").strip().casefold())[:64]


def validate_password(password: str) -> None:
    """The password policy: at least 10 characters, letters and digits mixed."""
    if len(password) < 10:
        raise DomainError("password_short", _("The password must have at least 10 characters."))
    if password.isdigit() or password.isalpha():
        raise DomainError("password_weak", _("The password must mix letters and digits."))


DISPLAY_NAME_MAX = 80
# Letters and digits people can read out and type without confusing them (no 0/O, 1/l/I).
_LETTERS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"


def generate_password(length: int = 14) -> str:
    """A random initial password meeting validate_password: letters and digits, both present."""
    alphabet = _LETTERS + _DIGITS
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c in _DIGITS for c in password) and any(c in _LETTERS for c in password):
            return password


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise DomainError(
            "role",
            _("Unknown role %(role)s.", role=role),
        ) from None


def collective_choices() -> list[tuple[int, str]]:
    """Every collective an account may be scoped to, by name after its township's ("太平镇 ·
    东湖坪村第一村民小组"): names, not codes, and the township tells namesakes apart."""
    from app.divisions.models import Division

    collectives = list(db.session.scalars(select(Collective).order_by(Collective.fbfbm)))
    parents = {c.village.parent_code for c in collectives if c.village is not None}
    towns = dict(
        db.session.execute(
            select(Division.code, Division.name).where(Division.code.in_(parents))
        ).all()
    )

    def township(c: Collective) -> str | None:
        if c.village is None:
            return None
        return c.village.name if c.village.level == "town" else towns.get(c.village.parent_code)

    return [(c.id, f"{township(c)} · {c.name}" if township(c) else c.name) for c in collectives]


def _collectives_for(role: Role, collective_ids: list[int] | None) -> list[Collective]:
    """The collectives a ``role`` works for: required for scoped roles, refused for county ones."""
    ids = set(collective_ids or [])
    if ids and role not in SCOPED_ROLES:
        raise DomainError(
            "scope_county",
            _("This role works for the whole county: choose no collective."),
        )
    collectives = []
    if ids:
        collectives = list(db.session.scalars(select(Collective).where(Collective.id.in_(ids))))
        if len(collectives) != len(ids):
            raise DomainError("collective", _("No such collective."))
    if role in SCOPED_ROLES and not collectives:
        raise DomainError("scope", _("This role needs at least one collective."))
    return collectives


def _display_name(display_name: str | None, username: str) -> str:
    name = _printable((display_name or "").strip())
    if len(name) > DISPLAY_NAME_MAX:
        raise DomainError(
            "display_name",
            _("A name has at most %(n)d characters.", n=DISPLAY_NAME_MAX),
        )
    return name or username


def create_user(
    username: str,
    password: str,
    role: Role | str,
    *,
    display_name: str | None = None,
    collective_ids: list[int] | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an account. Scoped roles (farmer, collective admin) must name their collectives;
    county roles must name none. ``must_change_password``: the password was chosen by somebody
    else (the administrator's page), so the user must replace it at first login."""
    if not USERNAME_RE.match(username or ""):
        raise DomainError(
            "username",
            _("A username has 3 to 64 letters, digits, dots, dashes or underscores."),
        )
    role = _role(role)
    name = _display_name(display_name, username)
    validate_password(password)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DomainError("username_taken", _("The username %(name)s is taken.", name=username))
    collectives = _collectives_for(role, collective_ids)
    user = User(
        username=username,
        display_name=name,
        role=role.value,
        password_hash=hash_password(password),
        collectives=collectives,
        must_change_password=must_change_password,
    )
    with trail.because("user.create"):
        db.session.add(user)
        db.session.flush()
    return user


def update_user(
    user: User,
    role: Role | str,
    collective_ids: list[int] | None,
    *,
    display_name: str | None = None,
    by: User | None = None,
) -> None:
    """Change an account's role, collectives and name (administrator); audited as user.update.

    An administrator cannot change their own role from the page (``by``): it would lock them out.
    """
    role = _role(role)
    if by is not None and by.id == user.id and role.value != user.role:
        raise DomainError("self_role", _("You cannot change your own role."))
    name = _display_name(display_name, user.username) if display_name is not None else None
    collectives = _collectives_for(role, collective_ids)
    with trail.because("user.update"):
        user.role = role.value
        user.collectives = collectives
        if name is not None:
            user.display_name = name
        db.session.flush()


# --- throttling ----------------------------------------------------------------------------


def _throttle_row(scope: str, key: str, *, lock: bool = False) -> LoginThrottle | None:
    # Locked only to count a failure: the check before the (slow) password hash takes no lock,
    # so logins from one busy address do not queue behind each other on PostgreSQL.
    query = select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    if lock:  # and read afresh once locked: the check may have loaded it before a change
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def _seconds_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def _refusal(username_key: str, address: str | None, now: datetime) -> LoginThrottled | None:
    """The throttle that refuses an attempt right now, if any (before any password is checked)."""
    row = _throttle_row("username", username_key)
    if row is not None and row.locked_until and row.locked_until > now:
        seconds = _seconds_left(row.locked_until, now)
        return LoginThrottled(
            "locked",
            _("Too many failed attempts. Try again in %(n)d minutes.", n=(seconds + 59) // 60),
            seconds,
        )
    blocked = [row.blocked_until] if row is not None and row.blocked_until else []
    if address:
        by_address = _throttle_row("address", address[:64])
        if by_address is not None and by_address.blocked_until:
            blocked.append(by_address.blocked_until)
    until = max((b for b in blocked if b > now), default=None)
    if until is not None:
        seconds = _seconds_left(until, now)
        return LoginThrottled(
            "delayed",
            _("Too many failed attempts. Try again in %(n)d seconds.", n=seconds),
            seconds,
        )
    return None


def _count_failure(scope: str, key: str, now: datetime) -> None:
    """One more failure under (scope, key): past the free ones a delay that doubles, 2, 4, 8 … s;
    for a username, LOGIN_MAX_FAILURES of them lock it for LOGIN_LOCK_MINUTES."""
    cfg = current_app.config
    row = _throttle_row(scope, key, lock=True)
    if row is None:
        try:
            with db.session.begin_nested():
                row = LoginThrottle(scope=scope, key=key, failures=0, last_failed_at=now)
                db.session.add(row)
                db.session.flush()
        except IntegrityError:  # a concurrent first failure made the row: count on it
            row = _throttle_row(scope, key, lock=True)
            if row is None:  # pragma: no cover - the conflicting row cannot vanish
                return
    if row.last_failed_at < now - timedelta(minutes=cfg["LOGIN_FAILURE_MEMORY_MINUTES"]):
        row.failures = 0  # an old run of failures is forgotten
    row.failures += 1
    row.last_failed_at = now
    free = cfg["LOGIN_ADDRESS_FREE_FAILURES"] if scope == "address" else cfg["LOGIN_FREE_FAILURES"]
    if scope == "username" and row.failures >= cfg["LOGIN_MAX_FAILURES"]:
        row.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        row.blocked_until = None
        row.failures = 0  # after the lock: the free attempts and the delays again
    elif row.failures > free:
        delay = min(2 ** (row.failures - free), cfg["LOGIN_MAX_DELAY_SECONDS"])
        row.blocked_until = now + timedelta(seconds=delay)


def _forget_old_failures(now: datetime) -> None:
    cutoff = now - timedelta(minutes=current_app.config["LOGIN_FAILURE_MEMORY_MINUTES"])
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failed_at < cutoff,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
    )


def _log_attempt(
    username_key: str, user: User | None, client: Client, outcome: str, now: datetime
) -> None:
    db.session.add(
        LoginEvent(
            at=now,
            username=username_key,
            user_id=user.id if user is not None else None,
            address=client.address,
            user_agent=client.user_agent,
            outcome=outcome,
        )
    )
    if outcome != "ok":
        # Nobody is logged in: the attempt is anonymous, whoever's name was typed.
        trail.record_event(
            db.session,
            "auth.login_failed",
            "login",
            None,
            details={"username": username_key, "address": client.address, "outcome": outcome},
            ctx=ANONYMOUS,
        )
    db.session.flush()


def authenticate(username: str, password: str, client: Client | None = None) -> User:
    """Check a password under the login throttles.

    Raises DomainError with one message for every wrong password or unknown or deactivated
    user, and LoginThrottled (the same for every username, existing or not) while the username
    or the client address must wait. Failures are committed before raising: they count even
    though the request fails.
    """
    client = client or Client()
    now = utcnow()
    key = normalise_username(username)
    typed = (username or "").strip()
    # A name no account can have (USERNAME_RE) is not looked up: NUL would upset PostgreSQL.
    user = (
        db.session.scalar(select(User).where(User.username == typed))
        if USERNAME_RE.match(typed)
        else None
    )
    refusal = _refusal(key, client.address, now)
    if refusal is not None:
        _log_attempt(key, user, client, refusal.code, now)
        db.session.commit()
        raise refusal
    # The hash is checked every time (a dummy one for nobody), so timing tells nothing either.
    matches = check_password_hash(user.password_hash if user else _dummy_hash(), password or "")
    if user is None or not matches or not user.is_active:
        _forget_old_failures(now)
        _count_failure("username", key, now)
        if client.address:
            _count_failure("address", client.address[:64], now)
        _log_attempt(key, user, client, "failed", now)
        db.session.commit()
        raise DomainError("login", _("Wrong username or password."))
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.scope == "username", LoginThrottle.key == key)
    )
    _log_attempt(key, user, client, "ok", now)
    with trail.acting(_actor(user)), trail.because("auth.login"):
        user.last_login_at = now
        db.session.flush()
    return user


def unlock(username: str) -> bool:
    """Lift the throttle on a username (administrator). True if there was one."""
    key = normalise_username(username)
    row = _throttle_row("username", key)
    if row is None:
        return False
    db.session.delete(row)
    trail.record_event(db.session, "auth.unlock", "login", None, details={"username": key})
    db.session.flush()
    return True


def locked_usernames(now: datetime | None = None) -> set[str]:
    """Normalised usernames locked right now."""
    now = now or utcnow()
    return set(
        db.session.scalars(
            select(LoginThrottle.key).where(
                LoginThrottle.scope == "username", LoginThrottle.locked_until > now
            )
        )
    )


def login_history(*, user: User | None = None, limit: int = 50) -> list[LoginEvent]:
    """Latest login attempts: one user's (successes and failures on their name), or everyone's."""
    query = select(LoginEvent).order_by(LoginEvent.at.desc(), LoginEvent.id.desc()).limit(limit)
    if user is not None:
        query = query.where(LoginEvent.user_id == user.id)
    return list(db.session.scalars(query))


# --- sessions ------------------------------------------------------------------------------


def _actor(user: User) -> trail.AuditContext:
    return trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role)


def start_session(user: User, client: Client | None = None) -> str:
    """A new server-side session for ``user``; returns its key (for the cookie only).

    It expires PERMANENT_SESSION_LIFETIME after now, however active it is.
    """
    client = client or Client()
    key = secrets.token_urlsafe(32)
    now = utcnow()
    with trail.acting(_actor(user)), trail.because("auth.login"):
        db.session.add(
            UserSession(
                user_id=user.id,
                key_sha256=_sha256(key),
                created_at=now,
                last_seen_at=now,
                expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
                address=client.address,
                user_agent=client.user_agent,
            )
        )
        db.session.flush()
    user.session_key = key
    return key


def _idle_limit() -> timedelta | None:
    minutes = current_app.config.get("SESSION_IDLE_MINUTES") or 0
    return timedelta(minutes=minutes) if minutes > 0 else None


def _live(now: datetime):
    """SQL condition: a session not ended, not expired, not idle too long."""
    cond = UserSession.ended_at.is_(None) & (UserSession.expires_at > now)
    idle = _idle_limit()
    if idle is not None:
        cond = cond & (UserSession.last_seen_at > now - idle)
    return cond


def data_version() -> str:
    """The audit trail's head as this request first saw it (read once per request): the version
    of the data (app.audit.trail.head_version), which keys kept identities and kept pages."""
    if not has_request_context():
        return trail.head_version(db.session)
    found = g.get("_data_version")
    if found is None:
        found = g._data_version = trail.head_version(db.session)
    return found


#: Identities kept per worker process: (session, user with collectives) as loaded at a version of
#: the data, detached; each request gets its own copies (``merge(load=False)``, no SQL).
_identities = Store(size=1024)


def user_for_session(key: str) -> tuple[User, UserSession] | None:
    """The active user and session a cookie's key names, or None (ended, expired, idle,
    deactivated). Notes the session's use at most once a minute.

    Read requests reuse the identity loaded for the same session at the same version of the
    data: logging out, ending a session, deactivating a user or changing their role or
    collectives are audited writes and move the version, and the times (expiry, idle, the
    minute's touch) are checked here on every request."""
    if not key:
        return None
    now = utcnow()
    sha = _sha256(key)
    keep = has_request_context() and request.method in ("GET", "HEAD")
    if keep:
        kept = _identities.get(f"{sha}:{data_version()}")
        if kept is not None:
            row, user = kept
            if (
                _still_live(row, now)
                and (now - row.last_seen_at).total_seconds() < TOUCH_SECONDS
                and user.is_active
            ):
                row = db.session.merge(row, load=False)
                user = db.session.merge(user, load=False)
                user.session_key = key
                return user, row
    # The session, its user and the user's collectives (every scope check reads them) in one
    # statement: every page view that has no kept identity asks.
    found = (
        db.session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .options(joinedload(User.collectives))
            .where(UserSession.key_sha256 == sha, _live(now))
        )
        .unique()
        .first()
    )
    if found is None:
        return None
    row, user = found
    if not user.is_active:
        return None
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        _touch(UserSession, row.id, "last_seen_at", now)
    elif keep:
        # Keep detached originals (a commit later in this request cannot expire them) and go
        # on with copies in the request's session.
        for obj in (row, user, *user.collectives, *(c.village for c in user.collectives)):
            if obj is not None and obj in db.session:
                db.session.expunge(obj)
        _identities.put(f"{sha}:{data_version()}", (row, user), _KEEP_SECONDS)
        row = db.session.merge(row, load=False)
        user = db.session.merge(user, load=False)
    user.session_key = key
    return user, row


def _still_live(row: UserSession, now: datetime) -> bool:
    """``_live`` on a kept session row, in Python."""
    if row.ended_at is not None or row.expires_at <= now:
        return False
    idle = _idle_limit()
    return idle is None or row.last_seen_at > now - idle


def _touch(model: type, ident: int, column: str, now: datetime) -> None:
    """Record a use time outside the ORM (and so outside the audit trail), best effort.

    A page view on SQLite reads without the write lock; if another writer holds it (an
    import), the tick waits a moment at most and is skipped rather than holding up the page.
    """
    conn = db.session.connection()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {_TOUCH_WAIT_MS}")
    try:
        db.session.execute(update(model).where(model.id == ident).values({column: now}))
    except OperationalError:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        db.session.rollback()
        return
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    db.session.commit()


def end_session(key: str, reason: str = "logout") -> None:
    """End the session whose key the cookie carries (logout)."""
    row = db.session.scalar(select(UserSession).where(UserSession.key_sha256 == _sha256(key)))
    if row is None or row.ended_at is not None:
        return
    with trail.because("auth.logout"):
        row.ended_at = utcnow()
        row.end_reason = reason
        db.session.flush()


def end_all_sessions(
    user: User, reason: str = "logout_everywhere", *, keep: str | None = None
) -> int:
    """End every open session of ``user`` (but the one with key ``keep``); returns how many."""
    now = utcnow()
    query = select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.key_sha256 != _sha256(keep))
    count = 0
    with trail.because(f"auth.{reason}"):
        for row in db.session.scalars(query):
            row.ended_at = now
            row.end_reason = reason
            count += 1
        db.session.flush()
    # The request itself is on record even when no session was open.
    trail.record_event(
        db.session, f"auth.{reason}", "app_user", str(user.id), details={"sessions": count}
    )
    return count


def end_own_session(user: User, session_id: int) -> None:
    """End one of the user's own sessions (from the account page); another's is not found."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound("session", _("Not found."))
    if row.ended_at is None:
        with trail.because("auth.session_end"):
            row.ended_at = utcnow()
            row.end_reason = "ended"
            db.session.flush()


def open_sessions(user: User) -> list[UserSession]:
    """The user's sessions that still work, newest first."""
    return list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, _live(utcnow()))
            .order_by(UserSession.created_at.desc(), UserSession.id.desc())
        )
    )


# --- passwords and accounts ----------------------------------------------------------------


def change_password(
    user: User, current: str, new: str, repeat: str, client: Client | None = None
) -> int:
    """Change one's own password: the current one, then the new one twice (validate_password).

    A wrong current password counts as a failed login (so a borrowed session cannot guess it).
    Ends the user's other sessions; returns how many.
    """
    client = client or Client()
    now = utcnow()
    key = normalise_username(user.username)
    refusal = _refusal(key, client.address, now)
    if refusal is not None:
        raise refusal
    if not check_password_hash(user.password_hash, current or ""):
        _count_failure("username", key, now)
        if client.address:
            _count_failure("address", client.address[:64], now)
        _log_attempt(key, user, client, "failed", now)
        db.session.commit()
        raise DomainError("password_current", _("The current password is wrong."))
    if new != repeat:
        raise DomainError("password_repeat", _("The two new passwords differ."))
    if new == current:
        raise DomainError("password_same", _("The new password must differ from the current one."))
    validate_password(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    _audit_password(user, "auth.password_change")
    return end_all_sessions(user, "password_change", keep=user.session_key)


def _audit_password(user: User, event: str) -> None:
    # The hash is redacted in row entries, so the change would not show as one: say it.
    with trail.because(event):
        db.session.flush()
    trail.record_event(db.session, event, "app_user", str(user.id))


def set_password(user: User, new: str, *, must_change: bool = False) -> int:
    """Set a user's password (administrator, command line); ends all their sessions.
    ``must_change``: somebody else chose it, so the user must replace it at the next login."""
    validate_password(new)
    user.password_hash = hash_password(new)
    user.must_change_password = must_change
    _audit_password(user, "auth.password_set")
    return end_all_sessions(user, "password_change")


def reset_password(user: User) -> str:
    """A new generated password for ``user`` (administrator), returned to be shown once.

    Every session of theirs ends and every API token is revoked; at their next login they must
    choose their own password. The password itself is never logged nor audited (the hash is
    redacted in the trail; the event says only that a reset happened).
    """
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    _audit_password(user, "auth.password_reset")
    end_all_sessions(user, "password_reset")
    revoke_all_tokens(user)
    return password


def deactivate_user(user: User, *, by: User | None = None) -> None:
    """Deactivate an account: its sessions end, its tokens are revoked, logins are refused.

    An administrator cannot deactivate their own account from the page (``by``).
    """
    if by is not None and by.id == user.id:
        raise DomainError("self", _("You cannot deactivate your own account."))
    with trail.because("user.deactivate"):
        user.is_active = False
        db.session.flush()
    end_all_sessions(user, "deactivated")
    revoke_all_tokens(user)


def activate_user(user: User) -> None:
    """Reactivate an account (its old sessions and tokens stay ended)."""
    with trail.because("user.activate"):
        user.is_active = True
        db.session.flush()


# --- API tokens ----------------------------------------------------------------------------


def issue_token(user: User, label: str | None = None) -> str:
    """A new API token, valid API_TOKEN_DAYS; only its SHA-256 is stored, so it is shown once."""
    token = "sq_" + secrets.token_urlsafe(32)
    days = current_app.config["API_TOKEN_DAYS"]
    with trail.because("auth.token_issue"):
        db.session.add(
            ApiToken(
                user_id=user.id,
                token_sha256=_sha256(token),
                label=(label or "")[:80] or None,
                expires_at=utcnow() + timedelta(days=days),
            )
        )
        db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """The active user of a live (not revoked, not expired) token; notes its use."""
    if not token:
        return None
    now = utcnow()
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha256(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= TOUCH_SECONDS:
        _touch(ApiToken, row.id, "last_used_at", now)
    return user


def tokens_of(user: User) -> list[ApiToken]:
    """All the user's tokens, newest first (revoked and expired ones too)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(owner: User, token_id: int) -> ApiToken:
    """Revoke one of ``owner``'s tokens; another user's token is not found (404)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != owner.id:
        raise NotFound("token", _("Not found."))
    if row.revoked_at is None:
        with trail.because("auth.token_revoke"):
            row.revoked_at = utcnow()
            db.session.flush()
    return row


def revoke_all_tokens(user: User) -> int:
    """Revoke every live token of ``user``; returns how many."""
    now = utcnow()
    count = 0
    with trail.because("auth.token_revoke"):
        for row in db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            row.revoked_at = now
            count += 1
        db.session.flush()
    trail.record_event(
        db.session, "auth.tokens_revoked", "app_user", str(user.id), details={"tokens": count}
    )
    return count
