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
    require_id,
    str_field,
)
from app.api.moves import BASIS as MOVE_BASIS
from app.api.moves import MOVE_SCHEMA, move_json
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.numbers import fixed
from app.divisions.models import Collective
from app.extensions import db
from app.registry import shares as service
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404
from app.registry.models import ShareHolding

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
REGISTER_READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


def shares_text(value) -> str | None:
    """Shares in JSON: an exact decimal string with four places ("12.5000"), never a float."""
    return fixed(value, service.SHARE_PLACES)


def percent_text(part, whole) -> str | None:
    """A share of the total in percent, rounded to four places, as a decimal string."""
    return fixed(100 * part / whole, 4) if whole else None


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
        "shares": shares_text(h.shares),
        "percent_of_total": percent_text(h.shares, register.total_shares) if register else None,
        "share_type": h.share_type,
        "certificate_number": h.certificate_number,
        "begin_lifespan": h.begin_lifespan.isoformat(),
        "end_lifespan": h.end_lifespan.isoformat() if h.end_lifespan else None,
        "valid_from": h.valid_from.isoformat(),
        "valid_to": h.valid_to.isoformat() if h.valid_to else None,
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
        "total_shares": shares_text(total),
        "allocated": shares_text(allocated),
        "pool": shares_text(pool),
        "cap_percent": fixed(percent, 2),
        "cap_shares": shares_text(service.cap_shares(total, percent)),
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
    _allocated, _pool, total = service.conservation_check(collective.id)
    cap = service.cap_shares(total, service.cap_percent(collective))
    out["items"] = [
        {
            "household_uid": r.holder.household_uid,
            "person_uid": r.holder.person_uid,
            "name": r.name,
            "shares": shares_text(r.total),
            "percent_of_total": percent_text(r.total, total),
            "cap_group_shares": shares_text(r.group_total),
            "at_or_above_cap": r.group_total >= cap,
            "holdings": [
                {
                    "holding_uid": h.uid,
                    "shares": shares_text(h.shares),
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
        body.get("total_shares"),
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
        shares=body.get("shares"),
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
        shares=body.get("shares"),
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
        body.get("shares"),
        reason=str_field(body, "reason"),
        source_document_id=int_field(body, "source_document_id", required=False),
        basis=str_field(body, "basis"),
    )
    db.session.commit()
    return jsonify(move_json(move)), 202


# --- OpenAPI

#: Shares are exact decimals: answered as strings with four places, taken as a string (exact)
#: or a JSON number (read as written; more than 15 significant digits must be a string).
SHARES_OUT = {
    "type": "string",
    "pattern": r"^\d+\.\d{4}$",
    "description": 'Exact decimal number of shares, four places (e.g. "12.5000")',
}
SHARES_IN = {
    "oneOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d{1,4})?\s*$"},
        {"type": "number", "exclusiveMinimum": 0},
    ],
    "description": "Positive number of shares, at most four decimal places. Send it as a "
    "decimal string to keep it exact; a JSON number is read as written and refused if it "
    "has more than 15 significant digits.",
}
PERCENT_OUT = {
    "type": ["string", "null"],
    "pattern": r"^\d+\.\d{4}$",
    "description": "Percent of the collective's fixed total, rounded to four places",
}

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
        "shares": SHARES_OUT,
        "percent_of_total": PERCENT_OUT,
        "share_type": {"type": "string", "enum": sorted(service.SHARE_TYPES)},
        "certificate_number": {"type": ["string", "null"]},
        "begin_lifespan": {"type": "string"},
        "end_lifespan": {"type": ["string", "null"]},
        "valid_from": {"type": "string", "format": "date"},
        "valid_to": {"type": ["string", "null"], "format": "date"},
        "source_document_id": {"type": ["integer", "null"]},
    },
}
REGISTER_SCHEMA = {
    "type": "object",
    "properties": {
        "collective_id": {"type": "integer"},
        "fixed": {"type": "boolean"},
        "fixed_on": {"type": ["string", "null"], "format": "date"},
        "total_shares": {**SHARES_OUT, "description": "The fixed total (0.0000 if not fixed)"},
        "allocated": SHARES_OUT,
        "pool": {**SHARES_OUT, "description": "The collective's unallocated shares"},
        "cap_percent": {
            "type": "string",
            "pattern": r"^\d+\.\d{2}$",
            "description": "R11 per-holder cap in percent, exact decimal string",
        },
        "cap_shares": {
            **SHARES_OUT,
            "description": "R11: the most shares a holder may hold (total × percent / 100, "
            "rounded down to four places); a household and its own members count together",
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "household_uid": {"type": ["integer", "null"]},
                    "person_uid": {"type": ["integer", "null"]},
                    "name": {"type": "string"},
                    "shares": SHARES_OUT,
                    "percent_of_total": PERCENT_OUT,
                    "cap_group_shares": {
                        **SHARES_OUT,
                        "description": "R11: what the holder holds together with its household "
                        "and the household's members (what the cap is checked against)",
                    },
                    "at_or_above_cap": {"type": "boolean"},
                    "holdings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "holding_uid": {"type": "integer"},
                                "shares": SHARES_OUT,
                                "share_type": {"type": "string"},
                                "certificate_number": {"type": ["string", "null"]},
                            },
                        },
                    },
                },
            },
        },
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
                    "total_shares": SHARES_IN,
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
                    "shares": SHARES_IN,
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
                    "shares": SHARES_IN,
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
                    "shares": SHARES_IN,
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
