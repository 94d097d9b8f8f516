"""JSON API for contracted land: contracts, plots, geometry findings, history.

The same service functions as the HTML pages (app.registry.land); errors come back as
{"error": {...}} with 422, and an invalid geometry adds its reason, location and whether a repair
is on offer.
"""

from __future__ import annotations

from typing import Any

import shapely
from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import select

from app.api import bp
from app.api.core import bool_field as _bool_field
from app.api.core import int_arg as _int_arg
from app.api.core import int_field as _int_field
from app.api.core import json_body
from app.api.core import limit_arg as _limit
from app.api.core import number_field as _num_field
from app.api.core import openapi_json as _json
from app.api.core import openapi_path as _path
from app.api.core import str_field as _str_field
from app.auth.models import COUNTY_READERS, Role
from app.auth.scope import can_edit, can_read, farmer_household_ids, load_or_404, roles_required
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.i18n import pick
from app.core.models import iso
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.registry import history, land, plot_changes, present
from app.registry.documents import documents_by_id
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    Certificate,
    GeometryFinding,
    Household,
    LandContract,
    Plot,
)

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
STAFF = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


# --------------------------------------------------------------------------------------------
# Request helpers
# --------------------------------------------------------------------------------------------


def _geometry_field(body: dict) -> Any:
    value = body.get("geometry")
    if not isinstance(value, dict | str):
        raise DomainError(
            "geometry_required",
            _("Give the plot's geometry as a GeoJSON object."),
            field="geometry",
        )
    return value


def _crs_field(body: dict) -> Any:
    value = body.get("crs")
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise DomainError("body", _("%(name)s must be text.", name="crs"), field="crs")
    return value


def _reachable_collective(collective_id: int | None) -> Collective | None:
    return load_or_404(Collective, collective_id) if collective_id is not None else None


def _scope(query: Any, model: Any) -> Any:
    """Limit a query of contracts or plots to what the caller may read."""
    role = Role(current_user.role)
    if role in COUNTY_READERS:
        return query
    if role == Role.COLLECTIVE_ADMIN:
        return query.where(model.collective_id.in_(sorted(current_user.collective_ids) or [0]))
    return query.where(model.household_uid.in_(sorted(farmer_household_ids(current_user)) or [0]))


# --------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------


def _area(m2: float | None) -> dict | None:
    return None if m2 is None else {"m2": round(m2, 2), "mu": format_mu(m2)}


def contract_json(c: LandContract, *, plots: list[Plot] | None = None) -> dict:
    out = {
        "contract_uid": c.uid,
        "version": c.version,
        "cbhtbm": c.cbhtbm,
        "household_uid": c.household_uid,
        "collective_id": c.collective_id,
        "term_start": c.term_start.isoformat(),
        "term_end": c.term_end.isoformat(),
        "contract_area": _area(c.contract_area_m2),
        "status": c.status,
        "land_type": c.land_type,
        "method": c.method,
        "current": c.end_lifespan is None,
        "begin_lifespan": iso(c.begin_lifespan),
        "valid_from": iso(c.valid_from),
        "valid_to": iso(c.valid_to),
    }
    if plots is not None:
        out["plots"] = [plot_json(p, geometry=False) for p in plots]
    return out


def plot_json(p: Plot, *, geometry: bool = True, crs: Any = None) -> dict:
    out = {
        "plot_uid": p.uid,
        "version": p.version,
        "dkbm": p.dkbm,
        "collective_id": p.collective_id,
        "contract_uid": p.contract_uid,
        "household_uid": p.household_uid,
        "name": p.name,
        "land_class": p.land_class,
        "land_use": p.land_use,
        "is_basic_farmland": bool(p.is_basic_farmland),
        "contract_area": _area(p.contract_area_m2),
        "measured_area": _area(p.measured_area_m2),
        "boundaries": {"east": p.east, "south": p.south, "west": p.west, "north": p.north},
        "current": p.end_lifespan is None,
        "begin_lifespan": iso(p.begin_lifespan),
        "valid_from": iso(p.valid_from),
        "valid_to": iso(p.valid_to),
    }
    if geometry:
        shape = to_shape(p.geom) if p.geom is not None else None
        target = f"EPSG:{registry_srid()}"
        if shape is not None and crs:
            try:
                transformer = geo.get_transformer(registry_srid(), crs)
            except geo.GeoError as exc:
                raise DomainError.from_check(exc, field="crs") from exc
            shape = shapely.transform(shape, transformer.transform, interleaved=False)
            target = crs
        out["geometry"] = mapping(shape) if shape is not None else None
        out["crs"] = target
    return out


