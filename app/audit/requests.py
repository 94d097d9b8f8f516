"""Each request runs under an audit context naming its user (none when anonymous, and none after
the request): app.core.web tells who is asking, at the hook installed here at app creation."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.audit import trail
from app.core import web


def _acting_as(user: Any) -> None:
    if user is None:
        trail.set_context(None)
    else:
        trail.set_context(trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role))


def install(app: Flask) -> None:
    web.on_identity(app, _acting_as)
