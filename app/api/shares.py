"""JSON API for collective income shares: the same service functions as the HTML pages.

R10 (members on the roll, same collective, conservation) and R11 (per-holder cap) are enforced
in app.registry.shares; these endpoints translate JSON to those calls and back, and commit once.
"""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user

from app.api import bp
from app.api.core import json_body
from app.api.core import openapi_json as _json
from app.api.homesteads import (
    date_value,
    int_arg,
    int_field,
    latest_or_404,
    limit_arg,
    number_field,
    require_id,
    str_field,
)
from app.api.moves import BASIS as MOVE_BASIS
from app.api.moves import MOVE_SCHEMA, move_json
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.divisions.models import Collective
from app.extensions import db
from app.registry import shares as service
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404
from app.registry.models import ShareHolding

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
REGISTER_READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


def holding_json(h: ShareHolding) -> dict:
    register = service.share_register(h.collective_id)
    return {
        "holding_uid": h.uid,
        "version": h.version,
        "is_current": h.is_current,
        "collective_id": h.collective_id,
        "household_uid": h.household_uid,
        "person_uid": h.person_uid,
        "holder_name": service.holder_name(h),
        "shares": h.shares,
        "percent_of_total": (
            round(100.0 * h.shares / register.total_shares, 4) if register else None
        ),
        "share_type": h.share_type,
        "certificate_number": h.certificate_number,
        "begin_lifespan": h.begin_lifespan.isoformat(),
        "end_lifespan": h.end_lifespan.isoformat() if h.end_lifespan else None,
        "source_document_id": h.source_document_id,
    }


def register_json(collective: Collective) -> dict:
    register = service.share_register(collective.id)
    allocated, pool, total = service.conservation_check(collective.id)
    percent = service.cap_percent(collective)
    return {
        "collective_id": collective.id,
        "fixed": register is not None,
        "fixed_on": register.fixed_on.isoformat() if register else None,
        "total_shares": total,
        "allocated": allocated,
        "pool": pool,
        "cap_percent": percent,
        "cap_shares": total * percent / 100.0,
    }


def _editable_collective(collective_id: int | None) -> Collective:
    collective = load_or_404(Collective, require_id(collective_id))
    if not can_edit(current_user, collective):
        abort(404)
    return collective


@bp.get("/collectives/<int:collective_id>/shares")
@roles_required(*REGISTER_READERS)
def collective_shares(collective_id: int):
    collective = load_or_404(Collective, require_id(collective_id))
    limit = limit_arg()
    offset = max(int_arg("cursor") or 0, 0)
    rows = service.register_page(collective.id, limit=limit + 1, offset=offset)
    out = register_json(collective)
    total = out["total_shares"]
    out["items"] = [
        {
            "household_uid": r.holder.household_uid,
            "person_uid": r.holder.person_uid,
            "name": r.name,
            "shares": r.total,
            "percent_of_total": round(100.0 * r.total / total, 4) if total else None,
            "at_or_above_cap": r.total >= out["cap_shares"] - service.EPS,
            "holdings": [
                {
                    "holding_uid": h.uid,
                    "shares": h.shares,
                    "share_type": h.share_type,
                    "certificate_number": h.certificate_number,
                }
                for h in r.holdings
            ],
        }
        for r in rows[:limit]
    ]
    out["next"] = str(offset + limit) if len(rows) > limit else None
    return jsonify(out)


