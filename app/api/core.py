import re
from datetime import date
from typing import Any, Literal

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app.api import bp
from app.api.schema import Answer, Body, operation
from app.audit import trail
from app.auth import services as auth_services
from app.auth.scope import roles_required  # noqa: F401  (re-exported for API modules)
from app.core import inputs
from app.core.errors import DomainError
from app.core.inputs import parse_json
from app.extensions import db


def json_body(*, optional: bool = False) -> dict:
    """The request's JSON object, or a clear 4xx error (400 unreadable, 422 not an object).

    Parsed strictly (app.core.inputs.parse_json): finite numbers, bounded nesting, storable text.
    With ``optional``, an empty body is an empty object.
    """
    data = request.get_data(cache=True)
    if optional and not data.strip():
        return {}
    body = parse_json(data) if data.strip() else None
    if not isinstance(body, dict):
        raise DomainError("body", _("Send a JSON object as the request body."))
    return body


MAX_ID = inputs.MAX_ID
PAGE = 50
#: Longest free text accepted in a JSON field; services set tighter limits where they know one.
MAX_TEXT = 10_000


def int_arg(name: str) -> int | None:
    """A whole-number query argument within the range of a database id, or None if absent."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    value = inputs.parse_id(raw)
    if value is None:
        raise DomainError("query", _("%(name)s must be a whole number.", name=name), field=name)
    return value


def limit_arg() -> int:
    """Page size from ?limit=, between 1 and 200."""
    value = int_arg("limit")
    return PAGE if value is None else max(1, min(value, 200))


def int_field(body: dict, name: str, *, required: bool = True) -> int | None:
    """A JSON whole number naming a stored object: 422 if not an integer or beyond any id."""
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("body", _("%(name)s must be a whole number.", name=name), field=name)
    if not 0 <= value <= MAX_ID:
        raise DomainError("unknown", _("No object has the %(name)s given.", name=name), field=name)
    return value


def number_field(body: dict, name: str) -> float | None:
    """A JSON number (finite: the body parser refuses NaN and Infinity), or None if absent."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError("body", _("%(name)s must be a number.", name=name), field=name)
    return float(value)


def str_field(body: dict, name: str) -> str | None:
    """A JSON string of at most MAX_TEXT characters, or None if absent."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise DomainError("body", _("%(name)s must be text.", name=name), field=name)
    if value is not None and len(value) > MAX_TEXT:
        raise DomainError("body", _("%(name)s is too long.", name=name), field=name)
    return value


def bool_field(body: dict, name: str, default: bool = False) -> bool:
    """A JSON true or false; ``default`` when absent."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise DomainError("body", _("%(name)s must be true or false.", name=name), field=name)
    return value


def date_value(value: Any, name: str) -> date | None:
    """A date written YYYY-MM-DD (ASCII digits), or None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DomainError("date", _("Give the date as YYYY-MM-DD."), field=name)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def openapi_json(schema: dict, description: str = "OK") -> dict:
    """An OpenAPI response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_path(name: str) -> dict:
    """An integer path parameter of OpenAPI."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


class TokenRequest(Body):
    # No length limit of their own: an odd username gets the same answer as a wrong password.
    username: str
    password: str


class Token(Answer):
    """A new token (shown once)"""

    token: str
    token_type: Literal["Bearer"]
    username: str
    role: str


class Me(Answer):
    """The caller's account"""

    username: str
    display_name: str | None
    role: str
    collectives: list[int]


@bp.post("/auth/token")
@operation(
    "Exchange a username and password for a Bearer token",
    body=TokenRequest,
    answer=Token,
    status=201,
    public=True,
    refusals={
        422: "Wrong credentials or body",
        429: "Too many attempts: see Retry-After",
    },
)
def issue_token(body: TokenRequest):
    user = auth_services.authenticate(
        body.username, body.password, auth_services.Client.of(request)
    )
    with trail.acting(trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role)):
        token = auth_services.issue_token(user, label="api")
    db.session.commit()
    answer = {"token": token, "token_type": "Bearer", "username": user.username, "role": user.role}
    return jsonify(answer), 201


@bp.get("/me")
@operation("The caller's account, role and collectives", answer=Me)
def me():
    return jsonify(
        username=current_user.username,
        display_name=current_user.display_name,
        role=current_user.role,
        collectives=sorted(current_user.collective_ids),
    )
