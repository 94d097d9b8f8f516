"""Rate limits (Flask-Limiter): login per client address and overall, token issuing, the API.

One Limiter per app (made in ``install``), so several apps in one process (tests) never share
counters or switches. Counted in Redis when REDIS_URL is set, so every worker sees the same
counts; otherwise in the process's memory. A request over a limit gets 429 with the plain
message of app.core.web (JSON on the API) and Retry-After.

Runs after the request's own identity check (installed after app.core.web), so the API is
limited per user: a valid token's user, or the client address of a request without one.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_login import current_user


def client_address() -> str:
    return request.remote_addr or "unknown"


def api_caller() -> str:
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{client_address()}"


def _everyone() -> str:
    return "all"


def install(app: Flask) -> Limiter | None:
    """Bind a Limiter to ``app`` and put the limits on login, token issuing, the API and the
    public code check."""
    cfg = app.config
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    limiter = Limiter(key_func=client_address)
    limiter.init_app(app)
    if not limiter.enabled:
        return None
    login_per_address = limiter.shared_limit(
        lambda: cfg["RATELIMIT_LOGIN"], scope="login", methods=["POST"]
    )
    login_overall = limiter.shared_limit(
        lambda: cfg["RATELIMIT_LOGIN_ALL"], scope="login-all", key_func=_everyone, methods=["POST"]
    )
    views = app.view_functions
    for endpoint in ("auth.login", "api.issue_token"):
        views[endpoint] = login_overall(login_per_address(views[endpoint]))
    views["api.issue_token"] = limiter.limit(lambda: cfg["RATELIMIT_TOKEN"])(
        views["api.issue_token"]
    )
    limiter.limit(lambda: cfg["RATELIMIT_API"], key_func=api_caller)(app.blueprints["api"])
    # The public check of a statement's or a certificate's code needs no login: one count per
    # client address for both pages, so codes cannot be tried by the thousand.
    verify = limiter.shared_limit(lambda: cfg["RATELIMIT_VERIFY"], scope="verify")
    for endpoint in ("registry.verify_form", "registry.verify_statement"):
        if endpoint in views:
            views[endpoint] = verify(views[endpoint])
    return limiter
