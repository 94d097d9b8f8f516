"""Who is asking, plugged into the request lifecycle (app.core.web) at app creation.

The session cookie names a server-side session (``services.user_for_session``) and a Bearer token
an API token (``services.user_for_token``); a user is known only through one of them. Pages get
the navigation the user's role may use and the roles' names.
"""

from __future__ import annotations

from flask import Flask, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.models import Role, User
from app.auth.services import user_for_session, user_for_token
from app.core import web
from app.core.errors import DomainError
from app.extensions import login_manager

NAV: list[tuple[str, object, set[Role]]] = [
    (
        "dashboard.index",
        lambda: _("Dashboard"),
        {Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    ("registry.my_household", lambda: _("My household"), {Role.FARMER}),
    ("market.mine", lambda: _("My listings"), {Role.FARMER}),
    (
        "market.index",
        lambda: _("Marketplace"),
        {Role.FARMER, Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    ("market.queue", lambda: _("Market queue"), {Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER}),
    (
        "leases.index",
        lambda: _("Leases"),
        {Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    ("leases.reviews", lambda: _("Qualification reviews"), {Role.BUREAU_REVIEWER}),
    ("divisions.county", lambda: _("County"), {Role.BUREAU_REVIEWER, Role.AUDITOR}),
    (
        "oversight.county_report",
        lambda: _("Settled persons report"),
        {Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    (
        "divisions.collectives",
        lambda: _("Collectives"),
        {Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    (
        "registry.search",
        lambda: _("Search"),
        {Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    (
        "registry.moves",
        lambda: _("Awaiting countersign"),
        {Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR},
    ),
    ("main.settlement_desk", lambda: _("Settlement desk"), {Role.SETTLEMENT_OFFICER}),
    ("audit.log", lambda: _("Audit trail"), {Role.AUDITOR}),
    ("auth_admin.users", lambda: _("Users"), {Role.SYSTEM_ADMIN}),
]


def _load_user(session_key: str) -> User | None:
    """The cookie names a server-side session; a user only through it."""
    found = user_for_session(session_key)
    if found is None:
        return None
    user, g.user_session = found
    return user


def session_id() -> int | None:
    """The server-side session this request runs in (None for a token or no login)."""
    found = g.get("user_session")
    return found.id if found is not None else None


class PasswordChangeFirst(DomainError):
    status = 403


# What a user who must change their password may still reach (registered after app.core.web's
# check, so the user is known by then).
PASSWORD_CHANGE_ENDPOINTS = {"auth.account", "auth.change_password", "auth.logout", "static"}


def _password_change_first() -> ResponseReturnValue | None:
    """A password the administrator chose (a new account, a reset) is replaced before anything."""
    user = current_user
    if (
        not user.is_authenticated
        or not getattr(user, "must_change_password", False)
        or request.endpoint in PASSWORD_CHANGE_ENDPOINTS
        or request.endpoint in web.PUBLIC_ENDPOINTS
    ):
        return None
    if web.is_api():
        raise PasswordChangeFirst("password_change", _("Change your password first."))
    return redirect(url_for("auth.account"))


def install(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(_load_user)
    web.set_token_user(app, user_for_token)
    app.before_request(_password_change_first)

    @app.context_processor
    def _template_helpers() -> dict:
        def nav_items() -> list[tuple[str, str]]:
            if not current_user.is_authenticated:
                return []
            role = Role(current_user.role)
            return [
                (endpoint, label())
                for endpoint, label, roles in NAV
                if role in roles and endpoint in app.view_functions
            ]

        def role_label(role: str) -> str:
            try:
                return Role(role).label
            except ValueError:
                return role

        return {"nav_items": nav_items, "role_label": role_label}
