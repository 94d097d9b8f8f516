"""The request lifecycle: who is asking, what they may reach, headers, errors.

Deny by default: every endpoint needs a logged-in user unless it is named in PUBLIC_ENDPOINTS.
The JSON API authenticates by Bearer token only (never the session cookie), so it can be exempt
from CSRF. Each request runs under an audit context naming the user, and says whether it may
write (GET/HEAD/OPTIONS do not take SQLite's write lock). Who the user is (app.auth) and the audit
context (app.audit) are plugged in at app creation (``Hooks``): the core imports no feature.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Flask,
    after_this_request,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.core import database
from app.core.errors import DomainError
from app.core.i18n import current_language
from app.core.maps import content_security_policy
from app.extensions import db, login_manager

log = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "main.healthz",
    "audit.public_key",
    "main.set_language",
    "api.issue_token",
    "api.openapi",
    "registry.verify_form",  # the public check of a rights-retained statement (no personal data)
    "registry.verify_statement",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Hooks:
    """What the features plug into the lifecycle at app creation (the core imports none of them):
    app.auth says who a Bearer token names (``token_user``; the session cookie goes through
    Flask-Login's user loader, which app.auth sets too), app.audit what the request's identity
    means for the trail (``on_identity``: told the user, or None when anonymous and at the end)."""

    token_user: Callable[[str], Any] | None = None
    on_identity: list[Callable[[Any], None]] = field(default_factory=list)


def hooks(app: Flask | None = None) -> Hooks:
    """The app's lifecycle hooks (made on first use)."""
    return (app or current_app).extensions.setdefault("sanquan_web", Hooks())


def set_token_user(app: Flask, fn: Callable[[str], Any]) -> None:
    hooks(app).token_user = fn


def on_identity(app: Flask, fn: Callable[[Any], None]) -> None:
    hooks(app).on_identity.append(fn)


def is_api() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _bearer_user() -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    finder = hooks().token_user
    if scheme.lower() != "bearer" or finder is None:
        return None
    return finder(token.strip())


def _told(user: Any) -> None:
    for hook in hooks().on_identity:
        hook(user)


def install(app: Flask) -> None:
    hooks(app)
    # Strict; the county's tile host (MAP_TILE_URL) joins img-src/connect-src only when set.
    csp = content_security_policy(app.config)

    @app.context_processor
    def _template_helpers() -> dict:
        return {"current_locale": current_language, "view_functions": app.view_functions}

    @app.before_request
    def _before() -> ResponseReturnValue | None:
        # Identity is decided afresh for every request, even when an application context
        # outlives one (a test client inside an app context reuses it, and its g).
        g.pop("_login_user", None)
        g.pop("_farmer_households", None)
        g.pop("user_session", None)
        g.pop("_flask_babel", None)  # and the language (Flask-Babel keeps it on g)
        g.pop("_data_version", None)
        database.set_write_intent(request.method not in SAFE_METHODS)
        if is_api():
            # Only a Bearer token authenticates the API; a browser cookie is ignored there.
            g._login_user = _bearer_user() or login_manager.anonymous_user()
        user = current_user
        _told(user if user.is_authenticated else None)
        if not user.is_authenticated and request.endpoint not in PUBLIC_ENDPOINTS:
            if is_api() or request.endpoint is None:
                return _error(401 if request.endpoint else 404)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None

    @app.after_request
    def _headers(response):
        h = response.headers
        h["Content-Security-Policy"] = csp
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        # same-origin, not no-referrer: behind HTTPS, CSRF protection checks that a form came from
        # this site by its Referer, which no-referrer would withhold (login would always fail).
        h["Referrer-Policy"] = "same-origin"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "geolocation=(), camera=(), microphone=()"
        if current_user and current_user.is_authenticated:
            h["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    @app.teardown_request
    def _teardown(_exc) -> None:
        _told(None)

    @app.errorhandler(CSRFError)
    def _csrf(_e):
        return _error(400, _("The form expired or was sent from elsewhere. Please try again."))

    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        db.session.rollback()
        retry = getattr(e, "retry_after", None)  # a throttled login says when to come back
        headers = {"Retry-After": str(retry)} if retry else {}
        if is_api():
            return jsonify(error=e.as_dict()), e.status, headers
        body, status = _error(e.status, e.message)
        return body, status, headers

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        return _error(e.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error")
        db.session.rollback()
        return _error(500)


MESSAGES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("Please log in."),
    403: lambda: _("You may not do this."),
    404: lambda: _("Not found."),
    405: lambda: _("This action is not allowed here."),
    413: lambda: _("The upload is too large."),
    422: lambda: _("The input was not accepted."),
    429: lambda: _("Too many requests. Please wait a moment."),
    500: lambda: _("Something went wrong on our side. Nothing was saved."),
}


def _error(status: int, message: str | None = None):
    text = message or MESSAGES.get(status, MESSAGES[500])()
    if is_api():
        return jsonify(error={"code": str(status), "message": text}), status
    return render_template("error.html", status=status, message=text), status


def send_temporary(
    path: str, *, mimetype: str, download_name: str | None = None
) -> ResponseReturnValue:
    """Send a file written for this one answer (a report, an export) and remove it once sent."""

    @after_this_request
    def _remove(response: Any) -> Any:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return response

    return send_file(
        path,
        mimetype=mimetype,
        as_attachment=download_name is not None,
        download_name=download_name,
    )
