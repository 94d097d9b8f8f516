"""JSON API for contracted land: contracts, plots, geometry findings, history.

The same service functions as the HTML pages (app.registry.land); errors come back as
{"error": {...}} with 422, and an invalid geometry adds its reason, location and whether a repair
is on offer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

import shapely
from flask import abort, jsonify
from flask_login import current_user
from geoalchemy2.shape import to_shape
from pydantic import BeforeValidator, Field, WithJsonSchema
from shapely.geometry import mapping
from sqlalchemy import select

from app.api import bp
from app.api.fields import (
    CodeText,
    Id,
    LabelText,
    NameText,
    Page,
    Paged,
    QueryId,
    Reason,
    page_of,
)
from app.api.schema import Answer, Body, Query, operation
from app.auth.models import Role
from app.auth.scope import can_edit, can_read, load_or_404, readable, roles_required
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
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    LAND_CLASSES,
    Certificate,
    GeometryFinding,
    Household,
    LandContract,
    Plot,
)

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
STAFF = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)

LandType = Literal[tuple(CONTRACT_LAND_TYPES)]  # type: ignore[valid-type]
ContractMethod = Literal[tuple(CONTRACT_METHODS)]  # type: ignore[valid-type]
LandClass = Literal[tuple(LAND_CLASSES)]  # type: ignore[valid-type]
FindingState = Literal[tuple(land.FINDING_STATES)]  # type: ignore[valid-type]
Decision = Literal[tuple(land.DECISIONS)]  # type: ignore[valid-type]
AsOfTime = Literal[tuple(land.AS_OF_TIMES)]  # type: ignore[valid-type]


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _query_choice(values: tuple[str, ...]) -> Any:
    """An optional query argument: one of ``values``; absent or empty is None."""
    return Annotated[
        Literal[values] | None,  # type: ignore[valid-type]
        BeforeValidator(_blank_is_none),
        WithJsonSchema({"type": "string", "enum": list(values)}),
    ]


#: An optional query argument of text; absent or empty is None.
QueryText = Annotated[
    str | None, BeforeValidator(_blank_is_none), WithJsonSchema({"type": "string"})
]


# --------------------------------------------------------------------------------------------
# Declarations: what each operation takes and answers
# --------------------------------------------------------------------------------------------

GEOMETRY_DOC = "GeoJSON Polygon or MultiPolygon (or a Feature of one), or WKT"
CRS_DOC = "Required unless the GeoJSON declares one, e.g. EPSG:4490 or EPSG:4547"
SOURCE_DOC = "The source document the change cites (every change cites one)"
TIME_DOC = "ISO 8601 in UTC without an offset (record time)"


class LandArea(Answer):
    m2: float
    mu: str = Field(description="The same area in mu (亩), as the county writes it")


class PlotBoundaries(Answer):
    east: str | None
    south: str | None
    west: str | None
    north: str | None


class PlotItem(Answer):
    """A plot (without its geometry)"""

    plot_uid: int
    version: int
    dkbm: str
    collective_id: int
    contract_uid: int | None
    household_uid: int | None
    name: str | None
    land_class: str
    land_use: str | None
    is_basic_farmland: bool
    contract_area: LandArea | None
    measured_area: LandArea | None
    boundaries: PlotBoundaries
    current: bool
    begin_lifespan: str = Field(description=TIME_DOC)
    valid_from: date = Field(description="The day this version took legal effect")
    valid_to: date | None = Field(description="The day its legal effect ended (null: in effect)")


class PlotShape(PlotItem):
    """A plot with its geometry"""

    geometry: dict[str, Any] | None = Field(description="GeoJSON")
    crs: str = Field(description="The CRS of the geometry")


class PlotFinding(Answer):
    """A geometry finding (another collective's plots stay unnamed)"""

    finding_id: int
    collective_id: int
    kind: str
    plot_uid: int | None
    plot_dkbm: str | None
    other_plot_uid: int | None
    other_plot_dkbm: str | None
    overlap_m2: float | None
    state: FindingState
    found_at: str = Field(description=TIME_DOC)
    decided_by: str | None
    decision_reason: str | None


class ContractCandidate(Answer):
    contract_uid: int
    cbhtbm: str
    household_name: str | None


class PlotDetail(PlotShape):
    """One plot with its geometry and findings"""

    findings: list[PlotFinding]
    contract_candidates: list[ContractCandidate] | None = Field(
        None,
        description="The contracts this plot may be put into (the plot page's choices); "
        "only for those who may change the plot",
    )


class PlotWarning(Answer):
    code: str
    message: str


class PlotChanged(Answer):
    """What registering or revising a plot did: the new version, its findings and warnings"""

    plot: PlotShape
    findings: list[PlotFinding]
    warnings: list[PlotWarning]
    repaired: bool = Field(description="A repair of the geometry was applied (recorded)")


class PlotsChanged(Answer):
    """The plots that ended and the new plots"""

    ended: list[PlotItem]
    created: list[PlotChanged]


class ContractItem(Answer):
    """A land contract"""

    contract_uid: int
    version: int
    cbhtbm: str
    household_uid: int
    collective_id: int
    term_start: date
    term_end: date
    contract_area: LandArea | None
    status: str
    land_type: LandType
    method: ContractMethod
    current: bool
    begin_lifespan: str = Field(description=TIME_DOC)
    valid_from: date = Field(description="The day this version took legal effect")
    valid_to: date | None = Field(description="The day its legal effect ended (null: in effect)")


class ContractWithPlots(ContractItem):
    """A land contract with its plots"""

    plots: list[PlotItem]


class ContractCertificate(Answer):
    certificate_id: int
    number: str
    issued_on: date


class RenewalWindow(Answer):
    """R02: when the contract may be renewed (the last years of its term)"""

    opens: date
    window_years: int
    max_years: int
    open: bool


class ContractDetail(ContractWithPlots):
    """One contract with its plots and valid certificate"""

    certificate: ContractCertificate | None
    renewal: RenewalWindow


class ContractPage(Page[ContractItem]):
    """Current land contracts, by uid"""


class PlotPage(Page[PlotItem]):
    """Current plots (without geometry), by uid"""


class FindingPage(Page[PlotFinding]):
    """Geometry findings, by id"""


class LandHistoryVersion(Answer):
    version: int
    begin_lifespan: str = Field(description=TIME_DOC)
    end_lifespan: str | None = Field(description=TIME_DOC)
    valid_from: date = Field(description="The day this version took legal effect")
    valid_to: date | None = Field(
        description="The day its legal effect ended (null: in effect); equal to valid_from for "
        "a version corrected before it took effect"
    )
    change_reason: str | None
    changed_by: str | None
    source_document_id: int | None
    source_document_sha256: str | None
    changes: dict[str, list[Any]] = Field(
        description="field -> [before, after] against the previous version"
    )


class LandHistory(Answer):
    """Every version with its changes; with ?as_of=, the version of that day"""

    uid: int
    versions: list[LandHistoryVersion]
    as_of: str | None = Field(None, description="The as_of asked for (only when asked)")
    time: AsOfTime | None = Field(None, description="legal or recorded (only when asked)")
    version_as_of: dict[str, Any] | None = Field(
        None, description="The version of that day (null: none); only when as_of was asked"
    )


class GeometryErrorDetail(Answer):
    code: str = Field(examples=["invalid_geometry"])
    message: str = Field(description="In the caller's language")
    field: str | None = None
    rule: str | None = None
    reason: str | None = Field(None, description="Stable validity code, e.g. self_intersection")
    location: list[float] | None = Field(
        None, description="[x, y] of the problem, in the coordinates that were sent"
    )
    repair_available: bool | None = None
    repaired_area_m2: float | None = None


class GeometryRefusal(Answer):
    """Refused; an invalid geometry says why and where, and whether a repair is on offer"""

    error: GeometryErrorDetail


class ContractsQuery(Paged):
    collective_id: QueryId = Field(None, description="Only this collective")
    household_uid: QueryId = Field(None, description="Only this household's contract")


class PlotsQuery(Paged):
    collective_id: QueryId = Field(None, description="Only this collective")
    contract_uid: QueryId = Field(None, description="Only plots of this contract")


class PlotQuery(Query):
    crs: QueryText = Field(
        None, description="Return the geometry in this CRS (default: the registry's)"
    )


class LandHistoryQuery(Query):
    as_of: QueryText = Field(
        None,
        description="YYYY-MM-DD or an ISO date-time: the version in legal effect that day "
        "(legal time), or with time=recorded the version the registry showed as current then "
        "(end of that day, county time)",
    )
    time: _query_choice(land.AS_OF_TIMES) = Field(  # type: ignore[valid-type]
        None,
        description="legal (default) or recorded; recorded is for the auditor and the bureau "
        "reviewer",
    )


class FindingsQuery(Paged):
    state: _query_choice(land.FINDING_STATES) = Field(  # type: ignore[valid-type]
        None, description="open, accepted or resolved (default: all)"
    )


class ContractNew(Body):
    household_uid: Id
    term_start: date
    term_end: date
    land_type: LandType = "arable"
    method: ContractMethod = Field(
        "household", description="household: code ends in J; other: code ends in Q"
    )
    source_document_id: Id | None = Field(None, description=SOURCE_DOC)
    reason: Reason


class PlotGeometryFields(Body):
    geometry: dict[str, Any] | str | None = Field(None, description=GEOMETRY_DOC)
    crs: str | int | None = Field(None, description=CRS_DOC)
    measured_area_m2: float | None = Field(None, description="Default: from the geometry")
    accept_repair: bool = Field(
        False, description="Apply the repair offered for an invalid geometry (recorded)"
    )
    source_document_id: Id | None = Field(None, description=SOURCE_DOC)
    reason: Reason


class PlotNew(PlotGeometryFields):
    collective_id: Id
    dkbm: CodeText | None = Field(None, description="FBFBM + 5 digits")
    contract_uid: Id | None = None
    name: NameText | None = None
    land_class: LandClass = "10"
    land_use: LabelText | None = None
    is_basic_farmland: bool = False
    contract_area_m2: float | None = None
    east: LabelText | None = None
    south: LabelText | None = None
    west: LabelText | None = None
    north: LabelText | None = None


class PlotGeometryRevision(PlotGeometryFields):
    """A plot's new boundary"""


class PlotSplit(Body):
    parts: dict[str, Any] | list[Any] | str | None = Field(
        None,
        description="The new plots: a GeoJSON FeatureCollection or MultiPolygon, a list of "
        "geometries, or WKT",
    )
    crs: str | int | None = Field(None, description=CRS_DOC)
    contract_areas: list[float] | None = Field(
        None, description="One per new plot; absent: shared out by measured area"
    )
    accept_repair: bool = False
    source_document_id: Id | None = Field(None, description=SOURCE_DOC)
    reason: Reason


class PlotMerge(Body):
    plot_uids: list[Id] = Field(description="2 to 50 plots")
    name: NameText | None = None
    source_document_id: Id | None = Field(None, description=SOURCE_DOC)
    reason: Reason


class FindingDecision(Body):
    state: Decision | None = Field(None, description="accepted (an exception) or resolved")
    reason: Reason


def _refuses_geometry(view: Callable) -> Callable:
    """Document the 422 of a geometry write with the keys an invalid geometry adds to the
    error (reason, location, repair_available). Placed between ``roles_required`` and
    ``operation``: the operation's refusals name only the common Error shape."""
    op = view.api_operation  # type: ignore[attr-defined]
    refusals = {status: why for status, why in op.refusals.items() if status != 422}
    view.api_operation = dataclasses.replace(  # type: ignore[attr-defined]
        op, answers={**op.answers, 422: GeometryRefusal}, refusals=refusals
    )
    return view


def _editable_plot(plot_uid: int) -> Plot:
    return load_current_or_404(Plot, plot_uid, edit=True)


def _editable_finding(finding_id: int) -> GeometryFinding:
    finding = load_or_404(GeometryFinding, finding_id)
    if not can_edit(current_user, finding):
        abort(404)
    return finding


# --------------------------------------------------------------------------------------------
# Request helpers
# --------------------------------------------------------------------------------------------


def _reachable_collective(collective_id: int | None) -> Collective | None:
    return load_or_404(Collective, collective_id) if collective_id is not None else None


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


def history_json(model: type, uid: int, query: LandHistoryQuery) -> dict:
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
    raw = query.as_of
    when = land.parse_as_of(raw, query.time, user=current_user)
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

_NOT_FOUND = {404: "Not found or outside your reach"}
_REFUSED = {422: "Refused by a rule or validation (code, message, field, rule)"}


@bp.get("/contracts")
@roles_required(*READERS)
@operation("Current land contracts within your reach", query=ContractsQuery, answer=ContractPage)
def list_contracts(query: ContractsQuery):
    q = select(LandContract).where(LandContract.end_lifespan.is_(None))
    collective = _reachable_collective(query.collective_id)
    if collective is not None:
        q = q.where(LandContract.collective_id == collective.id)
    if query.household_uid is not None:
        q = q.where(LandContract.household_uid == query.household_uid)
    if query.cursor is not None:
        q = q.where(LandContract.uid > query.cursor)
    q = q.where(readable(current_user, LandContract.collective_id, LandContract.household_uid))
    rows = list(db.session.scalars(q.order_by(LandContract.uid).limit(query.limit + 1)))
    page = page_of(rows, query.limit, key=lambda c: c.uid)
    return jsonify({**page, "items": [contract_json(c) for c in page["items"]]})


@bp.post("/contracts")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Create a household's land contract (R01; R02: at most 30 years on arable land, 50 on "
    "grassland, 70 on forest land)",
    body=ContractNew,
    answer=ContractWithPlots,
    status=201,
    refusals={404: "The household is not found or out of reach", **_REFUSED},
)
def create_contract(body: ContractNew):
    household = load_current_or_404(Household, body.household_uid, edit=True)
    contract = land.create_contract(
        household.uid,
        body.term_start,
        body.term_end,
        source_document_id=body.source_document_id,
        reason=body.reason,
        land_type=body.land_type,
        method=body.method,
    )
    db.session.commit()
    return jsonify(contract_json(contract, plots=[])), 201


