"""The API's own account endpoints: a Bearer token for a username and password, and who the
caller is."""

from typing import Literal

from flask import jsonify, request
from flask_login import current_user

from app.api import bp
from app.api.schema import Answer, Body, operation
from app.audit import trail
from app.auth import services as auth_services
from app.extensions import db


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
