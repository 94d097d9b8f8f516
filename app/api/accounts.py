"""The caller's own API tokens: list them, revoke one (another user's token is a 404)."""

from datetime import datetime
from typing import Literal

from flask import jsonify
from flask_login import current_user

from app.api import bp
from app.api.schema import Answer, operation
from app.auth import services as auth_services
from app.core.models import rfc3339, utcnow
from app.extensions import db


class ApiToken(Answer):
    """A token of the caller (never its secret)"""

    id: int
    label: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class ApiTokens(Answer):
    """The caller's tokens, newest first"""

    tokens: list[ApiToken]


def _token(row, now) -> dict:
    return {
        "id": row.id,
        "label": row.label,
        "created_at": rfc3339(row.created_at),
        "expires_at": rfc3339(row.expires_at),
        "last_used_at": rfc3339(row.last_used_at),
        "state": row.state(now),
    }


@bp.get("/auth/tokens")
@operation("The caller's API tokens (never their secret), newest first", answer=ApiTokens)
def list_tokens():
    now = utcnow()
    return jsonify(tokens=[_token(t, now) for t in auth_services.tokens_of(current_user)])


@bp.post("/auth/tokens/<int:token_id>/revoke")
@operation(
    "Revoke one of the caller's tokens (it stops working at once)",
    answer=ApiToken,
    refusals={404: "No such token of the caller"},
)
def revoke_token(token_id: int):
    row = auth_services.revoke_token(current_user, token_id)
    db.session.commit()
    return jsonify(_token(row, utcnow()))