@bp.get("/contracts/<int:contract_uid>")
@roles_required(*READERS)
@operation(
    "One contract with its plots and valid certificate",
    answer=ContractDetail,
    refusals=_NOT_FOUND,
)
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
@operation(
    "Versions of a contract with their changes",
    query=LandHistoryQuery,
    answer=LandHistory,
    refusals={**_NOT_FOUND, 422: "as_of or time not valid, or record time not yours to see"},
)
def contract_history(contract_uid: int, query: LandHistoryQuery):
    load_latest_or_404(LandContract, contract_uid)
    return jsonify(history_json(LandContract, contract_uid, query))


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


@bp.get("/plots")
@roles_required(*READERS)
@operation("Current plots within your reach (without geometry)", query=PlotsQuery, answer=PlotPage)
def list_plots(query: PlotsQuery):
    q = select(Plot).where(Plot.end_lifespan.is_(None))
    collective = _reachable_collective(query.collective_id)
    if collective is not None:
        q = q.where(Plot.collective_id == collective.id)
    if query.contract_uid is not None:
        q = q.where(Plot.contract_uid == query.contract_uid)
    if query.cursor is not None:
        q = q.where(Plot.uid > query.cursor)
    q = q.where(readable(current_user, Plot.collective_id, Plot.household_uid))
    rows = list(db.session.scalars(q.order_by(Plot.uid).limit(query.limit + 1)))
    page = page_of(rows, query.limit, key=lambda p: p.uid)
    return jsonify({**page, "items": [plot_json(p, geometry=False) for p in page["items"]]})


