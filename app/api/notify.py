"""JSON API of the caller's own inbox: list it (newest first, paged, with the unread count) and
mark notifications read. The words of each notification are in the caller's language
(Accept-Language); another user's notification is a 404."""

from __future__ import annotations

from datetime import datetime

from flask import jsonify
from flask_login import current_user
from pydantic import Field, model_validator

from app.api import bp
from app.api.fields import Id, Page, Paged
from app.api.schema import Answer, Body, operation
from app.core.models import rfc3339
from app.extensions import db
from app.notify import services


class InboxItem(Answer):
    """One notification"""

    notification_id: int
    kind: str = Field(description="What happened, e.g. market.offer")
    text: str = Field(description="In the caller's language, rendered when read")
    link: str | None = Field(description="A path of the web app to the object concerned")
    created_at: datetime
    read_at: datetime | None


class Inbox(Page[InboxItem]):
    """The caller's notifications, newest first"""

    unread: int = Field(description="How many of the caller's notifications are unread")


class ReadBody(Body):
    ids: list[Id] | None = Field(
        None, max_length=200, description="The notifications to mark read (the caller's own)"
    )
    all: bool = Field(False, description="Mark every notification of the caller read")

    @model_validator(mode="after")
    def _one_of(self) -> ReadBody:
        if not self.all and not self.ids:
            raise ValueError("give ids or all: true")
        return self


class ReadAnswer(Answer):
    marked: int = Field(description="How many were unread and are now read")
    unread: int


def item_json(note) -> dict:
    return {
        "notification_id": note.id,
        "kind": note.kind,
        "text": services.text_of(note),
        "link": note.link,
        "created_at": rfc3339(note.created_at),
        "read_at": rfc3339(note.read_at),
    }


@bp.get("/inbox")
@operation(
    "The caller's notifications, newest first, with the unread count", query=Paged, answer=Inbox
)
def list_inbox(query: Paged):
    page = services.inbox(current_user, query.limit, query.cursor)
    return jsonify(
        {
            "items": [item_json(n) for n in page.items],
            "next": str(page.next_cursor) if page.next_cursor is not None else None,
            "unread": page.unread,
        }
    )


@bp.post("/inbox/read")
@operation(
    "Mark the caller's notifications read (some by id, or all)",
    body=ReadBody,
    answer=ReadAnswer,
    refusals={404: "A notification is not the caller's, or does not exist"},
)
def read_inbox(body: ReadBody):
    done = services.mark_read(current_user, body.ids, everything=body.all)
    db.session.commit()
    return jsonify({"marked": done.marked, "unread": done.unread})
