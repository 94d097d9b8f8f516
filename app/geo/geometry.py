"""Geometry handling for the registry: CRS parsing, reprojection, validation, repair, areas,
overlaps and small server-side SVG maps.

Everything here is a pure function over shapely / pyproj objects: no Flask, no database. The
importer, the web forms and the background jobs all call into this module so that a plot is
judged the same way wherever it enters the registry.

Conventions that the rest of the code relies on:

* The registry stores plots in one *projected* CRS (``REGISTRY_SRID``, EPSG:4547 by default:
  CGCS2000 / 3-degree Gauss-Krüger CM 114E, false easting 500000), so that areas and overlap
  tolerances are in square metres and need no geodesic maths.
* Coordinates are always ``x = longitude/easting, y = latitude/northing``. EPSG:4326 and
  EPSG:4490 define latitude first; every transformer is built with ``always_xy=True`` so a
  file's GeoJSON-style ``[lon, lat]`` pairs are never silently swapped.
* Only Polygon and MultiPolygon are plots. Stored plots are MultiPolygon so one column type
  fits both.
* Errors that a user must act on carry a stable ``code`` plus a Chinese and an English message,
  so the UI can show them in the user's language and tests/clients can match on the code.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.errors import GEOSException
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

__all__ = [
    "MU_M2",
    "REGISTRY_SRID",
    "Finding",
    "GeoError",
    "area_m2",
    "check_geometry",
    "get_transformer",
    "has_errors",
    "interior_overlap_area",
    "m2_to_mu",
    "mu_to_m2",
    "normalize_polygonal",
    "OverlapGroup",
    "Overlaps",
    "overlap_findings",
    "overlap_pairs",
    "overlaps_beyond",
    "parse_crs",
    "repair",
    "require_crs",
    "svg_path",
    "to_registry_crs",
    "transform_array",
    "validity_finding",
]

#: Default storage CRS: CGCS2000 / 3-degree Gauss-Krüger CM 114E (covers Shixing, Guangdong).
REGISTRY_SRID = 4547

#: Square metres in one 亩 (mu): 1 亩 = 10000/15 m² ≈ 666.67 m², the unit on Chinese land
#: contracts and certificates.
MU_M2 = 10000.0 / 15.0

CrsLike = CRS | int | str
Severity = Literal["error", "warning"]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class GeoError(ValueError):
    """A geometry/CRS problem the user has to fix, with a stable code and bilingual messages.

    It subclasses ValueError because it *is* bad input, so generic ``except ValueError`` handlers
    (form validation, CLI argument parsing) keep working. ``str(err)`` is the English message so
    logs and tracebacks stay readable; the UI shows ``message_zh``.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:
        return self.message_en

    def __reduce__(self) -> tuple[Any, ...]:
        # Background jobs pickle exceptions; the default reduce would call GeoError(message_en).
        return (type(self), (self.code, self.message_zh, self.message_en))


# --------------------------------------------------------------------------------------------
# CRS parsing and transformation
# --------------------------------------------------------------------------------------------

_EPSG_RE = re.compile(r"EPSG:\d+", re.IGNORECASE)


