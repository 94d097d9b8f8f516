"""The inbox page (/inbox) and the unread count in every page's nav.

``install(app, phone_of=...)`` registers the page and the nav's count, and takes the function
that says a user's phone number (create_app hands over the registry's: this package does not read
the registry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.core.urls import safe_next
from app.extensions import db
from app.notify import outbox, services

bp = Blueprint("notify", __name__)
_CACHE = "sanquan.unread_notifications"


def _reachable(app: Flask, link: str | None) -> str | None:
    """The link if a page answers it (never a link to a 404: a feature's page may not exist)."""
    if not link:
        return None
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(link.split("?", 1)[0], method="GET")
    except HTTPException as exc:
        # A redirect (a trailing slash) still reaches a page; anything else does not.
        return link if getattr(exc, "code", None) in (301, 308) else None
    return link


@bp.get("/inbox")
def inbox_page():
    from flask import current_app

    cursor = request.args.get("cursor", type=int)
    page = services.inbox(current_user, services.INBOX_PAGE, cursor)
    items = [
        {
            "id": n.id,
            "text": services.text_of(n),
            "link": _reachable(current_app, n.link),
            "at": n.created_at,
            "unread": n.read_at is None,
        }
        for n in page.items
    ]
    return render_template(
        "notify/inbox.html",
        items=items,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )


@bp.post("/inbox/read")
def mark_read():
    back = safe_next(request.form.get("next"), url_for("notify.inbox_page"))
    everything = bool(request.form.get("all"))
    note_id = request.form.get("id", type=int)
    if note_id is None and not everything:
        abort(404)
    ids = [note_id] if note_id is not None else None
    done = services.mark_read(current_user, ids, everything=everything)
    db.session.commit()
    if everything:
        flash(_("Notifications marked read: %(num)d.", num=done.marked), "ok")
    return redirect(back)


def _unread_notifications() -> int | None:
    """The nav's count: one indexed query per page, none for anonymous visitors."""
    if not current_user.is_authenticated:
        return None
    cache = request.environ  # once per request (base.html and the page may both ask)
    if _CACHE not in cache:
        try:
            cache[_CACHE] = services.unread_count(current_user)
        except SQLAlchemyError:  # an error page after a failed transaction: no count
            cache[_CACHE] = None
    return cache[_CACHE]


def install(app: Flask, *, phone_of: Callable[[Any], str | None] | None = None) -> None:
    app.register_blueprint(bp)
    if phone_of is not None:
        outbox.set_phone_resolver(phone_of)

    @app.context_processor
    def _inbox_count() -> dict:
        return {"unread_notifications": _unread_notifications}
