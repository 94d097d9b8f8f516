"""Geometry input: parse, CRS, validity, repair, reprojection, the registry CRS's area of
use. The same rules for plots and homesteads.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

import shapely
from flask_babel import gettext as _
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry

from app.core.errors import DomainError
from app.core.i18n import pick
from app.core.spatial import registry_srid
from app.geo import geometry as geo

#: Bounds on what one plot may be: more vertices than this is a file, not a plot.
MAX_VERTICES = 20_000
#: Geometry "tiny" warning threshold, m².
MIN_PLOT_AREA_M2 = 1.0
#: Degrees of slack around the registry CRS's area of use before a plot is refused as "elsewhere".
_AREA_OF_USE_MARGIN_DEG = 1.5


class GeometryRejected(DomainError):
    """An invalid plot geometry: the reason, where it is, and whether a repair can be offered.

    The JSON error carries ``reason`` (a stable code such as ``self_intersection``),
    ``location`` ([x, y] in the coordinates the user sent) and ``repair_available``; the form
    shows the same and offers a checkbox to accept the repair.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        location: tuple[float, float] | None,
        repair_available: bool,
        repaired_area_m2: float | None = None,
    ) -> None:
        super().__init__("invalid_geometry", message, field="geometry")
        self.reason = reason
        self.location = location
        self.repair_available = repair_available
        self.repaired_area_m2 = repaired_area_m2

    def as_dict(self) -> dict:
        out = super().as_dict()
        out["reason"] = self.reason
        out["location"] = list(self.location) if self.location else None
        out["repair_available"] = self.repair_available
        if self.repaired_area_m2 is not None:
            out["repaired_area_m2"] = round(self.repaired_area_m2, 2)
        return out


@dataclass
class PreparedGeometry:
    geom: MultiPolygon  # in the registry CRS
    warnings: list[geo.Finding]
    repair_note: str | None  # what was repaired, for the change reason; None = not repaired


def _unreadable(detail: str | None = None) -> DomainError:
    msg = _("The geometry could not be read: send GeoJSON (a Polygon or MultiPolygon) or WKT.")
    if detail:
        msg = f"{msg} ({detail[:120]})"
    return DomainError("geometry_unreadable", msg, field="geometry")


def _declared_crs(obj: dict) -> str | None:
    """The CRS a GeoJSON object declares with the (2008) ``crs`` member, if any."""
    crs = obj.get("crs")
    if isinstance(crs, dict):
        props = crs.get("properties")
        if isinstance(props, dict) and isinstance(props.get("name"), str):
            return props["name"]
    return None


def parse_geometry(value: Any) -> tuple[BaseGeometry, str | None]:
    """A shapely geometry from GeoJSON (dict or text), WKT or shapely, and the CRS the input
    itself declares (GeoJSON ``crs`` member), if any."""
    declared: str | None = None
    if isinstance(value, BaseGeometry):
        return value, None
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _unreadable() from exc
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise DomainError("geometry_required", _("Give the plot's geometry."), field="geometry")
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise _unreadable(str(exc)) from exc
        else:
            try:
                return shapely.from_wkt(text), None
            except Exception as exc:  # noqa: BLE001 - any parse failure is the user's input
                raise _unreadable() from exc
    if not isinstance(value, dict):
        raise DomainError("geometry_required", _("Give the plot's geometry."), field="geometry")
    declared = _declared_crs(value)
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise DomainError(
                "one_feature",
                _("Send exactly one plot (one feature) at a time."),
                field="geometry",
            )
        value = features[0]
        kind = value.get("type") if isinstance(value, dict) else None
    if kind == "Feature":
        declared = declared or _declared_crs(value)
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise DomainError("geometry_required", _("Give the plot's geometry."), field="geometry")
    try:
        return shape(value), declared
    except Exception as exc:  # noqa: BLE001 - malformed coordinates raise all sorts
        raise _unreadable(str(exc)) from exc


def _rejection(problem: geo.Finding, geom: BaseGeometry, src_crs: CRS) -> GeometryRejected:
    """The error for an invalid geometry, with the repair on offer (and its area) if any."""
    repaired_area = None
    try:
        fixed = geo.repair(geom)
        repaired_area = geo.area_m2(geo.to_registry_crs(fixed, src_crs, registry_srid()))
    except (geo.GeoError, ValueError):
        fixed = None
    message = pick(problem.message_zh, problem.message_en)
    if fixed is not None:
        message = "{}{}{}".format(
            message,
            pick("。", ". "),
            _(
                "A repair is available (the repaired plot would measure %(area)s m²): send the "
                "plot again accepting the suggested repair.",
                area=f"{repaired_area:.2f}",
            ),
        )
    else:
        message = "{}{}{}".format(
            message, pick("。", ". "), _("Correct the boundary and send it again.")
        )
    return GeometryRejected(
        message,
        reason=problem.code,
        location=problem.location,
        repair_available=fixed is not None,
        repaired_area_m2=repaired_area,
    )


