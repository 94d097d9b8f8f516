"""Plots: register, revise the boundary or the attributes, put into a contract or move
between contracts (DKBM checks, R01 reserve land).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.core import codes
from app.core.errors import DomainError, NotFound
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.registry import encumbrances, history
from app.registry.inputs import require_reason as _reason
from app.registry.land.common import (
    _TEXT_KINDS,
    _area,
    _collective,
    _current_contract,
    _current_plot,
    _source,
    _text,
    area_warnings,
)
from app.registry.land.contracts import _sync_contract_area, check_no_return_in_term
from app.registry.land.geometry import _reason_with_repair, prepare_geometry
from app.registry.land.overlaps import _record_overlaps, _serialise_geometry_writes
from app.registry.models import (
    LAND_CLASSES,
    RESERVE_LAND_CLASS,
    GeometryFinding,
    LandContract,
    Plot,
)


@dataclass
class PlotChange:
    """What adding or revising a plot did: the new version, the overlap findings it opened or
    updated, non-blocking geometry warnings, and whether a repair was applied."""

    plot: Plot
    findings: list[GeometryFinding] = field(default_factory=list)
    warnings: list[geo.Finding] = field(default_factory=list)
    repaired: bool = False


def _check_dkbm(dkbm: Any, collective: Collective, *, exclude_uid: int | None = None) -> str:
    """The DKBM belongs to the collective (its FBFBM prefix) and no other current plot has it."""
    if not isinstance(dkbm, str):
        raise DomainError("dkbm_required", _("Give the plot code (DKBM)."), field="dkbm")
    try:
        code = codes.validate_dkbm(dkbm, fbfbm=collective.fbfbm)
    except codes.CodeError as exc:
        raise DomainError.from_check(exc, field="dkbm") from exc
    q = select(Plot.uid).where(Plot.dkbm == code, Plot.end_lifespan.is_(None))
    if exclude_uid is not None:
        q = q.where(Plot.uid != exclude_uid)
    if db.session.scalar(q.limit(1)) is not None:
        raise DomainError(
            "dkbm_taken",
            _("Another current plot already has the code %(code)s.", code=code),
            field="dkbm",
        )
    return code


def check_not_reserve(land_class: str, contract_uid: Any) -> None:
    """R01: reserve land (机动地, class 22) is the collective's own: it is never part of a
    household's contract (and so never counted in a household's contract area)."""
    if land_class == RESERVE_LAND_CLASS and contract_uid not in (None, "", 0):
        raise DomainError(
            "reserve_land",
            _(
                "Reserve land belongs to the collective and cannot be part of a household's "
                "contract."
            ),
            field="contract_uid",
            rule="R01",
        )


def _check_land_class(land_class: Any) -> str:
    value = str(land_class or "10").strip()
    if value not in LAND_CLASSES:
        raise DomainError(
            "land_class",
            _("Unknown land class; use one of %(codes)s.", codes=", ".join(LAND_CLASSES)),
            field="land_class",
        )
    return value


def add_plot(
    collective_id: int,
    dkbm: str,
    geometry: Any,
    crs: Any,
    *,
    contract_uid: int | None = None,
    name: str | None = None,
    land_class: str = "10",
    land_use: str | None = None,
    is_basic_farmland: bool = False,
    contract_area_m2: float | None = None,
    measured_area_m2: float | None = None,
    east: str | None = None,
    south: str | None = None,
    west: str | None = None,
    north: str | None = None,
    source_document_id: int,
    reason: str,
    accept_repair: bool = False,
    today: date | None = None,
    effective_on: date | None = None,
) -> PlotChange:
    """Register a plot (地块) of a collective, optionally in a household's contract (R01).
    ``effective_on``: the day it was surveyed / contracted in law (default: today).

    The DKBM must start with the collective's FBFBM and be unique among current plots. The
    geometry needs its CRS, must be valid (or repaired at the user's request, which the change
    reason records) and is stored in the registry CRS. The measured area (SCMJ) comes from the
    geometry unless given; the contract area (HTMJ) is kept apart. Overlaps with other current
    plots beyond the tolerance are recorded as open findings and returned: they do not block.
    """
    reason = _reason(reason)
    collective = _collective(collective_id)
    doc_id, sha = _source(source_document_id, collective.id)
    _serialise_geometry_writes()
    code = _check_dkbm(dkbm, collective)
    fields = {k: _text(v, k) for k, v in dict(name=name, land_use=land_use).items()}
    bounds = {
        k: _text(v, k) for k, v in dict(east=east, south=south, west=west, north=north).items()
    }
    land_class = _check_land_class(land_class)
    contract_area = _area(contract_area_m2, "contract_area_m2")
    measured_area = _area(measured_area_m2, "measured_area_m2")
    contract = None
    if contract_uid not in (None, "", 0):
        contract = _current_contract(contract_uid)
        _check_same_collective(contract, collective.id)
        check_not_reserve(land_class, contract.uid)
    prepared = prepare_geometry(geometry, crs, accept_repair=accept_repair)
    if measured_area is None:
        measured_area = round(geo.area_m2(prepared.geom), 2)
    full_reason = _reason_with_repair(reason, prepared)
    with trail.because("plot.create", reason=full_reason, source_sha256=sha):
        try:
            plot = history.create(
                Plot,
                reason=full_reason,
                source_document_id=doc_id,
                effective_on=effective_on,
                dkbm=code,
                collective_id=collective.id,
                contract_uid=contract.uid if contract else None,
                household_uid=contract.household_uid if contract else None,
                land_class=land_class,
                is_basic_farmland=bool(is_basic_farmland),
                contract_area_m2=contract_area,
                measured_area_m2=measured_area,
                geom=from_shape(prepared.geom, srid=registry_srid()),
                **fields,
                **bounds,
            )
        except IntegrityError as exc:
            # Another request registered the same code between our check and our insert.
            if "dkbm" in str(exc.orig):
                raise DomainError(
                    "dkbm_taken",
                    _("Another current plot already has the code %(code)s.", code=code),
                    field="dkbm",
                ) from exc
            raise
        findings = _record_overlaps(plot, prepared.geom)
        if contract is not None:
            _sync_contract_area(
                contract.uid, source_document_id=doc_id, reason=reason, effective_on=effective_on
            )
    warnings = [*prepared.warnings, *area_warnings(plot)]
    return PlotChange(plot, findings, warnings, prepared.repair_note is not None)


def _check_same_collective(contract: LandContract, collective_id: int) -> None:
    """R01: a plot goes only with a contract of its own collective. Another collective's contract
    gets the answer of a contract that does not exist, so its existence does not leak."""
    if contract.collective_id != collective_id:
        raise NotFound(
            "contract_not_found", _("No current contract with this number."), field="contract_uid"
        )


def update_plot_geometry(
    plot_uid: int,
    geometry: Any,
    crs: Any,
    *,
    source_document_id: int,
    reason: str,
    measured_area_m2: float | None = None,
    accept_repair: bool = False,
    today: date | None = None,
) -> PlotChange:
    """Revise a plot's boundary (a new version; the old one stays in the history).

    Same checks as ``add_plot``: CRS required, validity with repair only on request, measured
    area from the new geometry unless given, overlap findings re-evaluated (see
    ``_record_overlaps``).
    """
    reason = _reason(reason)
    _serialise_geometry_writes()
    plot = _current_plot(plot_uid, lock=True)
    encumbrances.check_not_blocked("plot", plot.uid, action="edit")
    doc_id, sha = _source(source_document_id, plot.collective_id)
    measured_area = _area(measured_area_m2, "measured_area_m2")
    prepared = prepare_geometry(geometry, crs, accept_repair=accept_repair)
    if measured_area is None:
        measured_area = round(geo.area_m2(prepared.geom), 2)
    full_reason = _reason_with_repair(reason, prepared)
    with trail.because("plot.geometry", reason=full_reason, source_sha256=sha):
        new = history.revise(
            plot,
            reason=full_reason,
            source_document_id=doc_id,
            geom=from_shape(prepared.geom, srid=registry_srid()),
            measured_area_m2=measured_area,
        )
        findings = _record_overlaps(new, prepared.geom)
    warnings = [*prepared.warnings, *area_warnings(new)]
    return PlotChange(new, findings, warnings, prepared.repair_note is not None)


def update_plot_attributes(
    plot_uid: int,
    *,
    source_document_id: int,
    reason: str,
    **changes: Any,
) -> Plot:
    """Correct a plot's descriptive attributes (name, class, use, basic-farmland flag, areas,
    four boundaries) as a new version. The code, collective and geometry change elsewhere."""
    allowed = {
        "name",
        "land_class",
        "land_use",
        "is_basic_farmland",
        "contract_area_m2",
        "measured_area_m2",
        "east",
        "south",
        "west",
        "north",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(
            "field_unknown",
            _("These fields cannot be changed here: %(names)s.", names=", ".join(sorted(unknown))),
        )
    reason = _reason(reason)
    plot = _current_plot(plot_uid, lock=True)
    encumbrances.check_not_blocked("plot", plot.uid, action="edit")
    doc_id, sha = _source(source_document_id, plot.collective_id)
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in _TEXT_KINDS:
            clean[key] = _text(value, key)
        elif key == "land_class":
            clean[key] = _check_land_class(value)
            check_not_reserve(clean[key], plot.contract_uid)
        elif key == "is_basic_farmland":
            clean[key] = bool(value)
        else:
            clean[key] = _area(value, key)
    with trail.because("plot.attributes", reason=reason, source_sha256=sha):
        new = history.revise(plot, reason=reason, source_document_id=doc_id, **clean)
        if "contract_area_m2" in clean and new.contract_uid:
            _sync_contract_area(new.contract_uid, source_document_id=doc_id, reason=reason)
    return new


def assign_plot_to_contract(
    plot_uid: int,
    contract_uid: int | None,
    *,
    source_document_id: int,
    reason: str,
    basis: str | None = None,
) -> Any:
    """R01: put a plot that is in no contract into a household's contract (registration).

    Taking a plot out of a household's contract, or moving it into another household's, moves
    a right away from that household (R03; Arts. 27, 28): a voluntary transfer goes through the
    marketplace, so without a legal basis it is refused here; with one (``moves.BASES``) it
    becomes a move request that a bureau reviewer countersigns (``moves.request_move``), which is
    what is returned then.
    """
    plot = _current_plot(plot_uid)
    if plot.contract_uid is not None and history.current_of(LandContract, plot.contract_uid):
        from app.registry import moves

        if basis in (None, ""):
            raise moves.marketplace_refusal()
        return moves.request_move(
            "plot_move",
            plot.uid,
            basis=basis,
            source_document_id=source_document_id,
            reason=reason,
            to_contract_uid=contract_uid or None,
        )
    return _move_plot(plot_uid, contract_uid, source_document_id=source_document_id, reason=reason)


def _move_plot(
    plot_uid: int,
    contract_uid: int | None,
    *,
    source_document_id: int,
    reason: str,
) -> Plot:
    """R01: put a plot into a household's contract, move it to another one or take it out.

    The contract must be current and of the plot's collective. Private to the registry: a move
    out of a household's contract is applied only by a countersigned move
    (``moves.countersign_move``) or, later, the marketplace's registration step.
    """
    reason = _reason(reason)
    plot = _current_plot(plot_uid, lock=True)
    encumbrances.check_not_blocked("plot", plot.uid, action="move")
    doc_id, sha = _source(source_document_id, plot.collective_id)
    contract = None
    if contract_uid not in (None, "", 0):
        contract = _current_contract(contract_uid)
        _check_same_collective(contract, plot.collective_id)
        check_not_reserve(plot.land_class, contract.uid)
        encumbrances.check_not_blocked("land_contract", contract.uid, action="move")
        if plot.contract_uid == contract.uid:
            raise DomainError("no_change", _("Nothing was changed."))
    elif plot.contract_uid is None:
        raise DomainError("no_change", _("Nothing was changed."))
    if contract is not None and plot.contract_uid is None and contract.household_uid is not None:
        # a plot of the collective's own land granted to a household: R06 bars it after a return
        check_no_return_in_term(contract.household_uid, history.county_today())
    old_contract = plot.contract_uid
    with trail.because("plot.assign", reason=reason, source_sha256=sha):
        new = history.revise(
            plot,
            reason=reason,
            source_document_id=doc_id,
            contract_uid=contract.uid if contract else None,
            household_uid=contract.household_uid if contract else None,
        )
        for uid in {old_contract, contract.uid if contract else None}:
            if uid is not None:
                _sync_contract_area(uid, source_document_id=doc_id, reason=reason)
    return new
