"""An account of the collective (a farmer) with one API token and one open session.

Gives ``user_id`` (the system administrator's account pages), ``token_id`` and ``session_id``
(the owner's own account page): nobody else may reach them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.auth.models import ApiToken, UserSession
from app.auth.services import create_user, issue_token, start_session
from app.extensions import db


def make(collective_id: int, ctx: dict) -> dict:
    user = create_user(
        f"acct_{uuid.uuid4().hex[:10]}",
        "factory-pass-2026",
        "farmer",
        collective_ids=[collective_id],
    )
    issue_token(user, label="factory")
    start_session(user)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    session_id = db.session.scalar(select(UserSession.id).where(UserSession.user_id == user.id))
    return {"user_id": user.id, "token_id": token_id, "session_id": session_id}