@bp.post("/plots")
@roles_required(Role.COLLECTIVE_ADMIN)
@_refuses_geometry
@operation(
    "Register a plot; overlaps beyond the tolerance become open findings",
    body=PlotNew,
    answer=PlotChanged,
    status=201,
    refusals={404: "The collective or the contract is not found or out of reach"},
)
def create_plot(body: PlotNew):
    collective = load_or_404(Collective, body.collective_id)
    if not can_edit(current_user, collective):
        abort(404)
    change = land.add_plot(
        collective.id,
        body.dkbm,
        body.geometry,
        body.crs,
        contract_uid=body.contract_uid,
        name=body.name,
        land_class=body.land_class,
        land_use=body.land_use,
        is_basic_farmland=body.is_basic_farmland,
        contract_area_m2=body.contract_area_m2,
        measured_area_m2=body.measured_area_m2,
        east=body.east,
        south=body.south,
        west=body.west,
        north=body.north,
        source_document_id=body.source_document_id,
        reason=body.reason,
        accept_repair=body.accept_repair,
    )
    db.session.commit()
    return jsonify(_change_json(change)), 201


@bp.get("/plots/<int:plot_uid>")
@roles_required(*READERS)
@operation(
    "One plot with its geometry and findings",
    query=PlotQuery,
    answer=PlotDetail,
    refusals={**_NOT_FOUND, 422: "The CRS asked for is not known"},
)
def get_plot(plot_uid: int, query: PlotQuery):
    plot = load_current_or_404(Plot, plot_uid)
    out = plot_json(plot, crs=query.crs)
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
@_refuses_geometry
@operation(
    "Revise a plot's boundary (a new version; same checks as registering)",
    target=_editable_plot,
    body=PlotGeometryRevision,
    answer=PlotChanged,
    refusals=_NOT_FOUND,
)
def revise_plot_geometry(plot_uid: int, target: Plot, body: PlotGeometryRevision):
    plot = target
    change = land.update_plot_geometry(
        plot.uid,
        body.geometry,
        body.crs,
        source_document_id=body.source_document_id,
        reason=body.reason,
        measured_area_m2=body.measured_area_m2,
        accept_repair=body.accept_repair,
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
@_refuses_geometry
@operation(
    "Split a plot into 2-50 new plots with new codes; each inside it, together covering it; "
    "the plot ends and stays in the history",
    target=_editable_plot,
    body=PlotSplit,
    answer=PlotsChanged,
    status=201,
    refusals=_NOT_FOUND,
)
def split_plot(plot_uid: int, target: Plot, body: PlotSplit):
    plot = target
    done = plot_changes.split_plot(
        plot.uid,
        body.parts,
        body.crs,
        source_document_id=body.source_document_id,
        reason=body.reason,
        contract_areas=body.contract_areas,
        accept_repair=body.accept_repair,
    )
    db.session.commit()
    return jsonify(_plots_changed_json(done)), 201


@bp.post("/plots/merge")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Merge 2-50 neighbouring plots of one contract and land class into one new plot with a "
    "new code; the old plots end and stay in the history",
    body=PlotMerge,
    answer=PlotsChanged,
    status=201,
    refusals={404: "A plot is not found or out of reach", **_REFUSED},
)
def merge_plots(body: PlotMerge):
    uids = body.plot_uids
    for uid in uids[: plot_changes.MAX_PARTS + 1]:  # another collective's plot does not exist
        load_current_or_404(Plot, uid, edit=True)
    done = plot_changes.merge_plots(
        uids,
        source_document_id=body.source_document_id,
        reason=body.reason,
        name=body.name,
    )
    db.session.commit()
    return jsonify(_plots_changed_json(done)), 201


