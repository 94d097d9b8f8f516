"""Splitting and merging plots (地块分割、合并): new plot codes, the old plots kept in history.

A split ends one plot and starts two or more, each inside it and together covering it; a merge
ends two or more neighbouring plots of the same contract and starts one. The new plots get new
codes (DKBM), the next free sequence numbers of the collective; the old ones end with a note
naming their successors ("split into …", "merged into …") and stay in the history, so ``as_of``
still finds them. The contract's area (HTZMJ) is summed again, and the new geometries go
through the same checks as a plot registered by hand: CRS, validity (repair only on request),
overlap findings with other plots (flag, don't block) and the contract-area warning.

These functions flush and never commit: the caller commits once per request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from flask_babel import gettext as _
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, or_, select

from app.audit import trail
from app.core.errors import DomainError
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.registry import encumbrances, history, land
from app.registry.inputs import require_reason
from app.registry.models import GeometryFinding, Plot

#: A split makes at most this many plots; a merge takes at most this many.
MAX_PARTS = 50
#: Plots closer than this (metres) count as neighbours: surveyed edges rarely meet exactly.
ADJACENCY_M = 0.1
#: The last sequence number a DKBM can hold (5 digits).
_LAST_SEQUENCE = 99_999


@dataclass
class PlotsChanged:
    """What a split or merge did: the old versions it ended and the new plots it started (each
    with its overlap findings and warnings, as ``land.add_plot`` reports them)."""

    ended: list[Plot]
    created: list[land.PlotChange] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------


def next_dkbms(collective: Collective, count: int) -> list[str]:
    """The next ``count`` free plot codes of the collective: after the highest sequence number
    any of its plots ever had, current or in the history, so an ended plot's code is never
    given to another plot (past 99999, the lowest numbers never used). Callers hold the
    geometry-write lock (``land``), so two changes do not take the same numbers."""
    prefix = collective.fbfbm
    top = db.session.scalar(
        select(func.max(Plot.dkbm)).where(
            Plot.collective_id == collective.id, Plot.dkbm.like(f"{prefix}%")
        )
    )
    last = int(top[len(prefix) :]) if top and top[len(prefix) :].isdigit() else 0
    if last + count <= _LAST_SEQUENCE:
        return [f"{prefix}{last + i:05d}" for i in range(1, count + 1)]
    # The numbers after the highest are used up: the lowest ones no plot ever had.
    used = {
        int(code[len(prefix) :])
        for code in db.session.scalars(
            select(Plot.dkbm)
            .where(Plot.collective_id == collective.id, Plot.dkbm.like(f"{prefix}%"))
            .distinct()
        )
        if code[len(prefix) :].isdigit()
    }
    free = [n for n in range(1, _LAST_SEQUENCE + 1) if n not in used][:count]
    if len(free) < count:
        raise DomainError(
            "dkbm_exhausted",
            _("The collective has no free plot codes left."),
            field="dkbm",
        )
    return [f"{prefix}{n:05d}" for n in free]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _part_list(parts: Any) -> tuple[list[Any], str | None]:
    """The parts of a split as separate geometries, and the CRS the collection declares.

    Accepted: a list of geometries (GeoJSON objects or WKT), a GeoJSON FeatureCollection or
    GeometryCollection, or a MultiPolygon whose polygons are the parts (GeoJSON or WKT)."""
    if isinstance(parts, str):
        raw = parts.strip()
        if not raw:
            raise DomainError("parts_required", _("Give the new plots' boundaries."), field="parts")
        if raw[0] in "{[":
            try:
                parts = json.loads(raw)
            except ValueError:
                raise land._unreadable() from None
        else:
            geom, _declared = land.parse_geometry(raw)
            parts = [g.wkt for g in getattr(geom, "geoms", [geom])]
    declared = None
    if isinstance(parts, dict):
        declared = land._declared_crs(parts)
        kind = parts.get("type")
        if kind == "FeatureCollection":
            parts = parts.get("features")
        elif kind == "GeometryCollection":
            parts = parts.get("geometries")
        elif kind == "MultiPolygon" and isinstance(parts.get("coordinates"), list):
            parts = [{"type": "Polygon", "coordinates": c} for c in parts["coordinates"]]
        else:
            parts = None
    if not isinstance(parts, list):
        raise DomainError(
            "parts_required",
            _(
                "Give the new plots as a GeoJSON FeatureCollection (one feature per new plot) "
                "or a MultiPolygon (one polygon per new plot)."
            ),
            field="parts",
        )
    if not 2 <= len(parts) <= MAX_PARTS:
        raise DomainError(
            "parts_count",
            _("A plot is split into 2 to %(n)s new plots.", n=MAX_PARTS),
            field="parts",
        )
    return parts, declared


def _areas_in_proportion(total: float | None, shapes: Sequence[BaseGeometry]) -> list[float | None]:
    """A contract area shared out by measured area, to the cent; the last part takes what
    rounding left, so the parts add up to the whole."""
    if total is None:
        return [None] * len(shapes)
    measured = [geo.area_m2(s) for s in shapes]
    whole = sum(measured) or 1.0
    out = [round(total * m / whole, 2) for m in measured[:-1]]
    return [*out, round(total - sum(out), 2)]


def _close_findings(plot_uids: list[int], note: str) -> None:
    """Open overlap findings of plots that ended: their successors are checked anew."""
    actor = trail.current()
    for finding in db.session.scalars(
        select(GeometryFinding).where(
            GeometryFinding.state == "open",
            or_(
                GeometryFinding.plot_uid.in_(plot_uids),
                GeometryFinding.other_plot_uid.in_(plot_uids),
            ),
        )
    ):
        finding.state = "resolved"
        finding.decided_by = actor.actor if actor else None
        finding.decision_reason = note


def _create(
    template: Plot,
    geom: MultiPolygon,
    code: str,
    *,
    reason: str,
    doc_id: int,
    **fields: Any,
) -> land.PlotChange:
    """A new plot in the template's collective and contract, checked as ``add_plot`` checks."""
    values: dict[str, Any] = {
        "collective_id": template.collective_id,
        "contract_uid": template.contract_uid,
        "household_uid": template.household_uid,
        "land_class": template.land_class,
        "land_use": template.land_use,
        "is_basic_farmland": template.is_basic_farmland,
        "name": template.name,
    }
    values.update(fields)
    plot = history.create(
        Plot,
        reason=reason,
        source_document_id=doc_id,
        dkbm=code,
        measured_area_m2=round(geo.area_m2(geom), 2),
        geom=from_shape(geom, srid=registry_srid()),
        **values,
    )
    findings = land._record_overlaps(plot, geom)
    return land.PlotChange(plot, findings, land.area_warnings(plot))


