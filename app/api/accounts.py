"""The caller's own API tokens: list them, revoke one (another user's token is a 404)."""

from flask import jsonify
from flask_login import current_user

from app.api import bp
from app.api.core import openapi_json, openapi_path
from app.auth import services as auth_services
from app.core.models import rfc3339, utcnow
from app.extensions import db


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
def list_tokens():
    now = utcnow()
    return jsonify(tokens=[_token(t, now) for t in auth_services.tokens_of(current_user)])


@bp.post("/auth/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    row = auth_services.revoke_token(current_user, token_id)
    db.session.commit()
    return jsonify(_token(row, utcnow()))


_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_TOKEN = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "label": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        "state": {"type": "string", "enum": ["active", "expired", "revoked"]},
    },
}

OPENAPI_PATHS = {
    "/auth/tokens": {
        "get": {
            "summary": "The caller's API tokens (never their secret), newest first",
            "responses": {
                "200": openapi_json(
                    {"type": "object", "properties": {"tokens": {"type": "array", "items": _TOKEN}}}
                ),
                "401": {"description": "No valid token", **_ERR},
            },
        }
    },
    "/auth/tokens/{token_id}/revoke": {
        "post": {
            "summary": "Revoke one of the caller's tokens (it stops working at once)",
            "parameters": [openapi_path("token_id")],
            "responses": {
                "200": openapi_json(_TOKEN, "The revoked token"),
                "404": {"description": "No such token of the caller", **_ERR},
            },
        }
    },
}
