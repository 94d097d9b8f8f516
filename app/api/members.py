"""JSON API for the membership changes the pages offer too: end a membership, move a member to
another household, take a member off a household's list. The same people.* services as the
HTML forms (app/registry/views/member_views.py)."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.core import bool_field, json_body
from app.api.core import int_field as _int_field
from app.api.core import openapi_json as _json
from app.api.core import openapi_path as _path
from app.api.core import str_field as _str_field
from app.auth.models import Role
from app.auth.scope import roles_required
from app.extensions import db
from app.registry import people, present
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404
from app.registry.models import Household, Membership, Person


def _member_json(row) -> dict:
    return {
        "household_uid": row.household_uid,
        "person_uid": row.person_uid,
        "relation": row.relation,
        "is_co_holder": bool(row.is_co_holder),
        "moved_out_on": row.moved_out_on.isoformat() if row.moved_out_on else None,
        "current": row.end_lifespan is None,
    }


@bp.post("/memberships/<int:membership_uid>/end")
@roles_required(Role.COLLECTIVE_ADMIN)
def end_membership(membership_uid: int):
    membership = load_current_or_404(Membership, membership_uid, edit=True)
    body = json_body()
    ended = people.end_membership(
        membership.uid,
        _str_field(body, "until") or "",
        _str_field(body, "end_reason") or "",
        _str_field(body, "reason") or "",
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(present.membership_view(ended))


@bp.post("/persons/<int:person_uid>/move")
@roles_required(Role.COLLECTIVE_ADMIN)
def move_member(person_uid: int):
    person = load_current_or_404(Person, person_uid, edit=True)
    body = json_body()
    row = people.move_member(
        person.uid,
        _int_field(body, "to_household_uid"),
        _str_field(body, "reason") or "",
        keep_co_holding=bool_field(body, "keep_co_holding", True),
        relation=_str_field(body, "relation") or "10",
        is_co_holder=bool_field(body, "is_co_holder", True),
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_member_json(row))


@bp.post("/households/<int:household_uid>/members/<int:person_uid>/remove")
@roles_required(Role.COLLECTIVE_ADMIN)
def remove_household_member(household_uid: int, person_uid: int):
    household = load_current_or_404(Household, household_uid, edit=True)
    person = load_current_or_404(Person, person_uid)
    body = json_body()
    row = people.remove_household_member(
        household.uid,
        person.uid,
        _str_field(body, "reason") or "",
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_member_json(row))


_MEMBER = {
    "type": "object",
    "properties": {
        "household_uid": {"type": "integer"},
        "person_uid": {"type": "integer"},
        "relation": {"type": "string"},
        "is_co_holder": {"type": "boolean"},
        "moved_out_on": {"type": ["string", "null"], "format": "date"},
        "current": {"type": "boolean"},
    },
}
_MEMBERSHIP = {"type": "object", "description": "The membership as ended"}


def _body(required: list[str], properties: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


OPENAPI_PATHS: dict[str, dict] = {
    "/memberships/{membership_uid}/end": {
        "post": {
            "summary": "End a membership (Art. 17 reasons; settling in town is not one)",
            "tags": ["people"],
            "parameters": [_path("membership_uid")],
            "requestBody": _body(
                ["until", "end_reason", "reason"],
                {
                    "until": {"type": "string", "format": "date"},
                    "end_reason": {"type": "string", "enum": sorted(people.END_REASONS)},
                    "reason": openapi_text("reason"),
                    "source_document_id": {"type": "integer"},
                },
            ),
            "responses": {"200": _json(_MEMBERSHIP, "Ended")},
        }
    },
    "/persons/{person_uid}/move": {
        "post": {
            "summary": "Move a member to another household (keeps co-holding by default, R01)",
            "tags": ["people"],
            "parameters": [_path("person_uid")],
            "requestBody": _body(
                ["to_household_uid", "reason"],
                {
                    "to_household_uid": {"type": "integer"},
                    "relation": {"type": "string", "description": "GB/T 4761, default 10"},
                    "is_co_holder": {"type": "boolean"},
                    "keep_co_holding": {"type": "boolean"},
                    "reason": openapi_text("reason"),
                    "source_document_id": {"type": "integer"},
                },
            ),
            "responses": {"200": _json(_MEMBER, "Moved: the new household's member row")},
        }
    },
    "/households/{household_uid}/members/{person_uid}/remove": {
        "post": {
            "summary": "Take a person off a household's list (a co-holder needs a document, R01)",
            "tags": ["people"],
            "parameters": [_path("household_uid"), _path("person_uid")],
            "requestBody": _body(
                ["reason"],
                {"reason": openapi_text("reason"), "source_document_id": {"type": "integer"}},
            ),
            "responses": {"200": _json(_MEMBER, "Removed: the ended member row")},
        }
    },
}
