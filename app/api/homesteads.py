"""JSON API for homestead use rights: the same service functions as the HTML pages.

R07 / R08 / R09 are enforced by grant_homestead (R09's one test is also may_apply_for_homestead's),
existing homesteads (R08) by register_existing_homestead; these endpoints only translate JSON to
those calls and back, and commit once. Another collective's homestead or household is a 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape
from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError
from shapely.geometry import mapping
from sqlalchemy import select

from app.api import bp
from app.api.fields import CodeText, Id, NoteText, Page, Paged, QueryId, Reason, page_of
from app.api.moves import Basis
from app.api.schema import Answer, Body, Query, operation
from app.auth.models import Role
from app.auth.scope import readable, roles_required
from app.core.calendar import county_today
from app.core.codes import format_mu
from app.core.spatial import registry_srid
from app.extensions import db
from app.registry import history, present
from app.registry import homesteads as service
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import TERRAIN_CAPS, Homestead, Household

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)

Terrain = Literal[tuple(sorted(TERRAIN_CAPS))]  # type: ignore[valid-type]
Registration = Literal[tuple(service.REGISTRATIONS)]  # type: ignore[valid-type]
Acquisition = Literal[tuple(service.ACQUISITIONS)]  # type: ignore[valid-type]
Disposal = Literal[tuple(service.DISPOSALS)]  # type: ignore[valid-type]


# --- field types of this module


def _outline(value: Any) -> Any:
    if value is not None and not isinstance(value, dict | str):
        raise ValueError(_("Give the geometry as GeoJSON or WKT."))
    return value


def _crs(value: Any) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise PydanticCustomError("string_type", "not text")
    return value


#: An outline as GeoJSON (object) or WKT (text); the service parses and checks it. One check
#: rather than a union, so a wrong kind is named as the field, not as one of the union's arms.
Outline = Annotated[
    Any,
    BeforeValidator(_outline),
    WithJsonSchema({"type": ["object", "string", "null"], "description": "GeoJSON or WKT polygon"}),
]
#: The outline's CRS ("EPSG:4490" or 4490); required with an outline, never guessed.
OutlineCrs = Annotated[
    Any,
    BeforeValidator(_crs),
    WithJsonSchema(
        {
            "type": ["string", "integer", "null"],
            "description": "The outline's CRS, e.g. EPSG:4490; required with a geometry",
        }
    ),
]
SquareMetres = Annotated[float | None, Field(description="m²")]


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


# --- answers


class HomesteadVersion(Answer):
    version: int
    begin_lifespan: str
    end_lifespan: str | None
    valid_from: date
    valid_to: date | None
    reason: str | None
    changes: list[str] = Field(description="The fields this version changed")
    disposal: str | None
    source_document_id: int | None
    changed_by: str | None


class HomesteadItem(Answer):
    """A homestead use right (宅基地使用权)"""

    homestead_uid: int
    version: int
    is_current: bool
    unit_number: str = Field(description="28-char 不动产单元号 (JC)")
    household_uid: int
    collective_id: int
    approval_number: str | None
    approved_on: date | None
    terrain: Terrain
    terrain_cap_m2: float | None = Field(description="R07 cap for a new approval on the terrain")
    area_m2: float
    area_mu: str
    floor_area_m2: float | None
    disposal: str | None = Field(description="How this version ended (R08 reads it)")
    registration: Registration = Field(
        description="new = granted (新批); existing = 存量, registered as it is (R08)"
    )
    acquired_by: Acquisition
    heir_person_uid: int | None = Field(
        description="An heir who is not a member household here, holding it in person"
    )
    note: str | None = Field(description="The registry's note (附记)")
    begin_lifespan: str
    end_lifespan: str | None
    valid_from: date
    valid_to: date | None
    source_document_id: int | None
    geometry: dict[str, Any] | None = Field(description="GeoJSON in the registry CRS")
    crs: str


class HomesteadRecord(HomesteadItem):
    """The homestead (latest version, current or ended) with its versions"""

    versions: list[HomesteadVersion]


class Homesteads(Page[HomesteadItem]):
    """Current homesteads, by uid"""


class HomesteadEligibility(Answer):
    """R09: whether the household may apply for (or take over) a homestead"""

    household_uid: int
    checked_on: date
    eligible: bool
    reason: str | None = Field(description="Why not, in the caller's language")
    rule: Literal["R09"]


# --- requests


class HomesteadsQuery(Paged):
    collective_id: QueryId = None
    household_uid: QueryId = None


class HomesteadEligibilityQuery(Query):
    on: Annotated[date | None, BeforeValidator(_empty_is_none)] = Field(
        None, description="Day of the membership roll (default today)"
    )


class HomesteadGrant(Body):
    household_uid: Id
    unit_number: CodeText
    terrain: Terrain
    area_m2: float | None = Field(None, description="m²; omitted = measured from the geometry")
    floor_area_m2: SquareMetres = None
    approval_number: CodeText
    approved_on: date
    geometry: Outline = None
    crs: OutlineCrs = None
    source_document_id: Id
    reason: Reason


class HomesteadExisting(Body):
    household_uid: Id
    unit_number: CodeText
    terrain: Terrain
    area_m2: float | None = Field(None, description="m²; omitted = measured from the geometry")
    acquired_by: Acquisition | None = Field(
        None, description="Default approval; inheritance: may be the household's second"
    )
    heir_person_uid: Id | None = None
    heir_id_number: CodeText | None = Field(
        None, description="The heir's ID number (instead of heir_person_uid)"
    )
    floor_area_m2: SquareMetres = None
    approval_number: CodeText | None = None
    approved_on: date | None = None
    geometry: Outline = None
    crs: OutlineCrs = None
    remark: NoteText | None = Field(None, description="Added to the registry's note (附记)")
    source_document_id: Id
    reason: Reason


class HomesteadDispose(Body):
    disposal: Disposal = Field(
        description="sold/transferred/leased/gifted bar a new homestead, paid_exit where the "
        "county says so (R08)"
    )
    reason: Reason
    source_document_id: Id
    basis: Basis | None = Field(
        None,
        description="Needed for sold/leased/gifted/transferred, and only correction (a past "
        "transaction recorded late) or court_ruling is accepted. A sale today goes through the "
        "marketplace; a transfer to a household is a move (POST /moves).",
    )


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


# --- routes

_NOT_FOUND = {404: "Not found or out of reach"}


@bp.get("/homesteads")
@roles_required(*READERS)
@operation(
    "Current homesteads the caller may read, keyset-paged by uid",
    query=HomesteadsQuery,
    answer=Homesteads,
    refusals={422: "Bad query"},
)
def list_homesteads(query: HomesteadsQuery):
    q = select(Homestead).where(
        Homestead.end_lifespan.is_(None),
        readable(current_user, Homestead.collective_id, Homestead.household_uid),
    )
    if query.collective_id is not None:
        q = q.where(Homestead.collective_id == query.collective_id)
    if query.household_uid is not None:
        q = q.where(Homestead.household_uid == query.household_uid)
    if query.cursor is not None:
        q = q.where(Homestead.uid > query.cursor)
    rows = list(db.session.scalars(q.order_by(Homestead.uid).limit(query.limit + 1)))
    page = page_of(rows, query.limit, key=lambda h: h.uid)
    return jsonify({**page, "items": [homestead_json(h) for h in page["items"]]})


@bp.post("/homesteads")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Grant a new homestead (R07 caps on the measured area, R08, R09)",
    body=HomesteadGrant,
    answer=HomesteadRecord,
    status=201,
    refusals={
        404: "No such household in reach",
        422: "Refused (rule R07/R08/R09) or bad input",
    },
)
def grant_homestead(body: HomesteadGrant):
    household = load_current_or_404(Household, body.household_uid, edit=True)
    obj = service.grant_homestead(
        household.uid,
        body.unit_number,
        body.terrain,
        body.area_m2,
        approval_number=body.approval_number,
        approved_on=body.approved_on,
        floor_area_m2=body.floor_area_m2,
        geometry=body.geometry,
        crs=body.crs,
        source_document_id=body.source_document_id,
        reason=body.reason,
    )
    db.session.commit()
    return jsonify(homestead_json(obj, versions=True)), 201


@bp.post("/homesteads/existing")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Register an existing homestead (存量) as it is, with its notes (R08)",
    body=HomesteadExisting,
    answer=HomesteadRecord,
    status=201,
    refusals={
        404: "No such household in reach",
        422: "Refused (rule R07) or bad input",
    },
)
def register_existing_homestead(body: HomesteadExisting):
    household = load_current_or_404(Household, body.household_uid, edit=True)
    obj = service.register_existing_homestead(
        household.uid,
        body.unit_number,
        body.terrain,
        body.area_m2,
        acquired_by=body.acquired_by or "approval",
        heir_person_uid=body.heir_person_uid,
        heir_id_number=body.heir_id_number,
        approval_number=body.approval_number,
        approved_on=body.approved_on,
        floor_area_m2=body.floor_area_m2,
        geometry=body.geometry,
        crs=body.crs,
        remark=body.remark,
        source_document_id=body.source_document_id,
        reason=body.reason,
    )
    db.session.commit()
    return jsonify(homestead_json(obj, versions=True)), 201


@bp.get("/homesteads/<int:homestead_uid>")
@roles_required(*READERS)
@operation(
    "A homestead (latest version, current or ended) with its versions",
    answer=HomesteadRecord,
    refusals=_NOT_FOUND,
)
def get_homestead(homestead_uid: int):
    return jsonify(homestead_json(load_latest_or_404(Homestead, homestead_uid), versions=True))


@bp.post("/homesteads/<int:homestead_uid>/disposal")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Record how a homestead was disposed of; ends its current version",
    target=lambda homestead_uid: load_current_or_404(Homestead, homestead_uid, edit=True),
    body=HomesteadDispose,
    answer=HomesteadRecord,
    refusals={
        404: "No current homestead in reach",
        422: "No or a wrong legal basis, or bad input",
    },
)
def dispose_homestead(homestead_uid: int, target: Homestead, body: HomesteadDispose):
    ended = service.dispose_homestead(
        target.uid,
        body.disposal,
        body.reason,
        body.source_document_id,
        basis=body.basis,
    )
    db.session.commit()
    return jsonify(homestead_json(ended, versions=True))


@bp.get("/households/<int:household_uid>/homestead-eligibility")
@roles_required(*READERS)
@operation(
    "R09: may this household apply for (or take over) a homestead?",
    query=HomesteadEligibilityQuery,
    answer=HomesteadEligibility,
    refusals={**_NOT_FOUND, 422: "The day is not a date"},
)
def homestead_eligibility(household_uid: int, query: HomesteadEligibilityQuery):
    household = load_current_or_404(Household, household_uid)
    on = query.on or county_today()
    eligible, reason = service.may_apply_for_homestead(household.uid, today=on)
    return jsonify(
        household_uid=household.uid,
        checked_on=on.isoformat(),
        eligible=eligible,
        reason=reason or None,
        rule="R09",
    )