def _short(value: object, limit: int = 80) -> str:
    """Shorten user input for an error message (a junk WKT can be kilobytes long)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_crs(value: CrsLike) -> CRS:
    """Turn whatever a file, form or CLI gave us into a pyproj CRS, or raise GeoError("crs").

    Accepts an EPSG code as int (``4547``) or digit string (``"4547"``), an authority string in
    any case (``"EPSG:4547"``, ``"epsg:4547"``), a WKT or PROJ string, or a CRS object. A bare
    digit string is read as an EPSG code because that is what registry staff type. Anything
    else becomes one GeoError with a Chinese message, so callers never see pyproj's internals.
    """
    if isinstance(value, CRS):
        return value
    bad = GeoError(
        "crs",
        f"无法识别的坐标参考系：{_short(value)}。请使用 EPSG 代码（例如 EPSG:4490）或 WKT。",
        f"Unrecognised coordinate reference system: {_short(value)}. "
        "Use an EPSG code (e.g. EPSG:4490) or WKT.",
    )
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad
    user_input: int | str = value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise bad
        user_input = f"EPSG:{text}" if text.isdigit() else text
    try:
        return CRS.from_user_input(user_input)
    except CRSError as exc:
        raise bad from exc


def require_crs(declared: CrsLike | None, override: CrsLike | None) -> CRS:
    """Pick the CRS to read a file with: the operator's override wins over the file's claim.

    The override exists because files lie (shapefiles without .prj, GeoJSON that is really in
    a projected CRS). Guessing is never done: with neither, the import stops with
    GeoError("crs_missing") and tells the operator how to say it.
    """
    if override is not None:
        return parse_crs(override)
    if declared is not None:
        return parse_crs(declared)
    raise GeoError(
        "crs_missing",
        "文件未声明坐标参考系，请指定 --crs（例如 EPSG:4490）",
        "The file does not declare a coordinate reference system; specify --crs (e.g. EPSG:4490)",
    )


# The same refusal for someone at a web form (or the API), who names the CRS in a field of the
# form, not with the command line's --crs.
CRS_MISSING_FORM = (
    "图形未注明坐标系，请在表单中选择坐标系（例如 EPSG:4490 · CGCS2000 经纬度）。",
    "The geometry does not say which coordinate system it uses: "
    "choose one in the form (e.g. EPSG:4490 · CGCS2000).",
)


def for_form(error: tuple[str, str, str] | None) -> tuple[str, str, str] | None:
    """A stored (code, zh, en) refusal as shown on a page: "crs_missing" asks for the form's
    field instead of the command-line flag."""
    if error is not None and error[0] == "crs_missing":
        return (error[0], *CRS_MISSING_FORM)
    return error


def _crs_key(crs: CRS) -> str:
    """A stable, hashable string for the transformer cache ("EPSG:4547" when possible)."""
    srs = crs.srs
    if srs and _EPSG_RE.fullmatch(srs.strip()):
        return srs.strip().upper()
    authority = crs.to_authority(min_confidence=100)
    if authority is not None:
        return f"{authority[0]}:{authority[1]}"
    return crs.to_wkt()


@functools.lru_cache(maxsize=64)
def _transformer(src_key: str, dst_key: str) -> Transformer:
    # Building a Transformer means a PROJ database look-up (milliseconds); an import calls this
    # per file or per feature, so it is cached. pyproj Transformers are thread-safe (>= 3.1).
    return Transformer.from_crs(src_key, dst_key, always_xy=True)


def get_transformer(src: CrsLike, dst: CrsLike = REGISTRY_SRID) -> Transformer:
    """Cached ``Transformer.from_crs(src, dst, always_xy=True)`` for any CRS-like inputs.

    ``4547``, ``"epsg:4547"`` and ``CRS.from_epsg(4547)`` share one cache entry.
    """
    return _transformer(_crs_key(parse_crs(src)), _crs_key(parse_crs(dst)))


try:  # shapely >= 2.1 can hand x and y to the function as separate arrays (no copy)
    # types-shapely describes only the one-array callable; interleaved=False passes x and y.
    shapely.transform(
        shapely.Point(0, 0),
        lambda x, y: (x, y),  # type: ignore[arg-type, misc]
        interleaved=False,
    )
    _HAS_INTERLEAVED = True
except TypeError:  # pragma: no cover - shapely 2.0
    _HAS_INTERLEAVED = False


def _transform_fn(transformer: Transformer, src_label: str) -> Callable[..., Any]:
    """Wrap a transformer for shapely.transform and refuse coordinates PROJ could not map.

    PROJ returns ``inf`` instead of raising for points outside a projection's domain; the usual
    cause is a file with latitude/longitude swapped. Storing ``inf`` would corrupt the plot, so
    it becomes GeoError("transform"). Coordinates that were already non-finite are left for
    check_geometry to report as invalid_coordinate.
    """

    def check(xs: np.ndarray, ys: np.ndarray, ox: np.ndarray, oy: np.ndarray) -> None:
        lost = (np.isfinite(xs) & np.isfinite(ys)) & ~(np.isfinite(ox) & np.isfinite(oy))
        if lost.any():
            i = int(np.argmax(lost))
            raise GeoError(
                "transform",
                f"坐标转换失败：点 ({xs[i]}, {ys[i]}) 超出坐标参考系 {src_label} 的有效范围，"
                "可能是经纬度顺序颠倒（应为 经度, 纬度）或指定了错误的坐标参考系",
                f"Coordinate transformation failed: point ({xs[i]}, {ys[i]}) is outside the "
                f"valid area of {src_label}; longitude/latitude may be swapped (expected "
                "lon, lat) or the wrong CRS was given",
            )

    if _HAS_INTERLEAVED:

        def fn(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ox, oy = transformer.transform(x, y)
            check(x, y, ox, oy)
            return ox, oy

        return fn

    def fn_interleaved(coords: np.ndarray) -> np.ndarray:  # pragma: no cover - shapely 2.0
        x, y = coords[:, 0], coords[:, 1]
        ox, oy = transformer.transform(x, y)
        check(x, y, ox, oy)
        return np.column_stack([ox, oy])

    return fn_interleaved


def _apply_transform(geoms: Any, src: CrsLike, dst: CrsLike) -> Any:
    src_crs, dst_crs = parse_crs(src), parse_crs(dst)
    transformer = _transformer(_crs_key(src_crs), _crs_key(dst_crs))
    fn = _transform_fn(transformer, _crs_key(src_crs)[:60])
    if _HAS_INTERLEAVED:
        return shapely.transform(geoms, fn, interleaved=False)
    return shapely.transform(geoms, fn)  # pragma: no cover - shapely 2.0


def to_registry_crs(
    geom: BaseGeometry, src_crs: CrsLike, dst_srid: CrsLike = REGISTRY_SRID
) -> BaseGeometry:
    """Reproject one geometry into the registry's projected CRS (2D; Z is dropped).

    The destination must be projected: areas in square degrees would make every area, mu and
    overlap tolerance meaningless, so a geographic target raises GeoError("crs_not_projected").
    """
    dst = parse_crs(dst_srid)
    if not dst.is_projected:
        raise GeoError(
            "crs_not_projected",
            f"登记库坐标参考系必须是投影坐标系（以米为单位），{_crs_key(dst)[:60]} 不是",
            f"The registry CRS must be projected (metres); {_crs_key(dst)[:60]} is not",
        )
    return _apply_transform(geom, src_crs, dst)


def transform_array(
    geoms: np.ndarray | Sequence[BaseGeometry | None],
    src: CrsLike,
    dst: CrsLike = REGISTRY_SRID,
) -> np.ndarray:
    """Reproject a whole array of geometries in one vectorised PROJ call (bulk import).

    One call for 300k plots instead of 300k Python-level calls; ``None`` entries (features
    without geometry) stay ``None`` so indices keep matching the file's rows.
    """
    return np.asarray(_apply_transform(_as_array(geoms), src, dst), dtype=object)


def _as_array(geoms: np.ndarray | Iterable[BaseGeometry | None]) -> np.ndarray:
    """A 1-D object array of geometries without numpy trying to unpack them."""
    if isinstance(geoms, np.ndarray):
        return geoms
    items = list(geoms)
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a plot geometry.

    ``severity="error"`` blocks registration until fixed (or repaired with the user's consent);
    ``"warning"`` is shown for review but does not block. ``location`` is in the geometry's
    own coordinates, so the UI can put a marker where GEOS found the problem.
    """

    code: str
    severity: Severity
    message_zh: str
    message_en: str
    location: tuple[float, float] | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding blocks registration."""
    return any(f.is_error for f in findings)


# GEOS reason prefix (lower case) -> (code, Chinese, English). Order matters: longer prefixes
# first ("ring self-intersection" before "self-intersection").
_REASONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "ring self-intersection",
        "ring_self_intersection",
        "边界环自身接触（在一点相切）",
        "Boundary ring touches itself",
    ),
    ("self-intersection", "self_intersection", "边界自相交", "Boundary self-intersects"),
    (
        "too few points",
        "too_few_points",
        "边界点数过少，无法构成面",
        "Too few points to form a ring",
    ),
    (
        "hole lies outside shell",
        "hole_outside_shell",
        "内环（孔洞）位于外边界之外",
        "A hole lies outside the outer boundary",
    ),
    ("holes are nested", "nested_holes", "孔洞相互嵌套", "Holes are nested inside each other"),
    (
        "interior is disconnected",
        "disconnected_interior",
        "面内部不连通（孔洞把地块分割开）",
        "Interior is disconnected (holes split the plot)",
    ),
    (
        "nested shells",
        "nested_shells",
        "多部件地块的一个部分位于另一部分之内",
        "One part of the multipolygon lies inside another",
    ),
    ("duplicate rings", "duplicate_rings", "存在重复的边界环", "Duplicate rings"),
    (
        "invalid coordinate",
        "invalid_coordinate",
        "存在无效坐标（非数字或无穷大）",
        "Invalid coordinate (NaN or infinite)",
    ),
    ("ring is not closed", "ring_not_closed", "边界环未闭合", "Ring is not closed"),
)

_LOCATION_RE = re.compile(r"\[\s*(\S+)\s+(\S+)(?:\s+\S+)?\s*\]\s*$")


def _fmt(v: float) -> str:
    """Short human coordinate: centimetres for projected values, ~1 cm for degrees."""
    decimals = 2 if abs(v) >= 1000 else 7
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _parse_location(reason: str) -> tuple[float, float] | None:
    """GEOS appends the problem point as ``[x y]``; None when absent or non-finite."""
    m = _LOCATION_RE.search(reason)
    if not m:
        return None
    try:
        x, y = float(m.group(1)), float(m.group(2))
    except ValueError:
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def validity_finding(geom: BaseGeometry) -> Finding | None:
    """Map GEOS's validity reason for ``geom`` to a Finding with a stable code, or None if valid.

    ``shapely.is_valid_reason`` returns free text such as ``"Self-intersection[5 5]"``; the UI
    and API need a code that does not change with GEOS versions, a Chinese message, and the
    location so the problem can be pointed at on the map.
    """
    reason = shapely.is_valid_reason(geom)
    if reason is None or reason == "Valid Geometry":
        return None
    location = _parse_location(reason)
    head = reason.split("[", 1)[0].strip()
    lower = head.lower()
    known = next((r for r in _REASONS if lower.startswith(r[0])), None)
    if known is not None:
        _, code, zh, en = known
    else:
        code, zh, en = "other", f"几何图形无效：{head}", f"Invalid geometry: {head}"
    if location is not None:
        x, y = _fmt(location[0]), _fmt(location[1])
        zh = f"{zh}，位置 ({x}, {y})"
        en = f"{en} at ({x}, {y})"
    return Finding(code, "error", zh, en, location)


def check_geometry(geom: BaseGeometry | None, *, min_area_m2: float = 1.0) -> list[Finding]:
    """Everything wrong or suspicious with one plot geometry, errors first; [] means clean.

    Errors: ``empty`` (no geometry at all), ``not_polygon`` (a plot must be an area), and the
    GEOS validity codes from validity_finding. Warnings: ``multipart`` (one plot in several
    separate pieces is legal but often a digitising mistake) and ``tiny`` (area below
    ``min_area_m2``; 0 disables it). Area is only judged on valid polygons, because the area of
    a self-intersecting ring is meaningless. Call it on the *projected* geometry: that is what
    gets stored, and ``min_area_m2`` assumes metres.
    """
    if geom is None or geom.is_empty:
        return [Finding("empty", "error", "几何图形为空", "Geometry is empty")]
    if not isinstance(geom, Polygon | MultiPolygon):
        return [
            Finding(
                "not_polygon",
                "error",
                f"地块必须是面（Polygon 或 MultiPolygon），实际为 {geom.geom_type}",
                f"A plot must be a Polygon or MultiPolygon, got {geom.geom_type}",
            )
        ]
    findings: list[Finding] = []
    invalid = validity_finding(geom)
    if invalid is not None:
        findings.append(invalid)
    if isinstance(geom, MultiPolygon) and len(geom.geoms) > 1:
        n = len(geom.geoms)
        findings.append(
            Finding(
                "multipart",
                "warning",
                f"地块由 {n} 个互不相连的部分组成",
                f"The plot consists of {n} separate parts",
            )
        )
    if invalid is None and min_area_m2 > 0:
        area = float(geom.area)
        if area < min_area_m2:
            findings.append(
                Finding(
                    "tiny",
                    "warning",
                    f"地块面积过小：{area:.2f} 平方米（下限 {min_area_m2:g} 平方米）",
                    f"The plot is tiny: {area:.2f} m² (minimum {min_area_m2:g} m²)",
                )
            )
    return findings


# --------------------------------------------------------------------------------------------
# Repair and normalisation
# --------------------------------------------------------------------------------------------


def normalize_polygonal(geom: BaseGeometry | None) -> MultiPolygon:
    """Return the polygonal content of ``geom`` as one MultiPolygon (the storage type).

    Polygon -> MultiPolygon of one; MultiPolygon unchanged; collections keep only their
    non-empty polygonal parts (nested collections included); anything else -> empty
    MultiPolygon. It does not dissolve or validate: that is repair()'s job.
    """
    if geom is None or geom.is_empty:
        return MultiPolygon()
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, GeometryCollection):  # also the base of Multi* types
        polys: list[Polygon] = []
        for part in geom.geoms:
            polys.extend(p for p in normalize_polygonal(part).geoms if not p.is_empty)
        return MultiPolygon(polys)
    return MultiPolygon()


def repair(geom: BaseGeometry) -> MultiPolygon:
    """A valid MultiPolygon close to ``geom``, for the caller to *offer* to the user.

    Never applied silently: repair can drop slivers, spikes and collapsed parts, which changes
    a legal boundary, so the UI shows the result and the user accepts it. Uses
    ``make_valid(method="structure")`` (shapely >= 2.1 / GEOS >= 3.10), which treats rings as
    area boundaries and so keeps a bow-tie's two lobes and drops zero-width spikes, unlike
    "linework" which can return stray lines; falls back to the default method on older
    libraries. Raises GeoError("invalid_coordinate") for NaN/inf vertices (GEOS would just drop
    them and move the boundary) and GeoError("repair_empty") when nothing areal is left.
    """
    if geom is None or geom.is_empty:
        raise GeoError(
            "repair_empty", "几何图形为空，无法修复", "Geometry is empty; nothing to repair"
        )
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise GeoError(
            "invalid_coordinate",
            "存在无效坐标（非数字或无穷大），无法自动修复，请重新测绘或编辑该点",
            "The geometry has NaN or infinite coordinates and cannot be repaired automatically",
        )
    try:
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    except (TypeError, ValueError):  # pragma: no cover - shapely < 2.1 or GEOS < 3.10
        fixed = shapely.make_valid(geom)
    result = normalize_polygonal(fixed)
    if not result.is_empty and not result.is_valid:
        # Polygonal parts pulled out of a collection may share edges; dissolve them.
        result = normalize_polygonal(shapely.union_all(list(result.geoms)))
    if result.is_empty:
        raise GeoError(
            "repair_empty",
            "修复后不再有面积（图形退化为线或点），请重新绘制地块",
            "Nothing with an area is left after repair (the shape collapses to lines or "
            "points); redraw the plot",
        )
    return result


# --------------------------------------------------------------------------------------------
# Areas
# --------------------------------------------------------------------------------------------


def area_m2(geom: BaseGeometry) -> float:
    """Planar area in m²; the geometry must already be in the projected registry CRS."""
    return float(geom.area)


def m2_to_mu(m2: float) -> float:
    """Square metres to 亩 (1 亩 = 10000/15 m²), the unit on contracts and certificates."""
    return m2 / MU_M2


def mu_to_m2(mu: float) -> float:
    """亩 to square metres (inverse of m2_to_mu)."""
    return mu * MU_M2


def area_difference(contract_m2: Any, measured_m2: Any) -> Any:
    """How far a contract area (HTMJ) is from the measured one (SCMJ), as a fraction of the
    measured area. Works on numbers and on numpy arrays alike: the importer compares whole
    columns, the plot services one plot, and both must judge the same way."""
    return abs(contract_m2 - measured_m2) / measured_m2


def area_mismatch_finding(
    contract_m2: float | None, measured_m2: float | None, percent: float
) -> Finding | None:
    """A warning when the contract and measured areas differ by more than ``percent`` of the
    measured area (the county's IMPORT_AREA_MISMATCH_PERCENT). They differ legitimately, so it
    never blocks; None when they agree or either is missing."""
    if contract_m2 is None or measured_m2 is None:
        return None
    c, m = float(contract_m2), float(measured_m2)
    if not (math.isfinite(c) and math.isfinite(m)) or m == 0:
        return None
    d = area_difference(c, m)
    if d <= percent / 100.0:
        return None
    return Finding(
        "area_mismatch",
        "warning",
        f"合同面积 {c:.2f} 平方米与实测面积 {m:.2f} 平方米相差 {d * 100:.1f}%，超过 {percent:g}%",
        f"Contract area {c:.2f} m² and measured area {m:.2f} m² differ by {d * 100:.1f}%, "
        f"more than {percent:g}%",
    )


# --------------------------------------------------------------------------------------------
# Overlaps
# --------------------------------------------------------------------------------------------

# DE-9IM: "the interiors intersect". For polygons this is intersects-but-not-just-touches, i.e.
# exactly the pairs whose intersection can have an area. Neighbouring plots share edges, so
# this filter discards most candidate pairs before the (much dearer) overlay.
_INTERIORS_INTERSECT = "T********"
_CHUNK = 65_536


def _invalid_error(indices: Iterable[int]) -> GeoError:
    shown = ", ".join(str(i) for i in list(indices)[:10])
    return GeoError(
        "invalid_geometry",
        f"无效的几何图形无法计算重叠，请先检查并修复（序号 {shown}）",
        f"Cannot compute overlaps of invalid geometries; check and repair them first "
        f"(indices {shown})",
    )


def interior_overlap_area(a: BaseGeometry, b: BaseGeometry) -> float:
    """Area (m²) shared by the interiors of two plots; neighbours that only touch give 0.

    Both geometries must be valid (GEOS cannot overlay a self-intersecting ring); otherwise
    GeoError("invalid_geometry").
    """
    try:
        if not shapely.relate_pattern(a, b, _INTERIORS_INTERSECT):
            return 0.0
        return float(shapely.area(shapely.intersection(a, b)))
    except GEOSException as exc:
        raise _invalid_error([i for i, g in enumerate((a, b)) if not g.is_valid]) from exc


def overlaps_beyond(a: BaseGeometry, b: BaseGeometry, tolerance_m2: float = 1.0) -> bool:
    """True only when two plots share more than ``tolerance_m2`` of area.

    Surveyed neighbours routinely overlap by slivers of a few cm² from rounding and digitising;
    flagging those would drown the real conflicts, hence the tolerance.
    """
    return interior_overlap_area(a, b) > tolerance_m2


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _coverage_suspects(arr: np.ndarray) -> np.ndarray:
    """True for each polygon that may overlap another: those the coverage validator finds an
    invalid edge on (and, to be safe, every polygon when the validator cannot run)."""
    present = np.flatnonzero(~(shapely.is_missing(arr) | shapely.is_empty(arr)))
    suspect = np.zeros(arr.size, dtype=bool)
    if present.size < 2:
        return suspect
    try:
        edges = shapely.coverage_invalid_edges(arr[present])
    except (GEOSException, ValueError, TypeError):  # invalid input: the exact test will say
        suspect[present] = True
        return suspect
    suspect[present] = ~shapely.is_empty(edges)  # a missing result counts as suspect
    return suspect


def overlap_pairs(
    geoms: np.ndarray | Sequence[BaseGeometry | None],
    tolerance_m2: float = 1.0,
    *,
    workers: int | None = None,
) -> list[tuple[int, int, float]]:
    """All pairs ``(i, j, area)`` with ``i < j`` whose interiors share more than ``tolerance_m2``.

    Built for checking a whole import file (up to ~300k plots) against itself, so nothing loops
    over pairs in Python:

    1. GEOS's coverage validator (``shapely.coverage_invalid_edges``) marks every polygon with
       an edge that is not matched exactly by its neighbour's or that enters another polygon.
       Surveyed plots mostly share their edges vertex for vertex, so this linear pass clears most
       of them at once; a pair can only overlap if at least one of the two is marked (a pair
       whose interiors meet always leaves an invalid edge on one of them, identical twins
       included).
    2. An STRtree bounding-box query gives candidate pairs; a vectorised DE-9IM test keeps those,
       among pairs with a marked member, whose interiors meet (dropping neighbours that only
       share an edge), and only those get a vectorised intersection.

    Candidates are processed in chunks to bound memory; GEOS releases the GIL, so chunks run on
    ``workers`` threads (default: the usable CPUs, at most 8; 1 disables threading).
    ``None``/empty entries are skipped. Inputs must be valid and projected; an invalid one raises
    GeoError("invalid_geometry") naming it. Results are sorted by (i, j).

    Every pair means quadratic work on a stack of plots drawn over one another (1,500 identical
    squares: 1.1 million pairs); imports use ``overlap_findings``, which bounds it.
    """
    arr = _as_array(geoms)
    if arr.size < 2:
        return []
    suspect = _coverage_suspects(arr)
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr)  # bounding boxes only: the exact tests below are vectorised
    keep = (left < right) & (suspect[left] | suspect[right])
    li, ri, areas = _exact(arr, left[keep], right[keep], workers)
    big = areas > tolerance_m2
    li, ri, areas = li[big], ri[big], areas[big]
    order = np.lexsort((ri, li))
    return [
        (int(i), int(j), float(a))
        for i, j, a in zip(li[order], ri[order], areas[order], strict=True)
    ]


# --------------------------------------------------------------------------------------------
# Overlaps with bounded work: groups instead of every pair
# --------------------------------------------------------------------------------------------

#: A plot whose bounding box meets more than this many others is *crowded*. Surveyed plots meet
#: eight or nine neighbours; only a stack of plots drawn over one another (or a big plot over
#: many small ones) gets near this. Pairs of two crowded plots are not listed one by one.
CROWD = 64
#: This many or more plots with exactly the same boundary are one finding; two are a pair.
GROUP_MIN = 3
#: Each crowded plot is first tested against this many crowded plots next to it in x order.
_PROBE = 8
#: Bounding-box pairs materialised at once while counting neighbours (bounds memory).
_PAIR_BUDGET = 1 << 20


@dataclass(frozen=True, slots=True)
class OverlapGroup:
    """Plots that overlap as a group: ``duplicate`` (exactly the same boundary, ``area_m2``
    each) or ``stack`` (crowded plots overlapping one another). ``members`` holds every index,
    sorted; a report shows a few of them and the count."""

    kind: Literal["duplicate", "stack"]
    members: tuple[int, ...]
    area_m2: float | None = None


@dataclass(slots=True)
class Overlaps:
    """What ``overlap_findings`` found: ordinary pairs ``(i, j, area)`` with ``i < j``, sorted,
    and groups. ``faulty()`` is every index that overlaps another beyond the tolerance."""

    pairs: list[tuple[int, int, float]]
    groups: list[OverlapGroup]

    def faulty(self) -> set[int]:
        out = {i for p in self.pairs for i in p[:2]}
        for g in self.groups:
            out.update(g.members)
        return out


def _exact(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (left, right) whose interiors meet, with their intersection areas: DE-9IM
    first, the overlay only for the hits; chunked, on threads (GEOS releases the GIL)."""

    def run(sl: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        li, ri = left[sl], right[sl]
        a, b = geoms[li], geoms[ri]
        try:
            hit = shapely.relate_pattern(a, b, _INTERIORS_INTERSECT)
            return li[hit], ri[hit], shapely.area(shapely.intersection(a[hit], b[hit]))
        except GEOSException as exc:
            candidates = np.unique(np.concatenate([li, ri]))
            bad = candidates[~shapely.is_valid(geoms[candidates])]
            raise _invalid_error(bad.tolist()) from exc

    slices = [slice(s, s + _CHUNK) for s in range(0, left.size, _CHUNK)]
    n_workers = _default_workers() if workers is None else max(1, workers)
    if n_workers == 1 or len(slices) <= 1:
        parts = [run(s) for s in slices]
    else:
        with ThreadPoolExecutor(max_workers=min(n_workers, len(slices))) as pool:
            parts = list(pool.map(run, slices))
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _query_chunks(
    tree: shapely.STRtree, geoms: np.ndarray, which: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Bounding-box matches ``(query, tree)`` of the geometries ``which``, a few at a time, so
    that a stack of thousands of plots never materialises millions of pairs at once: each
    chunk is sized from the previous one's yield to about ``_PAIR_BUDGET`` pairs."""
    start, size = 0, 256
    while start < which.size:
        part = which[start : start + size]
        qi, ti = tree.query(geoms[part])
        yield part[qi], ti
        start += part.size
        per_query = max(qi.size / max(part.size, 1), 1.0)
        size = int(min(65_536, max(16, _PAIR_BUDGET / per_query)))


class _Union:
    """Union-find over 0..n-1 (path halving)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _shared_bounds(bounds: np.ndarray, at_least: int) -> np.ndarray:
    """Indices of the rows of ``bounds`` that occur ``at_least`` times (sorted, vectorised)."""
    if len(bounds) < at_least:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort(bounds.T[::-1])
    b = bounds[order]
    new_run = np.ones(len(b), dtype=bool)
    new_run[1:] = np.any(b[1:] != b[:-1], axis=1)
    run = np.cumsum(new_run) - 1
    size = np.bincount(run)
    return np.sort(order[size[run] >= at_least])


def _duplicates(
    g: np.ndarray, among: np.ndarray, tolerance_m2: float
) -> tuple[list[tuple[np.ndarray, float]], np.ndarray]:
    """Groups (member indices, area) of GROUP_MIN or more geometries among ``among`` with
    exactly the same boundary (compared as normalised WKB, so vertex order and ring direction do
    not matter), and a mask over ``g`` of the members the search can skip: all but the first of
    each group, since whatever overlaps one overlaps all of them by the same area."""
    skip = np.zeros(g.size, dtype=bool)
    if among.size < GROUP_MIN:
        return [], skip
    try:
        keys = shapely.to_wkb(shapely.normalize(g[among]))
    except GEOSException as exc:
        raise _invalid_error(among[~shapely.is_valid(g[among])].tolist()) from exc
    first: dict[bytes, int] = {}
    rep = np.fromiter(
        (first.setdefault(k, i) for i, k in enumerate(keys.tolist())),
        dtype=np.int64,
        count=among.size,
    )
    counts = np.bincount(rep, minlength=among.size)
    big = np.flatnonzero(counts >= GROUP_MIN)
    if big.size == 0:
        return [], skip
    order = np.argsort(rep, kind="stable")
    starts = np.searchsorted(rep[order], big)
    areas = shapely.area(g[among[big]])
    groups: list[tuple[np.ndarray, float]] = []
    for r, s, area in zip(big.tolist(), starts.tolist(), areas.tolist(), strict=True):
        members = among[order[s : s + counts[r]]]
        skip[members] = True
        skip[among[r]] = False
        if area > tolerance_m2:
            groups.append((members, float(area)))
    return groups, skip


def overlap_findings(
    geoms: np.ndarray | Sequence[BaseGeometry | None],
    tolerance_m2: float = 1.0,
    *,
    crowd: int = CROWD,
    workers: int | None = None,
) -> Overlaps:
    """Overlaps beyond ``tolerance_m2`` among ``geoms``, with work bounded whatever the input.

    Ordinary overlaps come out exactly as ``overlap_pairs`` gives them (two plots over the
    tolerance, containment, half-shared edges, identical twins). What would make the pair list
    quadratic becomes one group each instead:

    1. Bounding-box neighbours are counted in chunks (memory stays bounded); a plot with more
       than ``crowd`` of them is *crowded*. Every pair with at least one uncrowded plot is
       tested exactly, as in ``overlap_pairs`` (at most ``crowd`` pairs per uncrowded plot).
    2. Among crowded plots, GROUP_MIN or more with the same boundary (a hash of the normalised
       geometry) are one ``duplicate`` group; only the first of them goes on.
    3. The other crowded plots are sorted by x and each is tested against the next few; one
       still unmatched (and not already overlapping an uncrowded plot) is tested against all
       its crowded neighbours, so every plot that overlaps another is found. Crowded plots
       linked by overlaps form components: two are a pair, three or more a ``stack`` group.

    So ``faulty()`` is exactly the set of plots that overlap another beyond the tolerance,
    while a stack of thousands of plots costs a few thousand tests and a handful of findings.
    On ordinary data nothing is crowded and the only extra work over ``overlap_pairs`` is
    counting. Inputs must be valid and projected (GeoError("invalid_geometry") otherwise);
    ``None`` and empty entries are skipped.
    """
    arr = _as_array(geoms)
    present = np.flatnonzero(~(shapely.is_missing(arr) | shapely.is_empty(arr)))
    if present.size < 2:
        return Overlaps([], [])
    # identical boundaries have identical bounds: only plots sharing their bounds with
    # GROUP_MIN - 1 others are hashed (on ordinary data, none)
    same_box = _shared_bounds(shapely.bounds(arr[present]), GROUP_MIN)
    dups, skip = _duplicates(arr[present], same_box, tolerance_m2)
    groups = [
        OverlapGroup("duplicate", tuple(sorted(present[members].tolist())), area)
        for members, area in dups
    ]
    present = present[~skip]  # from here on, one plot of each group stands for all of it
    g = arr[present]
    m = g.size
    pairs_l: list[np.ndarray] = []
    pairs_r: list[np.ndarray] = []
    pairs_a: list[np.ndarray] = []
    if m < 2:
        return Overlaps([], groups)
    tree = shapely.STRtree(g)
    degree = np.zeros(m, dtype=np.int64)
    kept: list[tuple[np.ndarray, np.ndarray]] | None = []  # reused below while small
    n_kept = 0
    for qi, ti in _query_chunks(tree, g, np.arange(m)):
        degree += np.bincount(qi, minlength=m)
        if kept is not None:
            n_kept += qi.size
            kept = [*kept, (qi, ti)] if n_kept <= _PAIR_BUDGET else None
    crowded = (degree - 1) > crowd  # a geometry's box always meets itself
    calm = np.flatnonzero(~crowded)
    suspect = crowded.copy()
    suspect[calm] = _coverage_suspects(g[calm])
    left_l: list[np.ndarray] = []
    right_l: list[np.ndarray] = []
    for qi, ti in kept if kept is not None else _query_chunks(tree, g, calm):
        keep = ~crowded[qi] & (qi != ti) & ((qi < ti) | crowded[ti]) & (suspect[qi] | suspect[ti])
        qi, ti = qi[keep], ti[keep]
        left_l.append(np.minimum(qi, ti))
        right_l.append(np.maximum(qi, ti))
    if left_l:
        li, ri, areas = _exact(g, np.concatenate(left_l), np.concatenate(right_l), workers)
        big = areas > tolerance_m2
        pairs_l.append(li[big])
        pairs_r.append(ri[big])
        pairs_a.append(areas[big])
    if crowded.any():
        touched = np.zeros(m, dtype=bool)
        for part in pairs_l + pairs_r:
            touched[part] = True
        if groups:  # the plot standing for a duplicate group overlaps its copies
            touched[np.isin(present, np.concatenate([grp.members for grp in groups]))] = True
        cl, cr, ca, stacks = _crowded(g, np.flatnonzero(crowded), touched, tolerance_m2)
        pairs_l.append(cl)
        pairs_r.append(cr)
        pairs_a.append(ca)
        groups += [OverlapGroup("stack", tuple(sorted(present[s].tolist()))) for s in stacks]
    if pairs_l:
        li = present[np.concatenate(pairs_l)]
        ri = present[np.concatenate(pairs_r)]
        areas = np.concatenate(pairs_a)
        lo, hi = np.minimum(li, ri), np.maximum(li, ri)
        order = np.lexsort((hi, lo))
        pairs = [
            (int(i), int(j), float(a))
            for i, j, a in zip(lo[order], hi[order], areas[order], strict=True)
        ]
    else:
        pairs = []
    groups.sort(key=lambda grp: grp.members[0])
    return Overlaps(pairs, groups)


def _crowded(
    g: np.ndarray, crowded: np.ndarray, touched: np.ndarray, tolerance_m2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Overlaps among crowded geometries (local indices ``crowded``): pairs of components of
    two, and the components of three or more (stacks). ``touched`` marks the geometries already
    known to overlap an uncrowded one; those need no exhaustive search of their own."""
    is_crowded = np.zeros(g.size, dtype=bool)
    is_crowded[crowded] = True
    centre = shapely.bounds(g[crowded])
    seq = crowded[np.lexsort(((centre[:, 1] + centre[:, 3]), (centre[:, 0] + centre[:, 2])))]
    links_l: list[np.ndarray] = []
    links_r: list[np.ndarray] = []
    links_a: list[np.ndarray] = []

    def test(left: np.ndarray, right: np.ndarray) -> None:
        li, ri, areas = _exact(g, left, right)
        big = areas > tolerance_m2
        links_l.append(li[big])
        links_r.append(ri[big])
        links_a.append(areas[big])

    bounds = shapely.bounds(g)
    for d in range(1, min(_PROBE, seq.size - 1) + 1):
        a, b = seq[:-d], seq[d:]
        meet = (
            (bounds[a, 0] <= bounds[b, 2])
            & (bounds[b, 0] <= bounds[a, 2])
            & (bounds[a, 1] <= bounds[b, 3])
            & (bounds[b, 1] <= bounds[a, 3])
        )
        test(a[meet], b[meet])
    found = touched.copy()
    for part in links_l + links_r:
        found[part] = True
    rest = crowded[~found[crowded]]
    if rest.size:  # no overlap found yet: look at every crowded neighbour (rarely needed)
        tree = shapely.STRtree(g)
        for qi, ti in _query_chunks(tree, g, rest):
            keep = (qi != ti) & is_crowded[ti]
            test(qi[keep], ti[keep])
    if not links_l:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), []
    li = np.concatenate(links_l)
    ri = np.concatenate(links_r)
    areas = np.concatenate(links_a)
    if li.size == 0:
        return li, ri, areas, []
    union = _Union(g.size)
    for a, b in zip(li.tolist(), ri.tolist(), strict=True):
        union.union(a, b)
    nodes = np.unique(np.concatenate([li, ri]))
    roots = np.fromiter((union.find(i) for i in nodes.tolist()), dtype=np.int64, count=nodes.size)
    order = np.argsort(roots, kind="stable")
    _, starts, counts = np.unique(roots[order], return_index=True, return_counts=True)
    stacks = [
        nodes[order[s : s + n]]
        for s, n in zip(starts.tolist(), counts.tolist(), strict=True)
        if n >= GROUP_MIN
    ]
    # components of two: an ordinary pair (reported once, with its area)
    size_of = dict(zip(roots[order][starts].tolist(), counts.tolist(), strict=True))
    two = np.fromiter((size_of[union.find(a)] == 2 for a in li.tolist()), dtype=bool, count=li.size)
    lo, hi, areas = np.minimum(li[two], ri[two]), np.maximum(li[two], ri[two]), areas[two]
    if lo.size:
        _, first = np.unique(lo * g.size + hi, return_index=True)
        lo, hi, areas = lo[first], hi[first], areas[first]
    return lo, hi, areas, stacks


# --------------------------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------------------------


def _num(v: float, precision: int) -> str:
    text = f"{v:.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def svg_path(
    geoms: Sequence[BaseGeometry | None],
    width: float = 240,
    height: float = 240,
    padding: float = 8,
    *,
    precision: int = 2,
) -> tuple[str, list[str]]:
    """Fit projected plots into a ``width`` x ``height`` SVG and return (viewBox, path ``d``s).

    Lets pages draw small plot maps server-side, with no JavaScript map library. All plots
    share one scale (aspect ratio kept, centred, ``padding`` units of margin) so neighbours line
    up; y is flipped because SVG's y axis points down. Every ring is its own closed subpath and
    polygons are oriented (shells and holes wind opposite ways), so holes render as holes under
    both ``fill-rule="evenodd"`` and the default nonzero. One ``d`` per input, in order; empty
    or non-polygonal inputs give ``""``.
    """
    view_box = f"0 0 {_num(width, precision)} {_num(height, precision)}"
    polys = [normalize_polygonal(g) for g in geoms]
    drawable = [p for p in polys if not p.is_empty]
    if not drawable:
        return view_box, ["" for _ in polys]
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(drawable, dtype=object))
    dx, dy = maxx - minx, maxy - miny
    inner_w, inner_h = max(width - 2 * padding, 0.0), max(height - 2 * padding, 0.0)
    scales = [s for s in (inner_w / dx if dx > 0 else None, inner_h / dy if dy > 0 else None) if s]
    scale = min(scales) if scales else 1.0
    # Shrink the canvas to the content's own proportions, so a long strip of fields is not
    # drawn as a thin line in a mostly empty square.
    width = min(width, dx * scale + 2 * padding) if dx > 0 else width
    height = min(height, dy * scale + 2 * padding) if dy > 0 else height
    view_box = f"0 0 {_num(width, precision)} {_num(height, precision)}"
    off_x = (width - dx * scale) / 2
    off_y = (height - dy * scale) / 2

    def ring_d(ring: Any) -> str:
        xy = np.asarray(ring.coords)[:-1, :2]  # drop the closing point: "Z" closes the ring
        if len(xy) == 0:
            return ""
        sx = off_x + (xy[:, 0] - minx) * scale
        sy = off_y + (maxy - xy[:, 1]) * scale
        pts = [f"{_num(x, precision)} {_num(y, precision)}" for x, y in zip(sx, sy, strict=True)]
        return "M" + pts[0] + ("L" + "L".join(pts[1:]) if len(pts) > 1 else "") + "Z"

    paths: list[str] = []
    for mp in polys:
        subpaths: list[str] = []
        for poly in mp.geoms:
            if poly.is_empty:
                continue
            poly = orient(poly, sign=1.0)
            subpaths.append(ring_d(poly.exterior))
            subpaths.extend(ring_d(r) for r in poly.interiors)
        paths.append("".join(subpaths))
    return view_box, paths
