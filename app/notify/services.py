"""The inbox: tell users something (``notify``), count and list what they have not read, mark it
read. A user only ever reads and marks their own notifications: another user's is a 404.

Services flush, never commit; every write is audited (``notify.send``, ``notify.read``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit import trail
from app.auth.models import User
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.notify import kinds, outbox
from app.notify.models import Notification, OutboxMessage

INBOX_PAGE = 20
MAX_PAGE = 100


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _check_link(link: str | None) -> str | None:
    """A path inside the app (never another site: no scheme, no //host)."""
    if link is None:
        return None
    if not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 300:
        raise ValueError(f"a notification's link is a path inside the app: {link!r}")
    return link


def notify(
    user_ids: Iterable[int],
    kind: str,
    params: dict[str, Any] | None = None,
    link: str | None = None,
    *,
    sms: bool = False,
    once_key: str | None = None,
) -> list[Notification]:
    """Put a notification of ``kind`` in each (active) user's inbox; with ``sms``, also queue a
    short message (in Chinese) for each of them who has a phone number (``outbox.phone_of``).

    ``params`` are codes, numbers and dates (``kinds.KINDS`` says which words they take); the
    words are rendered when the notification is read. With ``once_key``, a user who already had a
    notification with that key gets none (a reminder is sent once).
    """
    if kind not in kinds.KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    params = dict(params or {})
    text = _canonical(params)
    link = _check_link(link)
    wanted = sorted({int(u) for u in user_ids})
    if not wanted:
        return []
    users = list(
        db.session.scalars(
            select(User).where(User.id.in_(wanted), User.is_active.is_(True)).order_by(User.id)
        )
    )
    if once_key is not None:
        told = set(
            db.session.scalars(
                select(Notification.user_id).where(
                    Notification.user_id.in_([u.id for u in users]),
                    Notification.once_key == once_key,
                )
            )
        )
        users = [u for u in users if u.id not in told]
    if not users:
        return []
    made = []
    with trail.because("notify.send"):
        for user in users:
            note = Notification(
                user_id=user.id, kind=kind, params=text, link=link, once_key=once_key
            )
            db.session.add(note)
            made.append(note)
        if sms:
            message = kinds.render_sms(kind, params)
            for user in users:
                phone = outbox.phone_of(user)
                if phone:
                    db.session.add(OutboxMessage(user_id=user.id, phone=phone, text=message))
        db.session.flush()
    return made


def unread_count(user: Any) -> int:
    """How many of the user's notifications are unread (one indexed count)."""
    if user is None or getattr(user, "id", None) is None:
        return 0
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


@dataclass
class InboxPage:
    items: list[Notification]
    #: The id the next page starts below, or None on the last page.
    next_cursor: int | None
    #: How many of the user's notifications are unread (all of them, not only this page's).
    unread: int


@dataclass
class Marked:
    #: How many were unread and are now read.
    marked: int
    #: How many of the user's notifications are still unread.
    unread: int


def inbox(user: Any, limit: int = INBOX_PAGE, cursor: int | None = None) -> InboxPage:
    """The user's notifications, newest first, ``limit`` a page; ``cursor`` is the previous
    page's ``next_cursor``."""
    limit = max(1, min(int(limit), MAX_PAGE))
    q = select(Notification).where(Notification.user_id == user.id)
    if cursor is not None:
        q = q.where(Notification.id < cursor)
    rows = list(db.session.scalars(q.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return InboxPage(rows, rows[-1].id if more and rows else None, unread_count(user))


def text_of(note: Notification) -> str:
    """The notification's words in the current language."""
    return kinds.render(note.kind, note.params)


def mark_read(user: Any, ids: Iterable[int] | None = None, *, everything: bool = False) -> Marked:
    """Mark the user's notifications ``ids`` (or, with ``everything``, all) read; how many
    changed and how many stay unread. An id that is not the user's own is a 404, whoever's it
    is."""
    if everything:
        q = select(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
        notes = list(db.session.scalars(q))
    else:
        wanted = set()
        for value in ids or ():
            if isinstance(value, bool) or not isinstance(value, int):
                raise NotFound("notification_unknown", _("No such notification."), field="ids")
            wanted.add(value)
        if not wanted:
            raise DomainError("required", _("Choose what to mark read."), field="ids")
        notes = list(
            db.session.scalars(
                select(Notification).where(
                    Notification.id.in_(wanted), Notification.user_id == user.id
                )
            )
        )
        if len(notes) != len(wanted):
            raise NotFound("notification_unknown", _("No such notification."), field="ids")
        notes = [n for n in notes if n.read_at is None]
    if notes:
        now = utcnow()
        with trail.because("notify.read"):
            for note in notes:
                note.read_at = now
            db.session.flush()
    return Marked(len(notes), unread_count(user))
