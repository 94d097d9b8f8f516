from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app.api import bp
from app.auth import services as auth_services
from app.auth.scope import roles_required  # noqa: F401  (re-exported for API modules)
from app.core.errors import DomainError
from app.extensions import db


def json_body() -> dict:
    """The request's JSON object, or a clear 400-class error."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("body", _("Send a JSON object as the request body."))
    return body


# Ids are INTEGER columns: a larger number names nothing and must not reach the database.
MAX_ID = 2**31 - 1
PAGE = 50


def int_arg(name: str) -> int | None:
    """A whole-number query argument within the range of a database id, or None if absent."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_ID:
        raise DomainError("query", _("%(name)s must be a whole number.", name=name), field=name)
    return value


def limit_arg() -> int:
    """Page size from ?limit=, between 1 and 200."""
    value = int_arg("limit")
    return PAGE if value is None else max(1, min(value, 200))


def openapi_json(schema: dict, description: str = "OK") -> dict:
    """An OpenAPI response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_path(name: str) -> dict:
    """An integer path parameter of OpenAPI."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


@bp.post("/auth/token")
def issue_token():
    """Exchange a username and password for a Bearer token."""
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise DomainError("body", _("Give username and password as strings."))
    user = auth_services.authenticate(username, password, auth_services.Client.of(request))
    from app.audit import trail

    with trail.acting(trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role)):
        token = auth_services.issue_token(user, label="api")
    db.session.commit()
    body = {"token": token, "token_type": "Bearer", "username": user.username, "role": user.role}
    return jsonify(body), 201


@bp.get("/me")
def me():
    return jsonify(
        username=current_user.username,
        display_name=current_user.display_name,
        role=current_user.role,
        collectives=sorted(current_user.collective_ids),
    )


_JSON_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

OPENAPI_PATHS = {
    "/auth/token": {
        "post": {
            "summary": "Exchange a username and password for a Bearer token",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["username", "password"],
                            "properties": {
                                "username": {"type": "string"},
                                "password": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "A new token (shown once)"},
                "422": {"description": "Wrong credentials or body", **_JSON_ERROR},
                "429": {"description": "Too many attempts: see Retry-After", **_JSON_ERROR},
            },
        }
    },
    "/me": {
        "get": {
            "summary": "The caller's account, role and collectives",
            "responses": {
                "200": {"description": "The account"},
                "401": {"description": "No token"},
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1"}},
        }
    },
}
