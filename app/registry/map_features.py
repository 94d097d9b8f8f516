"""What a map shows: current plots and homesteads in a bounding box, within the reader's reach.

One service for the pages' maps (a cookie-session JSON route) and the API
(``/api/v1/map/features``): the same scoping as the plot and homestead lists
(``auth.scope.readable``: another collective's rights never appear, a farmer sees their own
household's), never more than ``MAP_MAX_FEATURES`` in one answer (a larger box is refused with a
message to zoom in: a county is never sent at once), answered in the CRS the map asked for.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from flask import current_app
from flask_babel import gettext as _
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import or_, select, text
from sqlalchemy.sql.elements import TextClause

from app.auth.scope import readable
from app.core.errors import DomainError
from app.core.maps import tile_source
from app.core.spatial import registry_srid
from app.extensions import db
from app.geo import geometry as geo
from app.registry.models import Homestead, Plot

#: The kinds of feature a map may ask for.
KINDS = ("plot", "homestead")

#: Map CRSs the registry answers in: lon/lat (CGCS2000, WGS 84), Web Mercator (base tiles) and
#: Guangdong's three Gauss-Krüger zones (DOMAIN §4); the registry's own is always among them.
MAP_SRIDS = (4490, 4326, 3857, 4546, 4547, 4548)

#: Digits kept per coordinate: a millimetre in metres, about a centimetre in degrees.
_PRECISION = {"metre": 3, "degree": 7}


@dataclass(frozen=True)
class BBox:
    """A box in the map's CRS (x = easting or longitude)."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    srid: int


@dataclass(frozen=True)
class MapFeature:
    kind: str  # plot / homestead
    uid: int
    code: str  # DKBM or the homestead's unit number
    name: str | None
    collective_id: int
    household_uid: int | None
    geometry: BaseGeometry  # in the map's CRS


@dataclass(frozen=True)
class MapFeatures:
    srid: int
    features: list[MapFeature]


def _bad_box() -> DomainError:
    return DomainError(
        "bbox_invalid",
        _(
            "The map area is not valid: give four numbers, west, south, east and north, "
            "separated by commas."
        ),
        field="bbox",
    )


def parse_srid(value: str | None) -> int:
    """The map's CRS (EPSG:4547, 4547 or empty for the registry's); one of MAP_SRIDS."""
    raw = (value or "").strip().upper()
    if not raw:
        return registry_srid()
    code = raw.removeprefix("EPSG:")
    if code.isdigit() and len(code) <= 6 and int(code) in {*MAP_SRIDS, registry_srid()}:
        return int(code)
    raise DomainError(
        "crs_unsupported",
        _(
            "The map cannot be drawn in this coordinate system. Use CGCS2000 longitude and "
            "latitude, Web Mercator or one of Guangdong's Gauss-Krüger zones."
        ),
        field="crs",
    )


def parse_bbox(value: str | None, srid: int) -> BBox:
    """``west,south,east,north`` in the map's CRS: four finite numbers, west < east and
    south < north."""
    parts = (value or "").split(",")
    if len(parts) != 4 or len(value or "") > 200:
        raise _bad_box()
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise _bad_box() from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx >= maxx or miny >= maxy:
        raise _bad_box()
    return BBox(minx, miny, maxx, maxy, srid)


def _candidates(table: str, dialect: str) -> TextClause:
    """Rows whose geometry's box meets the frame, through the table's spatial index."""
    # Constant fragments only (the table is one of ours); the frame is a bound parameter.
    if dialect == "sqlite":
        sql = (
            f"{table}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = '{table}' "  # noqa: S608
            "AND f_geometry_column = 'geom' AND search_frame = GeomFromWKB(:wkb, :srid))"
        )
        return text(sql)
    return text(f"{table}.geom && ST_GeomFromWKB(:wkb, :srid)")


def _registry_frame(box: BBox) -> tuple[float, float, float, float]:
    """The box in the registry CRS; a box the transform cannot place is refused."""
    if box.srid == registry_srid():
        return (box.minx, box.miny, box.maxx, box.maxy)
    transformer = geo.get_transformer(box.srid, registry_srid())
    try:
        frame = transformer.transform_bounds(box.minx, box.miny, box.maxx, box.maxy)
    except Exception:  # pyproj refuses points it cannot place
        frame = (math.inf,) * 4
    if not all(math.isfinite(v) for v in frame):
        raise DomainError(
            "bbox_outside",
            _("This map area lies outside the region the registry covers."),
            field="bbox",
        )
    return frame


def _too_many(cap: int) -> DomainError:
    return DomainError(
        "bbox_too_many",
        _("More than %(count)s plots and homesteads lie in this area: zoom in to see them.")
        % {"count": cap},
        field="bbox",
    )