@bp.post("/collectives/<int:collective_id>/share-register")
@roles_required(Role.COLLECTIVE_ADMIN)
def fix_share_register(collective_id: int):
    collective = _editable_collective(collective_id)
    body = json_body()
    service.fix_share_register(
        collective.id,
        number_field(body, "total_shares"),
        date_value(body.get("fixed_on"), "fixed_on"),
        str_field(body, "reason"),
        source_document_id=int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(register_json(collective)), 201


@bp.post("/shares")
@roles_required(Role.COLLECTIVE_ADMIN)
def allocate_shares():
    body = json_body()
    collective = _editable_collective(int_field(body, "collective_id"))
    holding = service.allocate_shares(
        collective.id,
        household_uid=int_field(body, "household_uid", required=False),
        person_uid=int_field(body, "person_uid", required=False),
        shares=number_field(body, "shares"),
        share_type=str_field(body, "share_type"),
        certificate_number=str_field(body, "certificate_number"),
        source_document_id=int_field(body, "source_document_id", required=False),
        reason=str_field(body, "reason"),
    )
    db.session.commit()
    return jsonify(holding_json(holding)), 201


@bp.get("/shares/<int:holding_uid>")
@roles_required(*READERS)
def get_share_holding(holding_uid: int):
    return jsonify(holding_json(latest_or_404(ShareHolding, holding_uid)))


@bp.post("/shares/<int:holding_uid>/transfer")
@roles_required(Role.COLLECTIVE_ADMIN)
def transfer_shares(holding_uid: int):
    holding = load_current_or_404(ShareHolding, require_id(holding_uid), edit=True)
    body = json_body()
    move = service.transfer_shares(
        holding.uid,
        to_household_uid=int_field(body, "to_household_uid", required=False),
        to_person_uid=int_field(body, "to_person_uid", required=False),
        shares=number_field(body, "shares"),
        reason=str_field(body, "reason"),
        source_document_id=int_field(body, "source_document_id", required=False),
        certificate_number=str_field(body, "certificate_number"),
        basis=str_field(body, "basis"),
    )
    db.session.commit()
    return jsonify(move_json(move)), 202


@bp.post("/shares/<int:holding_uid>/buy-back")
@roles_required(Role.COLLECTIVE_ADMIN)
def buy_back_shares(holding_uid: int):
    holding = load_current_or_404(ShareHolding, require_id(holding_uid), edit=True)
    body = json_body()
    move = service.buy_back(
        holding.uid,
        number_field(body, "shares"),
        reason=str_field(body, "reason"),
        source_document_id=int_field(body, "source_document_id", required=False),
        basis=str_field(body, "basis"),
    )
    db.session.commit()
    return jsonify(move_json(move)), 202


# --- OpenAPI

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UID = {"type": "integer", "minimum": 1}


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": _UID}


def _body(required: list[str], properties: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


HOLDING_SCHEMA = {
    "type": "object",
    "properties": {
        "holding_uid": {"type": "integer"},
        "version": {"type": "integer"},
        "is_current": {"type": "boolean"},
        "collective_id": {"type": "integer"},
        "household_uid": {"type": ["integer", "null"]},
        "person_uid": {"type": ["integer", "null"]},
        "holder_name": {"type": "string"},
        "shares": {"type": "number"},
        "percent_of_total": {"type": ["number", "null"]},
        "share_type": {"type": "string", "enum": sorted(service.SHARE_TYPES)},
        "certificate_number": {"type": ["string", "null"]},
        "begin_lifespan": {"type": "string"},
        "end_lifespan": {"type": ["string", "null"]},
        "source_document_id": {"type": ["integer", "null"]},
    },
}
REGISTER_SCHEMA = {
    "type": "object",
    "properties": {
        "collective_id": {"type": "integer"},
        "fixed": {"type": "boolean"},
        "fixed_on": {"type": ["string", "null"], "format": "date"},
        "total_shares": {"type": "number"},
        "allocated": {"type": "number"},
        "pool": {"type": "number", "description": "The collective's unallocated shares"},
        "cap_percent": {"type": "number", "description": "R11 per-holder cap"},
        "cap_shares": {"type": "number"},
        "items": {"type": "array", "items": {"type": "object"}},
        "next": {"type": ["string", "null"]},
    },
}


OPENAPI_PATHS = {
    "/collectives/{collective_id}/shares": {
        "get": {
            "summary": "The collective's share register: total, allocated, pool, holders, cap",
            "parameters": [
                _path_param("collective_id"),
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}},
            ],
            "responses": {
                "200": _json(REGISTER_SCHEMA, "The register with one page of holders"),
                "404": {"description": "Not found or out of reach", **_ERR},
            },
        }
    },
    "/collectives/{collective_id}/share-register": {
        "post": {
            "summary": "Fix the collective's total of shares once (股权固化); it never changes",
            "parameters": [_path_param("collective_id")],
            "requestBody": _body(
                ["total_shares", "fixed_on", "reason"],
                {
                    "total_shares": {"type": "number", "exclusiveMinimum": 0},
                    "fixed_on": {"type": "string", "format": "date"},
                    "reason": openapi_text("reason"),
                    "source_document_id": {"type": "integer"},
                },
            ),
            "responses": {
                "201": _json(REGISTER_SCHEMA, "The fixed register"),
                "404": {"description": "Not found or out of reach", **_ERR},
                "422": {"description": "Already fixed (R10) or bad input", **_ERR},
            },
        }
    },
    "/shares": {
        "post": {
            "summary": "Allocate shares from the pool to a member holder (R10, R11)",
            "requestBody": _body(
                ["collective_id", "shares", "share_type", "source_document_id", "reason"],
                {
                    "collective_id": {"type": "integer"},
                    "household_uid": {"type": "integer", "description": "or person_uid"},
                    "person_uid": {"type": "integer", "description": "or household_uid"},
                    "shares": {"type": "number", "exclusiveMinimum": 0},
                    "share_type": {"type": "string", "enum": sorted(service.SHARE_TYPES)},
                    "certificate_number": {"type": ["string", "null"]},
                    "source_document_id": {"type": "integer"},
                    "reason": openapi_text("reason"),
                },
            ),
            "responses": {
                "201": _json(HOLDING_SCHEMA, "The new holding"),
                "404": {"description": "Collective not found or out of reach", **_ERR},
                "422": {"description": "Refused (R10/R11) or bad input", **_ERR},
            },
        }
    },
    "/shares/{holding_uid}": {
        "get": {
            "summary": "A share holding (latest version, current or ended)",
            "parameters": [_path_param("holding_uid")],
            "responses": {
                "200": _json(HOLDING_SCHEMA, "The holding"),
                "404": {"description": "Not found or out of reach", **_ERR},
            },
        }
    },
    "/shares/{holding_uid}/transfer": {
        "post": {
            "summary": "Request a transfer of shares to a member or household of the same "
            "collective, for a legal reason; it waits for the bureau's countersign",
            "parameters": [_path_param("holding_uid")],
            "requestBody": _body(
                ["shares", "reason", "source_document_id", "basis"],
                {
                    "basis": MOVE_BASIS,
                    "to_household_uid": {"type": "integer", "description": "or to_person_uid"},
                    "to_person_uid": {"type": "integer", "description": "or to_household_uid"},
                    "shares": {"type": "number", "exclusiveMinimum": 0},
                    "reason": openapi_text("reason"),
                    "source_document_id": {"type": "integer"},
                    "certificate_number": {
                        "type": ["string", "null"],
                        "description": "For the recipient's holding if a new one is made",
                    },
                },
            ),
            "responses": {
                "202": _json(MOVE_SCHEMA, "The pending move request"),
                "404": {"description": "No current holding in reach", **_ERR},
                "422": {"description": "Refused (R10/R11) or bad input", **_ERR},
            },
        }
    },
    "/shares/{holding_uid}/buy-back": {
        "post": {
            "summary": "Request a buy-back into the collective's pool (R10) on a member's exit "
            "decided by the collective or a court ruling; it waits for the bureau's countersign",
            "parameters": [_path_param("holding_uid")],
            "requestBody": _body(
                ["shares", "reason", "source_document_id", "basis"],
                {
                    "basis": MOVE_BASIS,
                    "shares": {"type": "number", "exclusiveMinimum": 0},
                    "reason": openapi_text("reason"),
                    "source_document_id": {"type": "integer"},
                },
            ),
            "responses": {
                "202": _json(MOVE_SCHEMA, "The pending move request"),
                "404": {"description": "No current holding in reach", **_ERR},
                "422": {"description": "No or a wrong legal basis, or bad input", **_ERR},
            },
        }
    },
}
