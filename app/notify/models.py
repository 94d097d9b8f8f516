"""The inbox and the outbox.

A notification keeps what happened (``kind`` and its ``params``), not its words: the words are
rendered when it is read, in the reader's language (``kinds.render``). A short message to a phone
is rendered when it is written, in Chinese (the county's language), and waits in the outbox for
``outbox.deliver_outbox``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import utcnow
from app.extensions import db


class Notification(db.Model):
    """One line of a user's inbox."""

    __tablename__ = "notification"
    __scope__ = "admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    #: Canonical JSON of the values the kind's words take (codes, numbers, dates: no words).
    params: Mapped[str] = mapped_column(Text, default="{}")
    #: A path inside the app (the object the notification is about), or None.
    link: Mapped[str | None] = mapped_column(String(300))
    #: Set for notifications that must be sent once only (a reminder of one deadline).
    once_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        # The unread count and the inbox page: one user's rows, unread first.
        Index("ix_notification_user_read", "user_id", "read_at"),
        UniqueConstraint("user_id", "once_key", name="uq_notification_user_once"),
    )


class OutboxMessage(db.Model):
    """A short message to a phone, waiting for (or done with) the configured sender."""

    __tablename__ = "outbox_message"
    __scope__ = "admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    # pending / sent / failed (failed ones are retried up to NOTIFY_MAX_ATTEMPTS)
    state: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_outbox_message_state", "state", "id"),)