def features_in_bbox(
    user: Any,
    box: BBox,
    *,
    kinds: Iterable[str] = KINDS,
    cap: int | None = None,
    also: Mapping[str, Collection[int]] | None = None,
) -> MapFeatures:
    """Current plots and homesteads whose boxes meet ``box``, that ``user`` may read, in the
    box's CRS. More than ``cap`` (MAP_MAX_FEATURES) of them is refused: zoom in.

    ``also``: rights by kind (``{"plot": {12, 13}}``) the caller has found ``user`` may see on
    its page beyond the registry's scope (a marketplace listing's plots, which every member of
    its collective may browse); only those are added, never their neighbours."""
    extra = also or {}
    cap = int(cap or current_app.config["MAP_MAX_FEATURES"])
    wanted = [k for k in KINDS if k in set(kinds)]
    frame = _registry_frame(box)
    params = {
        "wkb": shapely.to_wkb(shapely.box(*frame), include_srid=False),
        "srid": registry_srid(),
    }
    dialect = db.session.connection().dialect.name
    rows: list[tuple[str, Any]] = []
    for kind in wanted:
        model: Any = Plot if kind == "plot" else Homestead
        scope = readable(user, model.collective_id, model.household_uid)
        if extra.get(kind):
            scope = or_(scope, model.uid.in_(sorted(extra[kind])))
        q = (
            select(model)
            .where(
                model.end_lifespan.is_(None),
                model.geom.is_not(None),
                _candidates(model.__tablename__, dialect).bindparams(**params),
                scope,
            )
            .order_by(model.uid)
            .limit(cap + 1 - len(rows))
        )
        rows.extend((kind, obj) for obj in db.session.scalars(q))
        if len(rows) > cap:
            raise _too_many(cap)
    to_map: Callable[..., Any] | None = (
        None
        if box.srid == registry_srid()
        else geo.get_transformer(registry_srid(), box.srid).transform
    )
    features = []
    for kind, obj in rows:
        shape = to_shape(obj.geom)
        if to_map is not None:
            shape = shapely.transform(shape, to_map, interleaved=False)
        features.append(
            MapFeature(
                kind=kind,
                uid=obj.uid,
                code=obj.dkbm if kind == "plot" else obj.unit_number,
                name=obj.name if kind == "plot" else None,
                collective_id=obj.collective_id,
                household_uid=obj.household_uid,
                geometry=shape,
            )
        )
    return MapFeatures(box.srid, features)


@functools.lru_cache(maxsize=8)
def _precision(srid: int) -> int:
    unit = geo.parse_crs(srid).axis_info[0].unit_name
    return _PRECISION["degree" if "degree" in unit else "metre"]


def as_geojson(
    found: MapFeatures, *, href: Callable[[MapFeature], str | None] | None = None
) -> dict:
    """A GeoJSON FeatureCollection naming its CRS (the "name" form OpenLayers reads)."""
    digits = _precision(found.srid)
    out = []
    for f in found.features:
        props: dict[str, Any] = {
            "kind": f.kind,
            "uid": f.uid,
            "code": f.code,
            "name": f.name,
            "collective_id": f.collective_id,
            "household_uid": f.household_uid,
        }
        if href is not None:
            props["href"] = href(f)
        out.append(
            {
                "type": "Feature",
                "id": f"{f.kind}.{f.uid}",
                "geometry": mapping(shapely.transform(f.geometry, lambda c: c.round(digits))),
                "properties": props,
            }
        )
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": f"EPSG:{found.srid}"}},
        "features": out,
    }


@functools.lru_cache(maxsize=8)
def _proj4(srid: int) -> str:
    """The CRS as proj4js defines it (exact for the Gauss-Krüger zones; PROJ warns in general)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return geo.parse_crs(srid).to_proj4() or ""


def map_settings(
    geoms: Iterable[BaseGeometry | None],
    *,
    selected: str | None = None,
    household_uid: int | None = None,
    collective_id: int | None = None,
    outline: BaseGeometry | None = None,
    features: str | None = None,
) -> dict[str, str] | None:
    """What a page's map reads from its data- attributes (the ``map_panel`` macro writes them):
    where to open (the box of ``geoms``, in the registry CRS, with a margin), which right is
    highlighted (``"plot.12"``), whose rights are the page's own (the rest are shaded as
    neighbours), the registry CRS for proj4, and the county's tiles if any. None: nothing to
    draw.

    With ``outline`` given (a plot form: the plot's boundary, or an empty geometry for a new
    plot), the map is also an editor: the administrator draws or moves the outline, snapping to
    the neighbours, and the map writes it as GeoJSON in the registry CRS into the form's
    ``geometry`` field, which is submitted like a pasted one (the same service and checks).

    ``selected`` may name several rights, comma-separated (a listing's plots). ``features``: the
    URL the map fetches its features from, when not the registry's own (``/map/features``)."""
    shapes = [g for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return None
    minx, miny, maxx, maxy = shapely.GeometryCollection(shapes).bounds
    # Room around the page's rights for their neighbours to show.
    margin = max(maxx - minx, maxy - miny) * 0.25 + 40.0
    srid = registry_srid()
    tiles = tile_source(current_app.config)
    out = {
        "extent": ",".join(
            f"{v:.2f}" for v in (minx - margin, miny - margin, maxx + margin, maxy + margin)
        ),
        "registry-crs": f"EPSG:{srid}",
        "registry-proj4": _proj4(srid),
        "tiles": tiles.url if tiles is not None else "",
        "selected": selected or "",
        "household": str(household_uid or ""),
        "collective": str(collective_id or ""),
    }
    if features:
        out["features"] = features
    if outline is not None:
        out["edit"] = "geometry"  # the form field the outline goes to
        out["edit-crs"] = "crs"  # …and the field naming its CRS
        out["outline"] = (
            "" if outline.is_empty else json.dumps(mapping(outline), separators=(",", ":"))
        )
    return out