@bp.get("/plots/<int:plot_uid>/history")
@roles_required(*READERS)
@operation(
    "Versions of a plot with their changes",
    query=LandHistoryQuery,
    answer=LandHistory,
    refusals={**_NOT_FOUND, 422: "as_of or time not valid, or record time not yours to see"},
)
def plot_history(plot_uid: int, query: LandHistoryQuery):
    load_latest_or_404(Plot, plot_uid)
    return jsonify(history_json(Plot, plot_uid, query))


# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------


@bp.get("/collectives/<int:collective_id>/findings")
@roles_required(*STAFF)
@operation(
    "Geometry findings of a collective",
    query=FindingsQuery,
    answer=FindingPage,
    refusals=_NOT_FOUND,
)
def list_findings(collective_id: int, query: FindingsQuery):
    collective = load_or_404(Collective, collective_id)
    q = select(GeometryFinding).where(GeometryFinding.collective_id == collective.id)
    if query.state:
        q = q.where(GeometryFinding.state == query.state)
    if query.cursor is not None:
        q = q.where(GeometryFinding.id > query.cursor)
    rows = list(db.session.scalars(q.order_by(GeometryFinding.id).limit(query.limit + 1)))
    page = page_of(rows, query.limit, key=lambda f: f.id)
    codes = _codes({f.plot_uid for f in page["items"]} | {f.other_plot_uid for f in page["items"]})
    return jsonify({**page, "items": [finding_json(f, codes) for f in page["items"]]})


@bp.post("/findings/<int:finding_id>/decision")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Decide an open finding: accepted (exception) or resolved, with a reason",
    target=_editable_finding,
    body=FindingDecision,
    answer=PlotFinding,
    refusals={**_NOT_FOUND, 422: "Already decided, or no decision or reason"},
)
def decide_finding(finding_id: int, target: GeometryFinding, body: FindingDecision):
    finding = target
    finding = land.decide_finding(finding.id, body.state or "", body.reason)
    db.session.commit()
    codes = _codes({finding.plot_uid, finding.other_plot_uid})
    return jsonify(finding_json(finding, codes))