def finding_json(
    f: GeometryFinding, codes: dict[int, str] | None = None, *, collective_id: int | None = None
) -> dict:
    """A finding; ``codes`` names the plots the caller may read. A finding of another
    collective than ``collective_id`` (the plot's being shown) that the caller may not read
    keeps its decision text and decider to itself."""
    codes = codes or {}
    own = f.collective_id == collective_id or can_read(current_user, f)
    return {
        "finding_id": f.id,
        "collective_id": f.collective_id,
        "kind": f.kind,
        "plot_uid": f.plot_uid if own or f.plot_uid in codes else None,
        "plot_dkbm": codes.get(f.plot_uid),
        "other_plot_uid": f.other_plot_uid if f.other_plot_uid in codes else None,
        "other_plot_dkbm": codes.get(f.other_plot_uid) if f.other_plot_uid else None,
        "overlap_m2": f.overlap_m2,
        "state": f.state,
        "found_at": iso(f.found_at),
        "decided_by": f.decided_by if own else None,
        "decision_reason": f.decision_reason if own else None,
    }


def _plain(key: str, value: Any) -> Any:
    if key == "geom":
        return None if value is None else "(geometry)"
    return iso(value)


def history_json(model: type, uid: int) -> dict:
    """Every version of an object with its diff against the previous one, each with its legal
    time (valid_from / valid_to) and record time (the lifespans); ``?as_of=`` picks the version in
    legal effect on that day, or with ``&time=recorded`` (auditor, bureau) the version recorded
    as current at that date (or date-time)."""
    versions = history.versions(model, uid)
    if not versions or not can_read(current_user, versions[-1]):
        abort(404)
    docs = documents_by_id([v.source_document_id for v in versions])
    items = []
    previous = None
    for v in versions:
        changes = history.diff(previous, v)
        doc = docs.get(v.source_document_id) if v.source_document_id else None
        items.append(
            {
                "version": v.version,
                "begin_lifespan": iso(v.begin_lifespan),
                "end_lifespan": iso(v.end_lifespan),
                "valid_from": iso(v.valid_from),
                "valid_to": iso(v.valid_to),
                "change_reason": present.mask_ids_in_text(v.change_reason, current_user),
                "changed_by": v.changed_by,
                "source_document_id": v.source_document_id,
                "source_document_sha256": doc.sha256 if doc else None,
                "changes": {
                    k: [_plain(k, before) if previous is not None else None, _plain(k, after)]
                    for k, (before, after) in changes.items()
                },
            }
        )
        previous = v
    out: dict[str, Any] = {"uid": uid, "versions": items}
    raw = request.args.get("as_of")
    when = land.parse_as_of(raw, request.args.get("time"), user=current_user)
    if when is not None:
        hit = when.find(model, uid)
        out["as_of"] = raw
        out["time"] = "recorded" if when.recorded else "legal"
        out["version_as_of"] = (
            None
            if hit is None
            else {"version": hit.version, **{k: _plain(k, v) for k, v in hit.content().items()}}
        )
    return out


def _codes(uids: set[int | None]) -> dict[int, str]:
    """Codes of the plots the caller may read (another collective's plot stays unnamed)."""
    return present.readable_plot_codes(current_user, uids)


def _change_json(change: land.PlotChange) -> dict:
    codes = _codes({f.other_plot_uid for f in change.findings} | {change.plot.uid})
    return {
        "plot": plot_json(change.plot),
        "findings": [
            finding_json(f, codes, collective_id=change.plot.collective_id) for f in change.findings
        ],
        "warnings": [
            {"code": w.code, "message": pick(w.message_zh, w.message_en)} for w in change.warnings
        ],
        "repaired": change.repaired,
    }