@functools.lru_cache(maxsize=4)
def _registry_area_of_use(srid: int) -> tuple[Any, Transformer]:
    """The registry CRS's area of use and a transformer back to its geographic CRS (cached:
    building either is a PROJ database look-up)."""
    crs = CRS.from_epsg(srid)
    return crs.area_of_use, Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)


def _check_area_of_use(geom: MultiPolygon) -> None:
    """Refuse a plot that lands far outside the registry CRS's area: a wrong CRS or swapped
    axes, which would otherwise be stored as a plot somewhere else on earth."""
    aou, back = _registry_area_of_use(registry_srid())
    if aou is None:
        return
    minx, miny, maxx, maxy = geom.bounds
    lons, lats = back.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    m = _AREA_OF_USE_MARGIN_DEG
    inside = all(
        math.isfinite(lon)
        and math.isfinite(lat)
        and aou.west - m <= lon <= aou.east + m
        and aou.south - m <= lat <= aou.north + m
        for lon, lat in zip(lons, lats, strict=True)
    )
    if not inside:
        raise DomainError(
            "outside_area",
            _(
                "The plot lies outside the area of the registry's coordinate system "
                "(EPSG:%(srid)s). Check the CRS you chose and the axis order (longitude first).",
                srid=registry_srid(),
            ),
            field="crs",
        )


def prepare_geometry(geometry: Any, crs: Any, *, accept_repair: bool = False) -> PreparedGeometry:
    """Turn user input into a valid MultiPolygon in the registry CRS, or explain why not.

    The CRS is required (the input's own declaration or the one the user names; the named one
    wins). Validity is judged in the user's coordinates, so the location in the message is one
    they can find; an invalid geometry is refused with the reason, the location and an offer to
    repair it, and only repaired when the user accepts (``accept_repair``).
    """
    geom, declared = parse_geometry(geometry)
    crs_value = crs.strip() if isinstance(crs, str) else crs
    try:
        src_crs = geo.require_crs(declared, crs_value or None)
    except geo.GeoError as exc:
        if exc.code == "crs_missing":  # the form's field, not the command line's --crs
            exc = geo.GeoError(exc.code, *geo.CRS_MISSING_FORM)
        raise DomainError.from_check(exc, field="crs") from exc
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise DomainError(
            "too_many_vertices",
            _("A plot may have at most %(n)s vertices.", n=MAX_VERTICES),
            field="geometry",
        )
    repair_note = None
    errors = [f for f in geo.check_geometry(geom, min_area_m2=0) if f.is_error]
    if errors:
        problem = errors[0]
        if not accept_repair:
            raise _rejection(problem, geom, src_crs)
        try:
            geom = geo.repair(geom)
        except geo.GeoError:
            raise _rejection(problem, geom, src_crs) from None
        repair_note = pick(problem.message_zh, problem.message_en)
    try:
        projected = geo.normalize_polygonal(geo.to_registry_crs(geom, src_crs, registry_srid()))
    except geo.GeoError as exc:
        raise DomainError.from_check(exc, field="geometry") from exc
    findings = geo.check_geometry(projected, min_area_m2=MIN_PLOT_AREA_M2)
    if geo.has_errors(findings):
        # Reprojection can, rarely, fold a nearly degenerate ring; same offer as above.
        problem = next(f for f in findings if f.is_error)
        if not accept_repair:
            raise _rejection(problem, projected, CRS.from_epsg(registry_srid()))
        try:
            projected = geo.repair(projected)
        except geo.GeoError:
            raise _rejection(problem, projected, CRS.from_epsg(registry_srid())) from None
        repair_note = repair_note or pick(problem.message_zh, problem.message_en)
        findings = geo.check_geometry(projected, min_area_m2=MIN_PLOT_AREA_M2)
    _check_area_of_use(projected)
    return PreparedGeometry(projected, [f for f in findings if not f.is_error], repair_note)


def _reason_with_repair(reason: str, prepared: PreparedGeometry) -> str:
    if prepared.repair_note is None:
        return reason
    note = _(
        "Geometry repaired at the user's request (problem: %(problem)s).",
        problem=prepared.repair_note,
    )
    return f"{reason}\n[{note}]"
