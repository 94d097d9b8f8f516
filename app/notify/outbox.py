"""The outbox of short messages: who has a phone number, and handing pending messages to the
configured sender.

The sender is ``NOTIFY_SENDER`` ("module:function"), called as ``send(phone, text)``; it raises to
say the message was not sent. The default (``log_sender``) writes the message to the app's log.
A message whose sending raised is marked failed with the error and retried by later runs until it
has been tried ``NOTIFY_MAX_ATTEMPTS`` times. ``deliver_outbox`` flushes; the caller (the command
``flask notify deliver``, for cron) commits.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from app.audit import trail
from app.core.models import utcnow
from app.extensions import db
from app.notify.models import OutboxMessage

Sender = Callable[[str, str], Any]

#: user -> phone number or None. Accounts carry no phone of their own: create_app hands over
#: the registry's reader (a farmer's account: the person's 联系电话); staff accounts have none.
_phone_resolver: Callable[[Any], str | None] = lambda user: None  # noqa: E731


def set_phone_resolver(resolver: Callable[[Any], str | None]) -> None:
    global _phone_resolver
    _phone_resolver = resolver


def phone_of(user: Any) -> str | None:
    phone = _phone_resolver(user)
    phone = (phone or "").strip()
    return phone or None


def log_sender(phone: str, text: str) -> None:
    """The default sender: the message goes to the app's log (nothing leaves the server)."""
    current_app.logger.info("SMS to %s: %s", phone, text)


def sender() -> Sender:
    """The configured sender (NOTIFY_SENDER, "module:function")."""
    spec = current_app.config.get("NOTIFY_SENDER") or "app.notify.outbox:log_sender"
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError(f"NOTIFY_SENDER is 'module:function', not {spec!r}")
    found = getattr(importlib.import_module(module_name), name, None)
    if not callable(found):
        raise ValueError(f"NOTIFY_SENDER names nothing callable: {spec!r}")
    return found


def deliver_outbox(limit: int = 100, *, send: Sender | None = None) -> dict[str, int]:
    """Hand up to ``limit`` waiting messages (pending, or failed fewer than NOTIFY_MAX_ATTEMPTS
    times), oldest first, to the sender; returns how many were sent and how many failed."""
    send = send or sender()
    most = current_app.config["NOTIFY_MAX_ATTEMPTS"]
    q = (
        select(OutboxMessage)
        .where(
            or_(
                OutboxMessage.state == "pending",
                (OutboxMessage.state == "failed") & (OutboxMessage.attempts < most),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    done = {"sent": 0, "failed": 0}
    with trail.because("notify.deliver"):
        claimed = db.session.scalars(q).all()
        # Claim them before sending: on PostgreSQL the rows are locked (another run skips them);
        # on SQLite this write takes the lock, and a run that read them too fails at its own.
        for message in claimed:
            message.attempts += 1
        db.session.flush()
        for message in claimed:
            try:
                send(message.phone, message.text)
            except Exception as exc:  # noqa: BLE001  (any failure of the sender is recorded)
                message.state = "failed"
                message.last_error = (f"{type(exc).__name__}: {exc}")[:500]
                done["failed"] += 1
            else:
                message.state = "sent"
                message.sent_at = utcnow()
                message.last_error = None
                done["sent"] += 1
        db.session.flush()
    return done