# --------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------


@bp.get("/contracts")
@roles_required(*READERS)
def list_contracts():
    limit = _limit()
    q = select(LandContract).where(LandContract.end_lifespan.is_(None))
    collective = _reachable_collective(_int_arg("collective_id"))
    if collective is not None:
        q = q.where(LandContract.collective_id == collective.id)
    household_uid = _int_arg("household_uid")
    if household_uid is not None:
        q = q.where(LandContract.household_uid == household_uid)
    after = _int_arg("cursor")
    if after is not None:
        q = q.where(LandContract.uid > after)
    rows = list(
        db.session.scalars(_scope(q, LandContract).order_by(LandContract.uid).limit(limit + 1))
    )
    page = rows[:limit]
    return jsonify(
        items=[contract_json(c) for c in page],
        next=str(page[-1].uid) if len(rows) > limit else None,
    )


@bp.post("/contracts")
@roles_required(Role.COLLECTIVE_ADMIN)
def create_contract():
    body = json_body()
    household = load_current_or_404(Household, _int_field(body, "household_uid"), edit=True)
    contract = land.create_contract(
        household.uid,
        _str_field(body, "term_start"),
        _str_field(body, "term_end"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        reason=_str_field(body, "reason"),
        land_type=_str_field(body, "land_type") or "arable",
        method=_str_field(body, "method") or "household",
    )
    db.session.commit()
    return jsonify(contract_json(contract, plots=[])), 201


@bp.get("/contracts/<int:contract_uid>")
@roles_required(*READERS)
def get_contract(contract_uid: int):
    contract = load_current_or_404(LandContract, contract_uid)
    out = contract_json(contract, plots=land.contract_plots(contract.uid))
    out["renewal"] = land.renewal_window(contract).as_dict()  # R02, as on the contract page
    cert = db.session.scalar(
        select(Certificate).where(
            Certificate.right_uid == contract.uid, Certificate.status == "valid"
        )
    )
    out["certificate"] = (
        None
        if cert is None
        else {"certificate_id": cert.id, "number": cert.number, "issued_on": iso(cert.issued_on)}
    )
    return jsonify(out)


@bp.get("/contracts/<int:contract_uid>/history")
@roles_required(*READERS)
def contract_history(contract_uid: int):
    load_latest_or_404(LandContract, contract_uid)
    return jsonify(history_json(LandContract, contract_uid))


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


@bp.get("/plots")
@roles_required(*READERS)
def list_plots():
    limit = _limit()
    q = select(Plot).where(Plot.end_lifespan.is_(None))
    collective = _reachable_collective(_int_arg("collective_id"))
    if collective is not None:
        q = q.where(Plot.collective_id == collective.id)
    contract_uid = _int_arg("contract_uid")
    if contract_uid is not None:
        q = q.where(Plot.contract_uid == contract_uid)
    after = _int_arg("cursor")
    if after is not None:
        q = q.where(Plot.uid > after)
    rows = list(db.session.scalars(_scope(q, Plot).order_by(Plot.uid).limit(limit + 1)))
    page = rows[:limit]
    return jsonify(
        items=[plot_json(p, geometry=False) for p in page],
        next=str(page[-1].uid) if len(rows) > limit else None,
    )


@bp.post("/plots")
@roles_required(Role.COLLECTIVE_ADMIN)
def create_plot():
    body = json_body()
    collective = load_or_404(Collective, _int_field(body, "collective_id"))
    if not can_edit(current_user, collective):
        abort(404)
    change = land.add_plot(
        collective.id,
        _str_field(body, "dkbm"),
        _geometry_field(body),
        _crs_field(body),
        contract_uid=_int_field(body, "contract_uid", required=False),
        name=_str_field(body, "name"),
        land_class=_str_field(body, "land_class") or "10",
        land_use=_str_field(body, "land_use"),
        is_basic_farmland=_bool_field(body, "is_basic_farmland"),
        contract_area_m2=_num_field(body, "contract_area_m2"),
        measured_area_m2=_num_field(body, "measured_area_m2"),
        east=_str_field(body, "east"),
        south=_str_field(body, "south"),
        west=_str_field(body, "west"),
        north=_str_field(body, "north"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        reason=_str_field(body, "reason"),
        accept_repair=_bool_field(body, "accept_repair"),
    )
    db.session.commit()
    return jsonify(_change_json(change)), 201


@bp.get("/plots/<int:plot_uid>")
@roles_required(*READERS)
def get_plot(plot_uid: int):
    plot = load_current_or_404(Plot, plot_uid)
    out = plot_json(plot, crs=request.args.get("crs") or None)
    findings = land.findings_of_plot(plot.uid)
    codes = _codes({f.other_plot_uid for f in findings} | {f.plot_uid for f in findings})
    out["findings"] = [finding_json(f, codes, collective_id=plot.collective_id) for f in findings]
    if can_edit(current_user, plot):  # the contracts the plot page's form offers
        out["contract_candidates"] = [
            c.as_dict() for c in land.contract_candidates(plot.collective_id)
        ]
    return jsonify(out)


@bp.post("/plots/<int:plot_uid>/geometry")
@roles_required(Role.COLLECTIVE_ADMIN)
def revise_plot_geometry(plot_uid: int):
    plot = load_current_or_404(Plot, plot_uid, edit=True)
    body = json_body()
    change = land.update_plot_geometry(
        plot.uid,
        _geometry_field(body),
        _crs_field(body),
        source_document_id=_int_field(body, "source_document_id", required=False),
        reason=_str_field(body, "reason"),
        measured_area_m2=_num_field(body, "measured_area_m2"),
        accept_repair=_bool_field(body, "accept_repair"),
    )
    db.session.commit()
    return jsonify(_change_json(change)), 200


def _plots_changed_json(done: plot_changes.PlotsChanged) -> dict:
    return {
        "ended": [plot_json(p, geometry=False) for p in done.ended],
        "created": [_change_json(c) for c in done.created],
    }


@bp.post("/plots/<int:plot_uid>/split")
@roles_required(Role.COLLECTIVE_ADMIN)
def split_plot(plot_uid: int):
    plot = load_current_or_404(Plot, plot_uid, edit=True)
    body = json_body()
    parts = body.get("parts")
    if not isinstance(parts, dict | list | str):
        raise DomainError("parts_required", _("Give the new plots' boundaries."), field="parts")
    areas = body.get("contract_areas")
    if areas is not None and not isinstance(areas, list):
        raise DomainError(
            "contract_areas", _("Give one contract area for each new plot."), field="contract_areas"
        )
    done = plot_changes.split_plot(
        plot.uid,
        parts,
        _crs_field(body),
        source_document_id=_int_field(body, "source_document_id", required=False),
        reason=_str_field(body, "reason"),
        contract_areas=areas,
        accept_repair=_bool_field(body, "accept_repair"),
    )
    db.session.commit()
    return jsonify(_plots_changed_json(done)), 201


@bp.post("/plots/merge")
@roles_required(Role.COLLECTIVE_ADMIN)
def merge_plots():
    body = json_body()
    uids = body.get("plot_uids")
    if not isinstance(uids, list) or not all(
        isinstance(u, int) and not isinstance(u, bool) for u in uids
    ):
        raise DomainError(
            "plots_count",
            _("Choose 2 to %(n)s plots to merge.", n=plot_changes.MAX_PARTS),
            field="plot_uids",
        )
    for uid in uids[: plot_changes.MAX_PARTS + 1]:  # another collective's plot does not exist
        load_current_or_404(Plot, uid, edit=True)
    done = plot_changes.merge_plots(
        uids,
        source_document_id=_int_field(body, "source_document_id", required=False),
        reason=_str_field(body, "reason"),
        name=_str_field(body, "name"),
    )
    db.session.commit()
    return jsonify(_plots_changed_json(done)), 201


@bp.get("/plots/<int:plot_uid>/history")
@roles_required(*READERS)
def plot_history(plot_uid: int):
    load_latest_or_404(Plot, plot_uid)
    return jsonify(history_json(Plot, plot_uid))


# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------


@bp.get("/collectives/<int:collective_id>/findings")
@roles_required(*STAFF)
def list_findings(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    limit = _limit()
    state = request.args.get("state") or None
    if state is not None and state not in land.FINDING_STATES:
        raise DomainError(
            "query",
            _("state must be one of %(states)s.", states=", ".join(land.FINDING_STATES)),
            field="state",
        )
    q = select(GeometryFinding).where(GeometryFinding.collective_id == collective.id)
    if state:
        q = q.where(GeometryFinding.state == state)
    after = _int_arg("cursor")
    if after is not None:
        q = q.where(GeometryFinding.id > after)
    rows = list(db.session.scalars(q.order_by(GeometryFinding.id).limit(limit + 1)))
    page = rows[:limit]
    codes = _codes({f.plot_uid for f in page} | {f.other_plot_uid for f in page})
    return jsonify(
        items=[finding_json(f, codes) for f in page],
        next=str(page[-1].id) if len(rows) > limit else None,
    )


@bp.post("/findings/<int:finding_id>/decision")
@roles_required(Role.COLLECTIVE_ADMIN)
def decide_finding(finding_id: int):
    finding = load_or_404(GeometryFinding, finding_id)
    if not can_edit(current_user, finding):
        abort(404)
    body = json_body()
    finding = land.decide_finding(
        finding.id, _str_field(body, "state") or "", _str_field(body, "reason") or ""
    )
    db.session.commit()
    codes = _codes({finding.plot_uid, finding.other_plot_uid})
    return jsonify(finding_json(finding, codes))


# --------------------------------------------------------------------------------------------
# OpenAPI
# --------------------------------------------------------------------------------------------


def _q(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "integer"},
    }


def _list_of(schema: dict) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema},
            "next": {"type": ["string", "null"]},
        },
    }