# --------------------------------------------------------------------------------------------
# Split
# --------------------------------------------------------------------------------------------


def split_plot(
    plot_uid: int,
    parts: Any,
    crs: Any,
    *,
    source_document_id: int,
    reason: str,
    contract_areas: list[Any] | None = None,
    accept_repair: bool = False,
) -> PlotsChanged:
    """Split a plot into two or more new plots (地块分割) with new codes.

    Each part must lie inside the plot and the parts must cover it, neither overlapping one
    another nor leaving a gap beyond the overlap tolerance (OVERLAP_TOLERANCE_M2). The parts
    keep the plot's contract, household, class, use, basic-farmland flag and name; their
    contract areas are given, or the plot's shared out by measured area. The plot ends with
    "split into …"; the contract's area is summed again (R01: reserve land stays out of it).
    """
    reason = require_reason(reason)
    land._serialise_geometry_writes()
    plot = land._current_plot(plot_uid, lock=True)
    encumbrances.check_not_blocked("plot", plot.uid, action="edit")
    doc_id, sha = land._source(source_document_id, plot.collective_id)
    if plot.geom is None:
        raise DomainError(
            "no_geometry",
            _("The plot has no boundary recorded: record its boundary before splitting it."),
            field="plot_uid",
        )
    original = to_shape(plot.geom)
    raw_parts, declared = _part_list(parts)
    shapes: list[MultiPolygon] = []
    repaired: set[int] = set()
    for n, part in enumerate(raw_parts, start=1):
        try:
            prepared = land.prepare_geometry(part, crs or declared, accept_repair=accept_repair)
        except DomainError as err:
            if err.field != "crs":  # the CRS is the same for all parts; the rest is this part's
                err.message = _("New plot %(n)s: %(problem)s", n=n, problem=err.message)
                err.field = "parts"
            raise
        if prepared.repair_note is not None:
            repaired.add(n)
        shapes.append(prepared.geom)
    tolerance = land.tolerance_m2()
    for n, shape in enumerate(shapes, start=1):
        outside = shape.difference(original).area
        if outside > tolerance:
            raise DomainError(
                "part_outside",
                _(
                    "New plot %(n)s reaches %(area)s m² outside the plot being split.",
                    n=n,
                    area=f"{outside:.2f}",
                ),
                field="parts",
            )
    for i, a in enumerate(shapes):
        for j in range(i + 1, len(shapes)):
            overlap = geo.interior_overlap_area(a, shapes[j])
            if overlap > tolerance:
                raise DomainError(
                    "parts_overlap",
                    _(
                        "New plots %(a)s and %(b)s overlap by %(area)s m².",
                        a=i + 1,
                        b=j + 1,
                        area=f"{overlap:.2f}",
                    ),
                    field="parts",
                )
    gap = original.difference(shapely.union_all(shapes)).area
    if gap > tolerance:
        raise DomainError(
            "parts_gap",
            _(
                "The new plots leave %(area)s m² of the plot uncovered.",
                area=f"{gap:.2f}",
            ),
            field="parts",
        )
    if contract_areas is None:
        areas = _areas_in_proportion(plot.contract_area_m2, shapes)
    else:
        if not isinstance(contract_areas, list) or len(contract_areas) != len(shapes):
            raise DomainError(
                "contract_areas",
                _("Give one contract area for each new plot."),
                field="contract_areas",
            )
        areas = [land._area(a, "contract_area_m2") for a in contract_areas]
    collective = db.session.get_one(Collective, plot.collective_id)
    new_codes = next_dkbms(collective, len(shapes))
    note = _("Split into %(codes)s.", codes=", ".join(new_codes))
    origin = _("Split from %(code)s.", code=plot.dkbm)
    out = PlotsChanged(ended=[plot])
    with trail.because("plot.split", reason=f"{reason}\n{note}", source_sha256=sha):
        history.end(plot, reason=f"{reason}\n{note}", source_document_id=doc_id)
        _close_findings([plot.uid], _("The plot was split; the new plots are checked anew."))
        for n, (shape, code, area) in enumerate(zip(shapes, new_codes, areas, strict=True), 1):
            text = f"{reason}\n{origin}"
            if n in repaired:
                text += "\n[" + _("Geometry repaired at the user's request.") + "]"
            change = _create(plot, shape, code, reason=text, doc_id=doc_id, contract_area_m2=area)
            change.repaired = n in repaired
            out.created.append(change)
        if plot.contract_uid is not None:
            land._sync_contract_area(plot.contract_uid, source_document_id=doc_id, reason=reason)
    return out


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------


