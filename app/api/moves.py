"""JSON API for moves of rights outside the marketplace: request, countersign, refuse, withdraw.

The rules (legal basis, countersign by a bureau reviewer other than the requester, every check
of the underlying service) live in app.registry.moves; these endpoints translate JSON to those
calls and back, and commit once. Another collective's move or right is a 404.
"""

from __future__ import annotations

import json

from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.api import bp
from app.api.core import json_body
from app.api.core import openapi_json as _json
from app.api.homesteads import int_field, limit_arg, number_field, require_id, str_field
from app.auth.models import COUNTY_READERS, Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.extensions import db
from app.registry import moves as service
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404
from app.registry.models import Homestead, Plot, RightMove, ShareHolding

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
_SUBJECTS = {
    "plot_move": Plot,
    "share_transfer": ShareHolding,
    "share_buy_back": ShareHolding,
    "homestead_transfer": Homestead,
}


def move_json(m: RightMove) -> dict:
    subject, lines = service.describe(m)
    return {
        "move_id": m.id,
        "collective_id": m.collective_id,
        "kind": m.kind,
        "kind_label": service.kind_label(m.kind),
        "subject_uid": m.subject_uid,
        "subject": subject,
        "from_household_uid": m.from_household_uid,
        "to_household_uid": m.to_household_uid,
        "args": json.loads(m.args),
        "basis": m.basis,
        "basis_label": service.basis_label(m.basis),
        "source_document_id": m.source_document_id,
        "reason": m.reason,
        "requested_by": m.requested_by,
        "requested_at": m.requested_at.isoformat() + "Z",
        "state": m.state,
        "state_label": service.state_label(m.state),
        "decided_by": m.decided_by,
        "decided_at": m.decided_at.isoformat() + "Z" if m.decided_at else None,
        "decision_reason": m.decision_reason,
        "changes": [{"label": x.label, "before": x.before, "after": x.after} for x in lines],
    }


@bp.get("/moves")
@roles_required(*READERS)
def list_moves():
    state = request.args.get("state", "pending")
    if state not in (*service.STATES, "all"):
        raise DomainError("query", _("Unknown state."), field="state")
    scope = None if Role(current_user.role) in COUNTY_READERS else set(current_user.collective_ids)
    rows = service.moves_page(scope, state=None if state == "all" else state, limit=limit_arg())
    return jsonify({"items": [move_json(m) for m in rows]})


@bp.post("/moves")
@roles_required(Role.COLLECTIVE_ADMIN)
def request_move():
    body = json_body()
    kind = str_field(body, "kind")
    if kind not in _SUBJECTS:
        raise DomainError("move_kind", _("Choose what kind of move this is."), field="kind")
    subject = load_current_or_404(
        _SUBJECTS[kind], require_id(int_field(body, "subject_uid")), edit=True
    )
    move = service.request_move(
        kind,
        subject.uid,
        basis=str_field(body, "basis"),
        source_document_id=int_field(body, "source_document_id", required=False),
        reason=str_field(body, "reason"),
        collective_id=subject.collective_id,
        to_contract_uid=int_field(body, "to_contract_uid", required=False),
        to_household_uid=int_field(body, "to_household_uid", required=False),
        to_person_uid=int_field(body, "to_person_uid", required=False),
        shares=number_field(body, "shares"),
        certificate_number=str_field(body, "certificate_number"),
    )
    db.session.commit()
    response = jsonify(move_json(move))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_move", move_id=move.id)
    return response


@bp.get("/moves/<int:move_id>")
@roles_required(*READERS)
def get_move(move_id: int):
    return jsonify(move_json(load_or_404(RightMove, require_id(move_id))))


@bp.post("/moves/<int:move_id>/countersign")
@roles_required(Role.BUREAU_REVIEWER)
def countersign_move(move_id: int):
    move = load_or_404(RightMove, require_id(move_id))
    json_body(optional=True)
    service.countersign_move(move.id)
    db.session.commit()
    return jsonify(move_json(move))


@bp.post("/moves/<int:move_id>/refuse")
@roles_required(Role.BUREAU_REVIEWER)
def refuse_move(move_id: int):
    move = load_or_404(RightMove, require_id(move_id))
    body = json_body()
    service.refuse_move(move.id, str_field(body, "reason") or "")
    db.session.commit()
    return jsonify(move_json(move))


@bp.post("/moves/<int:move_id>/withdraw")
@roles_required(Role.COLLECTIVE_ADMIN)
def withdraw_move(move_id: int):
    move = load_or_404(RightMove, require_id(move_id))
    if not can_edit(current_user, move):
        abort(404)
    body = json_body(optional=True)
    service.withdraw_move(move.id, str_field(body, "reason"))
    db.session.commit()
    return jsonify(move_json(move))