_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    "404": _json(_ERROR, "Not found or outside your reach"),
    "422": _json(_ERROR, "Refused by a rule or validation (code, message, field, rule)"),
}
_GEOMETRY_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "examples": ["invalid_geometry"]},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "rule": {"type": "string"},
                "reason": {
                    "type": "string",
                    "description": "Stable validity code, e.g. self_intersection",
                },
                "location": {
                    "type": ["array", "null"],
                    "items": {"type": "number"},
                    "description": "[x, y] of the problem, in the coordinates that were sent",
                },
                "repair_available": {"type": "boolean"},
                "repaired_area_m2": {"type": "number"},
            },
        }
    },
}
_AREA = {
    "type": ["object", "null"],
    "properties": {"m2": {"type": "number"}, "mu": {"type": "string"}},
}
#: Legal time of a version beside its record time (begin_lifespan / end_lifespan).
_LEGAL_TIME = {
    "valid_from": {
        "type": "string",
        "format": "date",
        "description": "the day this version took legal effect",
    },
    "valid_to": {
        "type": ["string", "null"],
        "format": "date",
        "description": "the day its legal effect ended (null: in effect)",
    },
}
_PLOT = {
    "type": "object",
    "properties": {
        "plot_uid": {"type": "integer"},
        "version": {"type": "integer"},
        "dkbm": {"type": "string"},
        "collective_id": {"type": "integer"},
        "contract_uid": {"type": ["integer", "null"]},
        "household_uid": {"type": ["integer", "null"]},
        "name": {"type": ["string", "null"]},
        "land_class": {"type": "string"},
        "land_use": {"type": ["string", "null"]},
        "is_basic_farmland": {"type": "boolean"},
        "contract_area": _AREA,
        "measured_area": _AREA,
        "boundaries": {"type": "object"},
        "geometry": {"type": ["object", "null"], "description": "GeoJSON"},
        "crs": {"type": "string"},
        "begin_lifespan": {"type": "string"},
        "contract_candidates": {"type": "array", "description": "Editors: contracts it may go in"},
        **_LEGAL_TIME,
    },
}
_CONTRACT = {
    "type": "object",
    "properties": {
        "contract_uid": {"type": "integer"},
        "version": {"type": "integer"},
        "cbhtbm": {"type": "string"},
        "household_uid": {"type": "integer"},
        "collective_id": {"type": "integer"},
        "term_start": {"type": "string", "format": "date"},
        "term_end": {"type": "string", "format": "date"},
        "contract_area": _AREA,
        "status": {"type": "string"},
        "land_type": {"type": "string", "enum": list(CONTRACT_LAND_TYPES)},
        "method": {"type": "string", "enum": list(CONTRACT_METHODS)},
        "plots": {"type": "array", "items": _PLOT},
        "certificate": {"type": ["object", "null"]},
        "renewal": {"type": "object", "description": "R02: opens, window_years, max_years, open"},
        "begin_lifespan": {"type": "string"},
        **_LEGAL_TIME,
    },
}
_FINDING = {
    "type": "object",
    "properties": {
        "finding_id": {"type": "integer"},
        "kind": {"type": "string"},
        "plot_uid": {"type": "integer"},
        "plot_dkbm": {"type": ["string", "null"]},
        "other_plot_uid": {"type": ["integer", "null"]},
        "other_plot_dkbm": {"type": ["string", "null"]},
        "overlap_m2": {"type": ["number", "null"]},
        "state": {"type": "string", "enum": list(land.FINDING_STATES)},
        "decided_by": {"type": ["string", "null"]},
        "decision_reason": {"type": ["string", "null"]},
    },
}
_CHANGE = {
    "type": "object",
    "properties": {
        "plot": _PLOT,
        "findings": {"type": "array", "items": _FINDING},
        "warnings": {"type": "array", "items": {"type": "object"}},
        "repaired": {"type": "boolean"},
    },
}
_HISTORY = {
    "type": "object",
    "properties": {
        "uid": {"type": "integer"},
        "versions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    # ISO 8601 in UTC without an offset (not RFC 3339 "date-time")
                    "begin_lifespan": {"type": "string"},
                    "end_lifespan": {"type": ["string", "null"]},
                    "valid_from": {
                        "type": "string",
                        "format": "date",
                        "description": "the day this version took legal effect",
                    },
                    "valid_to": {
                        "type": ["string", "null"],
                        "format": "date",
                        "description": "the day its legal effect ended (null: in effect); "
                        "equal to valid_from for a version corrected before it took effect",
                    },
                    "change_reason": {"type": ["string", "null"]},
                    "source_document_id": {"type": ["integer", "null"]},
                    "source_document_sha256": {"type": ["string", "null"]},
                    "changes": {
                        "type": "object",
                        "description": "field -> [before, after] against the previous version",
                    },
                },
            },
        },
        "as_of": {"type": "string"},
        "time": {"type": "string", "enum": ["legal", "recorded"]},
        "version_as_of": {"type": ["object", "null"]},
    },
}
_AS_OF = _q(
    "as_of",
    "YYYY-MM-DD or an ISO date-time: the version in legal effect that day (legal time), or "
    "with time=recorded the version the registry showed as current then (end of that day, "
    "county time)",
    {"type": "string"},
)
_AS_OF_TIME = _q(
    "time",
    "legal (default) or recorded; recorded is for the auditor and the bureau reviewer",
    {"type": "string", "enum": ["legal", "recorded"]},
)
_PAGING = [
    _q("collective_id", "Only this collective"),
    _q("cursor", "The `next` value of the previous page", {"type": "string"}),
    _q("limit", "Page size (1-200, default 50)"),
]
_GEOMETRY_BODY_PROPS = {
    "geometry": {
        "type": "object",
        "description": "GeoJSON Polygon/MultiPolygon (or a Feature of one)",
    },
    "crs": {
        "type": "string",
        "description": "Required unless the GeoJSON declares one, e.g. EPSG:4490 or EPSG:4547",
    },
    "measured_area_m2": {"type": "number", "description": "Default: from the geometry"},
    "accept_repair": {
        "type": "boolean",
        "description": "Apply the repair offered for an invalid geometry (recorded)",
    },
    "source_document_id": {"type": "integer"},
    "reason": openapi_text("reason"),
}


