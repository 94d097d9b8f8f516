"""Accounts' stored values in words, for the auditor's log (``app.audit.labels``): how a sign-in
went, why a session ended, an account's role. Registered by create_app (audit and auth do not
import each other); a value this module does not know is left to the audit package (None)."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import Role, User
from app.extensions import db

SESSION_ENDS = {
    "logout": _l("Signed out"),
    "logout_everywhere": _l("Signed out everywhere"),
    "password_change": _l("The password was changed"),
    "deactivated": _l("Account deactivated"),
    "password_reset": _l("The password was reset"),
}


def _username(user_id: int) -> str | None:
    cache: dict = g.setdefault("audit_words_users", {}) if has_request_context() else {}
    if user_id not in cache:
        cache[user_id] = db.session.scalar(select(User.username).where(User.id == user_id))
    return cache[user_id]


def words(record: str, field: str, value: Any) -> str | None:
    if field == "user_id" and isinstance(value, int) and not isinstance(value, bool):
        return _username(value)
    if not isinstance(value, str):
        return None
    if record == "login_event" and field == "outcome":
        return _("Signed in") if value == "ok" else _("Sign-in refused")
    if record == "user_session" and field == "end_reason":
        found = SESSION_ENDS.get(value)
        return str(found) if found is not None else _("(recorded value)")
    if record in ("app_user", "login_event") and field == "role":
        try:
            return Role(value).label
        except ValueError:
            return _("(recorded value)")
    return None
