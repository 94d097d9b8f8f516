"""JSON API for homestead use rights: the same service functions as the HTML pages.

R07 / R08 / R09 are enforced by grant_homestead (R09's one test is also may_apply_for_homestead's),
existing homesteads (R08) by register_existing_homestead; these endpoints only translate JSON to
those calls and back, and commit once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import select, true

from app.api import bp
from app.api.core import (  # noqa: F401  (the field parsers are shared with the shares API)
    date_value,
    int_arg,
    int_field,
    json_body,
    limit_arg,
    number_field,
    str_field,
)
from app.auth.models import COUNTY_READERS, Role
from app.auth.scope import can_read, farmer_household_ids, roles_required
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.spatial import registry_srid
from app.extensions import db
from app.registry import history, present
from app.registry import homesteads as service
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404
from app.registry.models import TERRAIN_CAPS, Homestead, Household
from app.registry.versioning import Versioned

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)


# --- request parsing shared with the shares API


def require_id(value: int) -> int:
    """404 for a number in the URL that cannot name a stored object (beyond 32 bits)."""
    if not service.is_id(value):
        abort(404)
    return value


def latest_or_404(model: type[Versioned], uid: int) -> Any:
    obj = service.latest_version(model, uid)
    if obj is None or not can_read(current_user, obj):
        abort(404)
    return obj


# --- serialisation


def homestead_json(h: Homestead, *, versions: bool = False) -> dict:
    out = {
        "homestead_uid": h.uid,
        "version": h.version,
        "is_current": h.is_current,
        "unit_number": h.unit_number,
        "household_uid": h.household_uid,
        "collective_id": h.collective_id,
        "approval_number": h.approval_number,
        "approved_on": h.approved_on.isoformat() if h.approved_on else None,
        "terrain": h.terrain,
        "terrain_cap_m2": TERRAIN_CAPS.get(h.terrain),
        "area_m2": h.area_m2,
        "area_mu": format_mu(h.area_m2),
        "floor_area_m2": h.floor_area_m2,
        "disposal": h.disposal,
        "registration": h.registration,
        "acquired_by": h.acquired_by,
        "heir_person_uid": h.heir_person_uid,
        "note": h.note,
        "begin_lifespan": h.begin_lifespan.isoformat(),
        "end_lifespan": h.end_lifespan.isoformat() if h.end_lifespan else None,
        "valid_from": h.valid_from.isoformat(),
        "valid_to": h.valid_to.isoformat() if h.valid_to else None,
        "source_document_id": h.source_document_id,
        "geometry": mapping(to_shape(h.geom)) if h.geom is not None else None,
        "crs": f"EPSG:{registry_srid()}",
    }
    if versions:
        out["versions"] = [
            {
                "version": v.version,
                "begin_lifespan": v.begin_lifespan.isoformat(),
                "end_lifespan": v.end_lifespan.isoformat() if v.end_lifespan else None,
                "valid_from": v.valid_from.isoformat(),
                "valid_to": v.valid_to.isoformat() if v.valid_to else None,
                "reason": present.mask_ids_in_text(v.change_reason, current_user),
                "changes": sorted(history.diff(prev, v)) if prev is not None else [],
                "disposal": v.disposal,
                "source_document_id": v.source_document_id,
                "changed_by": v.changed_by,
            }
            for prev, v in _pairs(history.versions(Homestead, h.uid))
        ]
    return out


def _pairs(items: list) -> list[tuple[Any, Any]]:
    return list(zip([None, *items[:-1]], items, strict=True))


def _scope(column: Any) -> Any:
    """SQL condition: homesteads the caller may read."""
    role = Role(current_user.role)
    if role in COUNTY_READERS:
        return true()
    if role == Role.COLLECTIVE_ADMIN:
        return column.in_(sorted(current_user.collective_ids) or [-1])
    return Homestead.household_uid.in_(sorted(farmer_household_ids(current_user)) or [-1])


# --- routes


@bp.get("/homesteads")
@roles_required(*READERS)
def list_homesteads():
    limit = limit_arg()
    q = select(Homestead).where(Homestead.end_lifespan.is_(None), _scope(Homestead.collective_id))
    for name, column in (
        ("collective_id", Homestead.collective_id),
        ("household_uid", Homestead.household_uid),
    ):
        value = int_arg(name)
        if value is not None:
            q = q.where(column == value)
    after = int_arg("cursor")
    if after is not None:
        q = q.where(Homestead.uid > after)
    rows = list(db.session.scalars(q.order_by(Homestead.uid).limit(limit + 1)))
    page = rows[:limit]
    return jsonify(
        items=[homestead_json(h) for h in page],
        next=str(page[-1].uid) if len(rows) > limit else None,
    )


@bp.post("/homesteads")
@roles_required(Role.COLLECTIVE_ADMIN)
def grant_homestead():
    body = json_body()
    household = load_current_or_404(Household, int_field(body, "household_uid"), edit=True)
    geometry = body.get("geometry")
    if geometry is not None and not isinstance(geometry, dict | str):
        raise DomainError(
            "geometry_unreadable", _("Give the geometry as GeoJSON or WKT."), field="geometry"
        )
    crs = body.get("crs")
    if crs is not None and (isinstance(crs, bool) or not isinstance(crs, str | int)):
        raise DomainError("body", _("%(name)s must be text.", name="crs"), field="crs")
    obj = service.grant_homestead(
        household.uid,
        str_field(body, "unit_number"),
        str_field(body, "terrain"),
        number_field(body, "area_m2"),
        approval_number=str_field(body, "approval_number"),
        approved_on=date_value(body.get("approved_on"), "approved_on"),
        floor_area_m2=number_field(body, "floor_area_m2"),
        geometry=geometry,
        crs=crs,
        source_document_id=int_field(body, "source_document_id", required=False),
        reason=str_field(body, "reason"),
    )
    db.session.commit()
    return jsonify(homestead_json(obj, versions=True)), 201


@bp.post("/homesteads/existing")
@roles_required(Role.COLLECTIVE_ADMIN)
def register_existing_homestead():
    body = json_body()
    household = load_current_or_404(Household, int_field(body, "household_uid"), edit=True)
    geometry, crs = _geometry_fields(body)
    obj = service.register_existing_homestead(
        household.uid,
        str_field(body, "unit_number"),
        str_field(body, "terrain"),
        number_field(body, "area_m2"),
        acquired_by=str_field(body, "acquired_by") or "approval",
        heir_person_uid=int_field(body, "heir_person_uid", required=False),
        heir_id_number=str_field(body, "heir_id_number"),
        approval_number=str_field(body, "approval_number"),
        approved_on=date_value(body.get("approved_on"), "approved_on"),
        floor_area_m2=number_field(body, "floor_area_m2"),
        geometry=geometry,
        crs=crs,
        remark=str_field(body, "remark"),
        source_document_id=int_field(body, "source_document_id", required=False),
        reason=str_field(body, "reason"),
    )
    db.session.commit()
    return jsonify(homestead_json(obj, versions=True)), 201


def _geometry_fields(body: dict) -> tuple[Any, Any]:
    geometry = body.get("geometry")
    if geometry is not None and not isinstance(geometry, dict | str):
        raise DomainError(
            "geometry_unreadable", _("Give the geometry as GeoJSON or WKT."), field="geometry"
        )
    crs = body.get("crs")
    if crs is not None and (isinstance(crs, bool) or not isinstance(crs, str | int)):
        raise DomainError("body", _("%(name)s must be text.", name="crs"), field="crs")
    return geometry, crs


@bp.get("/homesteads/<int:homestead_uid>")
@roles_required(*READERS)
def get_homestead(homestead_uid: int):
    return jsonify(homestead_json(latest_or_404(Homestead, homestead_uid), versions=True))


@bp.post("/homesteads/<int:homestead_uid>/disposal")
@roles_required(Role.COLLECTIVE_ADMIN)
def dispose_homestead(homestead_uid: int):
    obj = load_current_or_404(Homestead, require_id(homestead_uid), edit=True)
    body = json_body()
    ended = service.dispose_homestead(
        obj.uid,
        str_field(body, "disposal"),
        str_field(body, "reason"),
        int_field(body, "source_document_id", required=False),
        basis=str_field(body, "basis"),
    )
    db.session.commit()
    return jsonify(homestead_json(ended, versions=True))


@bp.get("/households/<int:household_uid>/homestead-eligibility")
@roles_required(*READERS)
def homestead_eligibility(household_uid: int):
    household = load_current_or_404(Household, require_id(household_uid))
    on = date_value(request.args.get("on"), "on") or date.today()
    eligible, reason = service.may_apply_for_homestead(household.uid, today=on)
    return jsonify(
        household_uid=household.uid,
        checked_on=on.isoformat(),
        eligible=eligible,
        reason=reason or None,
        rule="R09",
    )


# --- OpenAPI

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UID = {"type": "integer", "minimum": 1}


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": _UID}


HOMESTEAD_SCHEMA = {
    "type": "object",
    "properties": {
        "homestead_uid": {"type": "integer"},
        "version": {"type": "integer"},
        "is_current": {"type": "boolean"},
        "unit_number": {"type": "string", "description": "28-char 不动产单元号 (JC)"},
        "household_uid": {"type": "integer"},
        "collective_id": {"type": "integer"},
        "approval_number": {"type": ["string", "null"]},
        "approved_on": {"type": ["string", "null"], "format": "date"},
        "terrain": {"type": "string", "enum": sorted(TERRAIN_CAPS)},
        "terrain_cap_m2": {"type": "number"},
        "area_m2": {"type": "number"},
        "area_mu": {"type": "string"},
        "floor_area_m2": {"type": ["number", "null"]},
        "disposal": {"type": ["string", "null"]},
        "registration": {
            "type": "string",
            "enum": list(service.REGISTRATIONS),
            "description": "new = granted (新批); existing = 存量, registered as it is (R08)",
        },
        "acquired_by": {"type": "string", "enum": list(service.ACQUISITIONS)},
        "heir_person_uid": {
            "type": ["integer", "null"],
            "description": "An heir who is not a member household here, holding it in person",
        },
        "note": {"type": ["string", "null"], "description": "The registry's note (附记)"},
        "begin_lifespan": {"type": "string"},
        "end_lifespan": {"type": ["string", "null"]},
        "valid_from": {"type": "string", "format": "date"},
        "valid_to": {"type": ["string", "null"], "format": "date"},
        "source_document_id": {"type": ["integer", "null"]},
        "geometry": {"type": ["object", "null"], "description": "GeoJSON in the registry CRS"},
        "crs": {"type": "string"},
        "versions": {"type": "array", "items": {"type": "object"}},
    },
}

OPENAPI_PATHS = {
    "/homesteads": {
        "get": {
            "summary": "Current homesteads the caller may read, keyset-paged by uid",
            "parameters": [
                {"name": "collective_id", "in": "query", "schema": _UID},
                {"name": "household_uid", "in": "query", "schema": _UID},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}},
            ],
            "responses": {
                "200": {
                    "description": "{items, next}",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": HOMESTEAD_SCHEMA},
                                    "next": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                "422": {"description": "Bad query", **_ERR},
            },
        },
        "post": {
            "summary": "Grant a new homestead (R07 caps on the measured area, R08, R09)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "household_uid",
                                "unit_number",
                                "terrain",
                                "approval_number",
                                "approved_on",
                                "source_document_id",
                                "reason",
                            ],
                            "properties": {
                                "household_uid": {"type": "integer"},
                                "unit_number": {"type": "string"},
                                "terrain": {"type": "string", "enum": sorted(TERRAIN_CAPS)},
                                "area_m2": {
                                    "type": ["number", "null"],
                                    "description": "m²; omitted = measured from the geometry",
                                },
                                "floor_area_m2": {"type": ["number", "null"]},
                                "approval_number": {"type": "string"},
                                "approved_on": {"type": "string", "format": "date"},
                                "geometry": {
                                    "type": ["object", "string", "null"],
                                    "description": "GeoJSON or WKT polygon",
                                },
                                "crs": {
                                    "type": ["string", "integer", "null"],
                                    "description": "Required with a geometry, e.g. EPSG:4490",
                                },
                                "source_document_id": {"type": "integer"},
                                "reason": openapi_text("reason"),
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "The new homestead",
                    "content": {"application/json": {"schema": HOMESTEAD_SCHEMA}},
                },
                "404": {"description": "No such household in reach", **_ERR},
                "422": {"description": "Refused (rule R07/R08) or bad input", **_ERR},
            },
        },
    },
    "/homesteads/existing": {
        "post": {
            "summary": "Register an existing homestead (存量) as it is, with its notes (R08)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "household_uid",
                                "unit_number",
                                "terrain",
                                "source_document_id",
                                "reason",
                            ],
                            "properties": {
                                "household_uid": {"type": "integer"},
                                "unit_number": {"type": "string"},
                                "terrain": {"type": "string", "enum": sorted(TERRAIN_CAPS)},
                                "area_m2": {
                                    "type": ["number", "null"],
                                    "description": "m²; omitted = measured from the geometry",
                                },
                                "acquired_by": {
                                    "type": "string",
                                    "enum": list(service.ACQUISITIONS),
                                    "description": "inheritance: may be the household's second",
                                },
                                "heir_person_uid": {"type": ["integer", "null"]},
                                "heir_id_number": {
                                    "type": ["string", "null"],
                                    "description": "The heir's ID number (instead of the uid)",
                                },
                                "floor_area_m2": {"type": ["number", "null"]},
                                "approval_number": {"type": ["string", "null"]},
                                "approved_on": {"type": ["string", "null"], "format": "date"},
                                "geometry": {
                                    "type": ["object", "string", "null"],
                                    "description": "GeoJSON or WKT polygon",
                                },
                                "crs": {"type": ["string", "integer", "null"]},
                                "remark": openapi_text("note"),
                                "source_document_id": {"type": "integer"},
                                "reason": openapi_text("reason"),
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "The registered homestead",
                    "content": {"application/json": {"schema": HOMESTEAD_SCHEMA}},
                },
                "404": {"description": "No such household in reach", **_ERR},
                "422": {"description": "Refused (rule R07) or bad input", **_ERR},
            },
        }
    },
    "/homesteads/{homestead_uid}": {
        "get": {
            "summary": "A homestead (latest version, current or ended) with its versions",
            "parameters": [_path_param("homestead_uid")],
            "responses": {
                "200": {
                    "description": "The homestead",
                    "content": {"application/json": {"schema": HOMESTEAD_SCHEMA}},
                },
                "404": {"description": "Not found or out of reach", **_ERR},
            },
        }
    },
    "/homesteads/{homestead_uid}/disposal": {
        "post": {
            "summary": "Record how a homestead was disposed of; ends its current version",
            "parameters": [_path_param("homestead_uid")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["disposal", "reason", "source_document_id"],
                            "properties": {
                                "disposal": {
                                    "type": "string",
                                    "enum": list(service.DISPOSALS),
                                    "description": "sold/transferred/leased/gifted bar a new "
                                    "homestead, paid_exit where the county says so (R08)",
                                },
                                "reason": openapi_text("reason"),
                                "source_document_id": {"type": "integer"},
                                "basis": {
                                    "type": "string",
                                    "enum": ["correction", "court_ruling"],
                                    "description": "Needed for sold/leased/gifted/transferred: "
                                    "a past transaction recorded as a correction, or a court "
                                    "ruling. A sale today goes through the marketplace; a "
                                    "transfer to a household is a move (POST /moves).",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The ended version",
                    "content": {"application/json": {"schema": HOMESTEAD_SCHEMA}},
                },
                "404": {"description": "No current homestead in reach", **_ERR},
                "422": {"description": "Bad input", **_ERR},
            },
        }
    },
    "/households/{household_uid}/homestead-eligibility": {
        "get": {
            "summary": "R09: may this household apply for (or take over) a homestead?",
            "parameters": [
                _path_param("household_uid"),
                {
                    "name": "on",
                    "in": "query",
                    "schema": {"type": "string", "format": "date"},
                    "description": "Day of the membership roll (default today)",
                },
            ],
            "responses": {
                "200": {
                    "description": "{household_uid, checked_on, eligible, reason, rule}",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "household_uid": {"type": "integer"},
                                    "checked_on": {"type": "string", "format": "date"},
                                    "eligible": {"type": "boolean"},
                                    "reason": {"type": ["string", "null"]},
                                    "rule": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "404": {"description": "Not found or out of reach", **_ERR},
            },
        }
    },
}