_PLOTS_CHANGED = {
    "type": "object",
    "properties": {
        "ended": {"type": "array", "items": _PLOT},
        "created": {"type": "array", "items": _CHANGE},
    },
}


def _body(required: list[str], props: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": props}
            }
        },
    }


OPENAPI_PATHS: dict[str, dict] = {
    "/contracts": {
        "get": {
            "summary": "Current land contracts within your reach",
            "tags": ["land"],
            "parameters": [*_PAGING, _q("household_uid", "Only this household's contract")],
            "responses": {"200": _json(_list_of(_CONTRACT)), **_ERRORS},
        },
        "post": {
            "summary": (
                "Create a household's land contract (R01; R02: at most 30 years on arable land, "
                "50 on grassland, 70 on forest land)"
            ),
            "tags": ["land"],
            "requestBody": _body(
                ["household_uid", "term_start", "term_end", "source_document_id", "reason"],
                {
                    "household_uid": {"type": "integer"},
                    "term_start": {"type": "string", "format": "date"},
                    "term_end": {"type": "string", "format": "date"},
                    "land_type": {
                        "type": "string",
                        "enum": list(CONTRACT_LAND_TYPES),
                        "default": "arable",
                    },
                    "method": {
                        "type": "string",
                        "enum": list(CONTRACT_METHODS),
                        "default": "household",
                        "description": "household: code ends in J; other: code ends in Q",
                    },
                    "source_document_id": {"type": "integer"},
                    "reason": openapi_text("reason"),
                },
            ),
            "responses": {"201": _json(_CONTRACT, "Created"), **_ERRORS},
        },
    },
    "/contracts/{contract_uid}": {
        "get": {
            "summary": "One contract with its plots and valid certificate",
            "tags": ["land"],
            "parameters": [_path("contract_uid")],
            "responses": {"200": _json(_CONTRACT), **_ERRORS},
        }
    },
    "/contracts/{contract_uid}/history": {
        "get": {
            "summary": "Versions of a contract with their changes",
            "tags": ["land"],
            "parameters": [_path("contract_uid"), _AS_OF, _AS_OF_TIME],
            "responses": {"200": _json(_HISTORY), **_ERRORS},
        }
    },
    "/plots": {
        "get": {
            "summary": "Current plots within your reach (without geometry)",
            "tags": ["land"],
            "parameters": [*_PAGING, _q("contract_uid", "Only plots of this contract")],
            "responses": {"200": _json(_list_of(_PLOT)), **_ERRORS},
        },
        "post": {
            "summary": "Register a plot; overlaps beyond the tolerance become open findings",
            "tags": ["land"],
            "requestBody": _body(
                ["collective_id", "dkbm", "geometry", "source_document_id", "reason"],
                {
                    "collective_id": {"type": "integer"},
                    "dkbm": {"type": "string", "description": "FBFBM + 5 digits"},
                    "contract_uid": {"type": "integer"},
                    "name": openapi_text("name"),
                    "land_class": {"type": "string", "enum": ["10", "21", "22", "23", "99"]},
                    "land_use": {"type": "string"},
                    "is_basic_farmland": {"type": "boolean"},
                    "contract_area_m2": {"type": "number"},
                    "east": {"type": "string"},
                    "south": {"type": "string"},
                    "west": {"type": "string"},
                    "north": {"type": "string"},
                    **_GEOMETRY_BODY_PROPS,
                },
            ),
            "responses": {
                "201": _json(_CHANGE, "Registered"),
                "404": _ERRORS["404"],
                "422": _json(_GEOMETRY_ERROR, "Refused; an invalid geometry says why and where"),
            },
        },
    },
    "/plots/{plot_uid}": {
        "get": {
            "summary": "One plot with its geometry and findings",
            "tags": ["land"],
            "parameters": [
                _path("plot_uid"),
                _q(
                    "crs",
                    "Return the geometry in this CRS (default: registry CRS)",
                    {"type": "string"},
                ),
            ],
            "responses": {"200": _json(_PLOT), **_ERRORS},
        }
    },
    "/plots/{plot_uid}/geometry": {
        "post": {
            "summary": "Revise a plot's boundary (a new version; same checks as registering)",
            "tags": ["land"],
            "parameters": [_path("plot_uid")],
            "requestBody": _body(
                ["geometry", "source_document_id", "reason"], _GEOMETRY_BODY_PROPS
            ),
            "responses": {
                "200": _json(_CHANGE, "Revised"),
                "404": _ERRORS["404"],
                "422": _json(_GEOMETRY_ERROR, "Refused; an invalid geometry says why and where"),
            },
        }
    },
    "/plots/{plot_uid}/split": {
        "post": {
            "summary": (
                "Split a plot into 2-50 new plots with new codes; each inside it, together "
                "covering it; the plot ends and stays in the history"
            ),
            "tags": ["land"],
            "parameters": [_path("plot_uid")],
            "requestBody": _body(
                ["parts", "source_document_id", "reason"],
                {
                    "parts": {
                        "description": (
                            "The new plots: a GeoJSON FeatureCollection or MultiPolygon, a list "
                            "of geometries, or WKT"
                        ),
                    },
                    "crs": {"type": "string"},
                    "contract_areas": {
                        "type": "array",
                        "items": {"type": "number"},
                        "description": "One per new plot; absent = shared out by measured area",
                    },
                    "accept_repair": {"type": "boolean"},
                    "source_document_id": {"type": "integer"},
                    "reason": openapi_text("reason"),
                },
            ),
            "responses": {
                "201": _json(_PLOTS_CHANGED, "Split"),
                "404": _ERRORS["404"],
                "422": _json(_GEOMETRY_ERROR, "Refused"),
            },
        }
    },
    "/plots/merge": {
        "post": {
            "summary": (
                "Merge 2-50 neighbouring plots of one contract and land class into one new plot "
                "with a new code; the old plots end and stay in the history"
            ),
            "tags": ["land"],
            "requestBody": _body(
                ["plot_uids", "source_document_id", "reason"],
                {
                    "plot_uids": {"type": "array", "items": {"type": "integer"}},
                    "name": openapi_text("name"),
                    "source_document_id": {"type": "integer"},
                    "reason": openapi_text("reason"),
                },
            ),
            "responses": {"201": _json(_PLOTS_CHANGED, "Merged"), **_ERRORS},
        }
    },
    "/plots/{plot_uid}/history": {
        "get": {
            "summary": "Versions of a plot with their changes",
            "tags": ["land"],
            "parameters": [_path("plot_uid"), _AS_OF, _AS_OF_TIME],
            "responses": {"200": _json(_HISTORY), **_ERRORS},
        }
    },
    "/collectives/{collective_id}/findings": {
        "get": {
            "summary": "Geometry findings of a collective",
            "tags": ["land"],
            "parameters": [
                _path("collective_id"),
                _q(
                    "state",
                    "open, accepted or resolved",
                    {
                        "type": "string",
                        "enum": list(land.FINDING_STATES),
                    },
                ),
                _q("cursor", "The `next` value of the previous page", {"type": "string"}),
                _q("limit", "Page size (1-200, default 50)"),
            ],
            "responses": {"200": _json(_list_of(_FINDING)), **_ERRORS},
        }
    },
    "/findings/{finding_id}/decision": {
        "post": {
            "summary": "Decide an open finding: accepted (exception) or resolved, with a reason",
            "tags": ["land"],
            "parameters": [_path("finding_id")],
            "requestBody": _body(
                ["state", "reason"],
                {
                    "state": {"type": "string", "enum": list(land.DECISIONS)},
                    "reason": openapi_text("reason"),
                },
            ),
            "responses": {"200": _json(_FINDING), **_ERRORS},
        }
    },
}