def _same(plots: list[Plot], attribute: str) -> bool:
    return len({getattr(p, attribute) for p in plots}) == 1


def merge_plots(
    plot_uids: list[Any],
    *,
    source_document_id: int,
    reason: str,
    name: str | None = None,
) -> PlotsChanged:
    """Merge two or more neighbouring plots of the same contract into one new plot (地块合并).

    The plots must be current, of one collective and one contract (or all outside any
    contract), of one land class and the same basic-farmland status, and together form one
    piece of land (neighbours within ADJACENCY_M). The new plot's contract area is the sum of
    theirs, its measured area that of the merged boundary; each old plot ends with "merged
    into …" and the contract's area is summed again.
    """
    reason = require_reason(reason)
    if not isinstance(plot_uids, list | tuple):
        plot_uids = [plot_uids]
    uids = sorted({land._uid(u, "plot_uids") for u in plot_uids})
    if not 2 <= len(uids) <= MAX_PARTS:
        raise DomainError(
            "plots_count",
            _("Choose 2 to %(n)s plots to merge.", n=MAX_PARTS),
            field="plot_uids",
        )
    land._serialise_geometry_writes()
    plots = [land._current_plot(uid, lock=True) for uid in uids]  # uid order: no deadlocks
    for plot in plots:
        encumbrances.check_not_blocked("plot", plot.uid, action="edit")
    plots.sort(key=lambda p: p.dkbm)
    if not _same(plots, "collective_id"):
        raise DomainError(
            "merge_collective",
            _("Only plots of the same collective can be merged."),
            field="plot_uids",
        )
    doc_id, sha = land._source(source_document_id, plots[0].collective_id)
    if not _same(plots, "contract_uid"):
        raise DomainError(
            "merge_contract",
            _("Only plots of the same contract can be merged."),
            field="plot_uids",
            rule="R01",
        )
    if not _same(plots, "land_class") or not _same(plots, "is_basic_farmland"):
        raise DomainError(
            "merge_class",
            _("Only plots of the same land class, and all basic farmland or none, can be merged."),
            field="plot_uids",
        )
    if any(p.geom is None for p in plots):
        raise DomainError(
            "no_geometry",
            _("A plot without a recorded boundary cannot be merged."),
            field="plot_uids",
        )
    shapes = [to_shape(p.geom) for p in plots]
    touching = shapely.union_all([s.buffer(ADJACENCY_M) for s in shapes])
    if len(getattr(touching, "geoms", [touching])) != 1:
        raise DomainError(
            "merge_not_adjacent",
            _("The plots do not adjoin one another: only neighbouring plots can be merged."),
            field="plot_uids",
        )
    merged = geo.normalize_polygonal(shapely.union_all(shapes))
    if geo.has_errors(geo.check_geometry(merged, min_area_m2=land.MIN_PLOT_AREA_M2)):
        merged = geo.repair(merged)
    areas = [p.contract_area_m2 for p in plots if p.contract_area_m2 is not None]
    name = land._text(name, "name") if name not in (None, "") else plots[0].name
    collective = db.session.get_one(Collective, plots[0].collective_id)
    [code] = next_dkbms(collective, 1)
    note = _("Merged into %(code)s.", code=code)
    origin = _("Merged from %(codes)s.", codes=", ".join(p.dkbm for p in plots))
    out = PlotsChanged(ended=plots)
    with trail.because("plot.merge", reason=f"{reason}\n{note}", source_sha256=sha):
        for p in plots:
            history.end(p, reason=f"{reason}\n{note}", source_document_id=doc_id)
        _close_findings(
            [p.uid for p in plots], _("The plots were merged; the new plot is checked anew.")
        )
        change = _create(
            plots[0],
            merged,
            code,
            reason=f"{reason}\n{origin}",
            doc_id=doc_id,
            name=name,
            land_use=plots[0].land_use if _same(plots, "land_use") else None,
            contract_area_m2=round(sum(areas), 2) if areas else None,
        )
        out.created.append(change)
        if plots[0].contract_uid is not None:
            land._sync_contract_area(
                plots[0].contract_uid, source_document_id=doc_id, reason=reason
            )
    return out