# --- OpenAPI

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ID = {"name": "move_id", "in": "path", "required": True, "schema": {"type": "integer"}}
BASIS = {
    "type": "string",
    "enum": sorted(service.BASES),
    "description": "Legal basis: inheritance, court_ruling (judgment or arbitration award), "
    "correction (of a recording error), readjustment (the collective's 2/3 resolution, cited as "
    "the document), member_exit (decided by the collective, its resolution cited). A voluntary "
    "sale or paid exit goes through the marketplace.",
}
MOVE_SCHEMA = {
    "type": "object",
    "properties": {
        "move_id": {"type": "integer"},
        "collective_id": {"type": "integer"},
        "kind": {"type": "string", "enum": sorted(service.KINDS)},
        "kind_label": {"type": "string"},
        "subject_uid": {"type": "integer"},
        "subject": {"type": "string"},
        "from_household_uid": {"type": ["integer", "null"]},
        "to_household_uid": {"type": ["integer", "null"]},
        "args": {"type": "object"},
        "basis": BASIS,
        "basis_label": {"type": "string"},
        "source_document_id": {"type": "integer"},
        "reason": {"type": "string"},
        "requested_by": {"type": "string"},
        "requested_at": {"type": "string", "format": "date-time"},
        "state": {"type": "string", "enum": sorted(service.STATES)},
        "state_label": {"type": "string"},
        "decided_by": {"type": ["string", "null"]},
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "decision_reason": {"type": ["string", "null"]},
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "before": {"type": "string"},
                    "after": {"type": "string"},
                },
            },
        },
    },
}


def _body(required: list[str], properties: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


OPENAPI_PATHS = {
    "/moves": {
        "get": {
            "summary": "Move requests (county-wide for the bureau; own collectives for an admin)",
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string", "enum": [*sorted(service.STATES), "all"]},
                },
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}},
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"items": {"type": "array", "items": MOVE_SCHEMA}},
                    },
                    "Newest first",
                )
            },
        },
        "post": {
            "summary": "Request a move of a right for a legal reason; it waits for a countersign",
            "requestBody": _body(
                ["kind", "subject_uid", "basis", "source_document_id", "reason"],
                {
                    "kind": {"type": "string", "enum": sorted(service.KINDS)},
                    "subject_uid": {
                        "type": "integer",
                        "description": "The plot, share holding or homestead",
                    },
                    "basis": BASIS,
                    "source_document_id": {"type": "integer"},
                    "reason": openapi_text("reason"),
                    "to_contract_uid": {
                        "type": ["integer", "null"],
                        "description": "plot_move: the contract it goes to; null: the collective",
                    },
                    "to_household_uid": {"type": "integer"},
                    "to_person_uid": {"type": "integer"},
                    "shares": {"type": "number", "exclusiveMinimum": 0},
                    "certificate_number": {"type": ["string", "null"]},
                },
            ),
            "responses": {
                "201": _json(MOVE_SCHEMA, "The pending request"),
                "404": {"description": "The right is not found or out of reach", **_ERR},
                "422": {"description": "No or a wrong legal basis, or a rule refused it", **_ERR},
            },
        },
    },
    "/moves/{move_id}": {
        "get": {
            "summary": "A move request with its before / after",
            "parameters": [_ID],
            "responses": {
                "200": _json(MOVE_SCHEMA, "The request"),
                "404": {"description": "Not found or out of reach", **_ERR},
            },
        }
    },
    "/moves/{move_id}/countersign": {
        "post": {
            "summary": "Countersign (bureau reviewer, not the requester): checked again, applied",
            "parameters": [_ID],
            "responses": {
                "200": _json(MOVE_SCHEMA, "The applied request"),
                "404": {"description": "Not found or out of reach", **_ERR},
                "422": {"description": "Not pending, own request, or a rule refused it", **_ERR},
            },
        }
    },
    "/moves/{move_id}/refuse": {
        "post": {
            "summary": "Refuse a pending move with a reason (bureau reviewer, not the requester)",
            "parameters": [_ID],
            "requestBody": _body(["reason"], {"reason": openapi_text("reason")}),
            "responses": {
                "200": _json(MOVE_SCHEMA, "The refused request"),
                "404": {"description": "Not found or out of reach", **_ERR},
                "422": {"description": "Not pending, own request, or no reason", **_ERR},
            },
        }
    },
    "/moves/{move_id}/withdraw": {
        "post": {
            "summary": "The requester withdraws a pending move",
            "parameters": [_ID],
            "responses": {
                "200": _json(MOVE_SCHEMA, "The withdrawn request"),
                "404": {"description": "Not found or out of reach", **_ERR},
                "422": {"description": "Not pending, or not the requester", **_ERR},
            },
        }
    },
}
