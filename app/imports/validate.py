"""Checking a parcels file, one window of features at a time, vectorised.

Per window (``ParcelValidator.check``): decode the WKB, choose the CRS to judge geometry in,
reproject in one PROJ call, test validity / type / parts / size for the whole array at once (GEOS
is only asked for a reason on the few features that fail), map and check the attributes, and find
overlaps inside the window (app.geo.geometry.overlap_findings) and with earlier windows
(``OverlapTracker``, which keeps only each earlier feature's bounding box and fetches the few
earlier geometries it needs back from the staging table). Checks that need the whole file or the
registry (duplicate codes, overlaps with current plots, unknown households) run afterwards as
set-based SQL in staging.py.

CRS decision (documented in the report as ``crs``): geometry is judged in the registry CRS when
the data lies inside that CRS's area of use (pyproj ``CRS.area_of_use``). Data outside it can never
be promoted (a file-level error says why): a Gauss-Krüger zone far from its central meridian
distorts areas beyond any tolerance, or cannot project at all. A dry run still judges such data
honestly, in the file's own CRS when it is projected, else in the UTM zone of the data, so that
validity, areas and overlap tolerances mean square metres.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from app.core import codes
from app.geo import geometry as geo
from app.registry.models import LAND_CLASSES

__all__ = ["BatchResult", "OverlapTracker", "ParcelValidator", "Problem"]


#: Text attributes and their column widths in the registry.
TEXT_LIMITS = {"DKMC": 80, "TDLYLX": 8, "DKDZ": 100, "DKNZ": 100, "DKXZ": 100, "DKBZ": 100}


@dataclass(slots=True)
class Problem:
    idx: int | None  # feature index in the file; None for the whole file
    code: str | None  # the feature's DKBM / CBFBM as read
    problem: str
    severity: str  # "error" | "warning"
    message_zh: str
    message_en: str
    other_idx: int | None = None
    other_code: str | None = None
    other_uid: int | None = None
    area_m2: float | None = None

    def row(self, job_id: int) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "idx": self.idx,
            "code": self.code[:64] if self.code else self.code,
            "problem": self.problem,
            "severity": self.severity,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "other_idx": self.other_idx,
            "other_code": self.other_code,
            "other_uid": self.other_uid,
            "area_m2": self.area_m2,
        }


@dataclass
class BatchResult:
    rows: list[tuple[Any, ...]]  # staging rows, in staging.COLUMNS order
    problems: list[Problem]
    valid_geoms: int


# --------------------------------------------------------------------------------------------
# Value conversion
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A cell as text; None for null/empty. Integral numbers lose their ".0"."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def _stored_code(code: str | None) -> str | None:
    """A code as staging keeps it (at most 64 characters)."""
    return code[:64] if code else None


def _number(value: Any) -> float | None | str:
    """A numeric cell as float; None for null; the original text when it is not a number."""
    if value is None:
        return None
    if isinstance(value, int | float | np.number):
        v = float(value)
        return None if math.isnan(v) else v
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return str(value)


_YES = {"1", "是", "Y", "YES", "TRUE", "T"}
_NO = {"2", "0", "否", "N", "NO", "FALSE", "F"}


def parse_flag(value: Any) -> bool | None:
    """NY/T 2539 是否 codes (1 = yes, 2 = no) and the usual spellings; None if unreadable."""
    text = _text(value)
    if text is None:
        return False
    upper = text.upper()
    if upper in _YES:
        return True
    if upper in _NO:
        return False
    return None


# --------------------------------------------------------------------------------------------
# CRS plan
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _to_lonlat(src: CRS) -> Transformer:
    """A transformer to lon/lat (building one costs ~0.1 s of PROJ database lookups)."""
    return Transformer.from_crs(src, "EPSG:4326", always_xy=True)


def _lonlat_bounds(bounds: tuple[float, float, float, float], src: CRS) -> tuple[float, ...]:
    return tuple(_to_lonlat(src).transform_bounds(*bounds, densify_pts=21))


def _inside(lonlat: tuple[float, ...], crs: CRS) -> bool:
    aou = crs.area_of_use
    if aou is None:
        return True
    w, s, e, n = lonlat
    return w >= aou.west and e <= aou.east and s >= aou.south and n <= aou.north


def _utm_for(lonlat: tuple[float, ...]) -> CRS:
    w, s, e, n = lonlat
    found = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(
            west_lon_degree=w, south_lat_degree=s, east_lon_degree=e, north_lat_degree=n
        ),
    )
    if not found:  # pragma: no cover - every point on earth has a UTM zone
        return CRS.from_epsg(3857)
    return CRS.from_authority(found[0].auth_name, found[0].code)


def _label(crs: CRS) -> str:
    auth = crs.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


def text_column(values: Any) -> tuple[list[str | None], Any]:
    """A column as text cells (see ``_text``) and, for string columns, the trimmed Arrow array.

    String and integer columns are converted by Arrow in one pass; anything else (a code stored
    as a float, bytes) cell by cell. The Arrow array lets callers measure lengths without Python.
    """
    arr = _arrow(values)
    kind = arr.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        trimmed = pc.utf8_trim_whitespace(arr)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, kind), trimmed)
        return trimmed.to_pylist(), trimmed
    if pa.types.is_integer(kind):
        cast = pc.cast(arr, pa.string())
        return cast.to_pylist(), cast
    return [_text(v) for v in arr.to_pylist()], None


def number_column(values: Any) -> tuple[np.ndarray, list[tuple[int, Any]]]:
    """A column as float64 (NaN where empty) and the cells that are not numbers ``(i, cell)``."""
    arr = _arrow(values)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        out = pc.fill_null(pc.cast(arr, pa.float64()), math.nan)
        return np.asarray(out.to_numpy(zero_copy_only=False), dtype=float), []
    cells = arr.to_pylist()
    out = np.full(len(cells), math.nan)
    bad: list[tuple[int, Any]] = []
    for i, cell in enumerate(cells):
        value = _number(cell)
        if isinstance(value, str):
            bad.append((i, value))
        elif value is not None:
            out[i] = value
    return out, bad


def _arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(list(values), from_pandas=True)


def _longer_than(trimmed: Any, values: list[str | None], limit: int) -> np.ndarray:
    """Indices of cells longer than ``limit`` characters."""
    if trimmed is not None:
        long = pc.fill_null(pc.greater(pc.utf8_length(trimmed), limit), False)
        return np.flatnonzero(long.to_numpy(zero_copy_only=False))
    return np.array([i for i, v in enumerate(values) if v is not None and len(v) > limit], int)


def _nullable(values: np.ndarray) -> list[float | None]:
    """Floats for a staging row, None for NaN."""
    return [None if v != v else v for v in values.tolist()]  # noqa: PLR0124 - NaN test


# --------------------------------------------------------------------------------------------
# Overlaps across windows
# --------------------------------------------------------------------------------------------


#: Little-endian WKB header of a MultiPolygon with one part (byte order 1, type 6, count 1).
_MULTI_OF_ONE = b"\x01\x06\x00\x00\x00\x01\x00\x00\x00"
#: Little-endian WKB header of a 2D Polygon (no SRID, no Z or M).
_PLAIN_POLYGON = b"\x01\x03\x00\x00\x00"


#: A plot in a group finding: (feature index, code).
Member = tuple[int, str | None]

#: How many plots of a group the finding names.
GROUP_SHOWN = 5


class OverlapTracker:
    """Finds overlaps between a new window and all earlier ones, keeping only bounding boxes.

    Memory is 40 bytes per valid earlier feature (four float64 bounds and the index), plus the
    previous window's geometries: files are mostly written in spatial order, so most neighbours
    across a window boundary are in the window just before. Older candidates (whose box meets a
    new one) are fetched from staging.
    """

    def __init__(self) -> None:
        self._bounds = np.empty((0, 4))
        self._idx = np.empty(0, dtype=np.int64)
        self._n = 0
        self._recent: dict[int, tuple[Any, str | None]] = {}

    def _append(self, bounds: np.ndarray, idx: np.ndarray) -> None:
        need = self._n + len(idx)
        if need > len(self._idx):
            cap = max(need, 2 * len(self._idx), 1024)
            nb = np.empty((cap, 4))
            ni = np.empty(cap, dtype=np.int64)
            nb[: self._n] = self._bounds[: self._n]
            ni[: self._n] = self._idx[: self._n]
            self._bounds, self._idx = nb, ni
        self._bounds[self._n : need] = bounds
        self._idx[self._n : need] = idx
        self._n = need

    def extent(self) -> tuple[float, float, float, float] | None:
        """Bounds of every valid feature seen so far (None before the first)."""
        if not self._n:
            return None
        b = self._bounds[: self._n]
        return (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        )

    def add_and_check(
        self,
        geoms: np.ndarray,
        idx: np.ndarray,
        tolerance: float,
        fetch: Callable[[list[int]], dict[int, tuple[Any, str | None]]],
        codes: list[str | None],
    ) -> tuple[
        list[tuple[int, str | None, int, float]], list[tuple[str, list[Member], float | None]]
    ]:
        """Overlaps of the new window with earlier ones beyond ``tolerance``: pairs (earlier
        idx, its code, new idx, area) and groups (kind, members (idx, code), area) that have
        members on both sides (see geo.overlap_findings); then remember the new window's boxes.
        ``geoms`` are the window's valid polygonal geometries, ``idx`` their indices and
        ``codes`` their codes; ``fetch`` returns {idx: (geometry, code)} of earlier features."""
        pairs: list[tuple[int, str | None, int, float]] = []
        groups: list[tuple[str, list[Member], float | None]] = []
        if len(geoms) and self._n:
            nb = shapely.bounds(geoms)
            minx, miny = nb[:, 0].min(), nb[:, 1].min()
            maxx, maxy = nb[:, 2].max(), nb[:, 3].max()
            old = self._bounds[: self._n]
            near = np.flatnonzero(
                (old[:, 0] <= maxx)
                & (old[:, 2] >= minx)
                & (old[:, 1] <= maxy)
                & (old[:, 3] >= miny)
            )
            if near.size:
                tree = shapely.STRtree(geoms)
                boxes = shapely.box(old[near, 0], old[near, 1], old[near, 2], old[near, 3])
                qi, ti = tree.query(boxes)
                if qi.size:
                    old_idx = np.unique(self._idx[near[qi]])
                    new_local = np.unique(ti)
                    wanted = old_idx.tolist()
                    earlier = {i: self._recent[i] for i in wanted if i in self._recent}
                    older = [i for i in wanted if i not in earlier]
                    if older:
                        earlier.update(fetch(older))
                    old_list = [i for i in old_idx.tolist() if i in earlier]
                    group = np.empty(len(old_list) + len(new_local), dtype=object)
                    group[: len(old_list)] = [earlier[i][0] for i in old_list]
                    group[len(old_list) :] = geoms[new_local]
                    k = len(old_list)

                    def member(a: int) -> Member:
                        if a < k:
                            return old_list[a], earlier[old_list[a]][1]
                        return int(idx[new_local[a - k]]), codes[new_local[a - k]]

                    found = geo.overlap_findings(group, tolerance)
                    for a, b, area in found.pairs:
                        if a < k <= b:  # one earlier, one new: pairs inside a window are known
                            first = old_list[a]
                            pairs.append(
                                (first, earlier[first][1], int(idx[new_local[b - k]]), area)
                            )
                    for grp in found.groups:
                        if grp.members[0] < k <= grp.members[-1]:
                            groups.append((grp.kind, [member(a) for a in grp.members], grp.area_m2))
        if len(geoms):
            self._append(shapely.bounds(geoms), idx)
        self._recent = dict(zip(idx.tolist(), zip(geoms, codes, strict=True), strict=True))
        return pairs, groups


# --------------------------------------------------------------------------------------------
# The validator
# --------------------------------------------------------------------------------------------


@dataclass
class ParcelSettings:
    mapping: dict[str, str]  # NY/T field -> file field
    source_crs: CRS
    registry_srid: int
    tolerance_m2: float = 1.0
    mismatch_percent: float = 10.0
    geometry_only: bool = False
    collective_id: int | None = None
    fbfbm: str | None = None
    collectives: dict[str, int] = field(default_factory=dict)  # county import: FBFBM -> id


def overlap_problems(i: int, ci: str | None, j: int, cj: str | None, area: float) -> list[Problem]:
    zh = "与文件中第 {o} 个地块（{c}）重叠 {a:.2f} 平方米，超过容差"
    en = "Overlaps feature {o} ({c}) of the file by {a:.2f} m², more than the tolerance"
    return [
        Problem(
            a,
            ca,
            "overlap",
            "error",
            zh.format(o=b, c=cb or "-", a=area),
            en.format(o=b, c=cb or "-", a=area),
            other_idx=b,
            other_code=cb,
            area_m2=area,
        )
        for a, ca, b, cb in ((i, ci, j, cj), (j, cj, i, ci))
    ]


def group_problem(kind: str, members: list[Member], area: float | None) -> Problem:
    """One finding for a group of overlapping plots (geo.OverlapGroup): how many, the first
    few by row and code. Every member counts as faulty; only this one row is reported."""
    members = sorted(members)
    n = len(members)
    shown = members[:GROUP_SHOWN]
    zh_list = "、".join(f"第 {i} 个（{c or '-'}）" for i, c in shown)
    en_list = ", ".join(f"feature {i} ({c or '-'})" for i, c in shown)
    if n > GROUP_SHOWN:
        zh_list += f" 等 {n} 个"
        en_list += f" and {n - GROUP_SHOWN} more"
    if kind == "duplicate":
        problem = "duplicate_plots"
        zh = f"{n} 个地块的边界完全相同（每块 {area or 0:.2f} 平方米）：{zh_list}"
        en = f"{n} plots have exactly the same boundary ({area or 0:.2f} m² each): {en_list}"
    else:
        problem = "stacked_plots"
        zh = f"{n} 个地块叠放在一起、互相重叠，超过容差：{zh_list}"
        en = f"{n} plots lie on top of one another, overlapping beyond the tolerance: {en_list}"
    (first, code), second = members[0], members[1]
    return Problem(
        first,
        code,
        problem,
        "error",
        zh,
        en,
        other_idx=second[0],
        other_code=second[1],
        area_m2=area,
    )


class ParcelValidator:
    """Stateful across windows: the CRS plan, the overlap tracker, file-level findings."""

    def __init__(
        self,
        settings: ParcelSettings,
        fetch: Callable[[list[int]], dict[int, tuple[Any, str | None]]],
    ) -> None:
        self.s = settings
        self.fetch = fetch
        self.registry_crs = CRS.from_epsg(settings.registry_srid)
        self.validation_crs: CRS | None = None
        self.inside_registry_area = True
        self.file_problems: list[Problem] = []
        self._reported: set[str] = set()
        self.tracker = OverlapTracker()
        #: Earlier windows' rows found faulty later, as members of a group (staging marks them).
        self.late_faulty: set[int] = set()
        self.codes: dict[int, str | None] = {}  # only for the current window

    # ---- file level

    def _file_problem(self, problem: str, zh: str, en: str) -> Problem | None:
        if problem in self._reported:
            return None
        self._reported.add(problem)
        p = Problem(None, None, problem, "error", zh, en)
        self.file_problems.append(p)
        return p

    @property
    def promotable_crs(self) -> bool:
        return (
            self.inside_registry_area
            and self.validation_crs is not None
            and self.validation_crs.equals(self.registry_crs)
        )

    def describe_crs(self) -> dict[str, str | None]:
        return {
            "source": _label(self.s.source_crs),
            "validation": _label(self.validation_crs) if self.validation_crs else None,
            "registry": f"EPSG:{self.s.registry_srid}",
        }

    def _plan(self, geoms: np.ndarray) -> list[Problem]:
        """Choose the validation CRS from the first window with geometry; check each window lies
        inside the registry CRS's area of use."""
        present = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
        if present.size == 0:
            return []
        bounds = tuple(float(v) for v in shapely.total_bounds(present))
        try:
            lonlat = _lonlat_bounds(bounds, self.s.source_crs)
        except Exception:  # noqa: BLE001 - PROJ cannot bound it: treat as outside
            lonlat = (math.inf, math.inf, -math.inf, -math.inf)
        inside = all(math.isfinite(v) for v in lonlat) and _inside(lonlat, self.registry_crs)
        out: list[Problem] = []
        if self.validation_crs is None:
            if inside:
                self.validation_crs = self.registry_crs
            elif self.s.source_crs.is_projected:
                self.validation_crs = self.s.source_crs
            elif all(math.isfinite(v) for v in lonlat):
                self.validation_crs = _utm_for(lonlat)
            else:
                self.validation_crs = self.s.source_crs
        if not inside:
            self.inside_registry_area = False
            aou = self.registry_crs.area_of_use
            where = f"{aou.west:g}°–{aou.east:g}°E, {aou.south:g}°–{aou.north:g}°N" if aou else "-"
            shown = (
                ", ".join(f"{v:.4f}" for v in lonlat) if all(map(math.isfinite, lonlat)) else "?"
            )
            p = self._file_problem(
                "outside_crs_area",
                f"数据范围（经纬度 {shown}）超出登记库坐标系 EPSG:{self.s.registry_srid} 的适用范围"
                f"（{where}），不能入库；检查结果按 {_label(self.validation_crs)} 计算",
                f"The data (lon/lat bounds {shown}) lies outside the area of use of the registry "
                "CRS "
                f"EPSG:{self.s.registry_srid} ({where}) and cannot be promoted; it was checked in "
                f"{_label(self.validation_crs)}",
            )
            if p:
                out.append(p)
        return out

    # ---- one window

    def check(self, batch: Any) -> BatchResult:
        n = len(batch)
        start = batch.start
        indices = np.arange(start, start + n)
        problems: list[Problem] = []

        geoms = shapely.from_wkb(batch.wkb, on_invalid="ignore")
        problems += self._plan(geoms)
        vcrs = self.validation_crs or self.registry_crs
        as_read = False  # are the geometries checked exactly those read (same CRS, 2D)?
        try:
            if vcrs.equals(self.s.source_crs):
                as_read = not shapely.has_z(geoms).any()
                vg = geoms if as_read else shapely.force_2d(geoms)
            else:
                vg = geo.transform_array(geoms, self.s.source_crs, vcrs)
        except geo.GeoError as exc:
            p = self._file_problem(exc.code, exc.message_zh, exc.message_en)
            problems += [p] if p else []
            vg = np.full(n, None, dtype=object)

        codes_list = self._codes(batch, n)
        type_ids = shapely.get_type_id(vg)
        polygonal = (type_ids == 3) | (type_ids == 6)
        polygonal &= ~shapely.is_empty(vg)
        valid = np.zeros(n, dtype=bool)
        if polygonal.any():
            valid[polygonal] = shapely.is_valid(vg[polygonal])
        nparts = shapely.get_num_geometries(vg)
        areas = np.where(valid, shapely.area(vg), np.nan)
        suspicious = ~valid | ((type_ids == 6) & (nparts > 1)) | (valid & (areas < 1.0))
        for i in np.flatnonzero(suspicious):
            for f in geo.check_geometry(vg[i]):
                problems.append(
                    Problem(
                        int(indices[i]),
                        codes_list[i],
                        f.code,
                        f.severity,
                        f.message_zh,
                        f.message_en,
                    )
                )

        # storage form: MultiPolygon, 2D, little-endian WKB with its SHA-256. A polygon's
        # MultiPolygon WKB is its own WKB behind a header (byte order, type 6, one part): cheaper
        # to write than a GEOS MultiPolygon built for each plot.
        # A plain polygon as read (same CRS, 2D, little-endian: GeoJSON, and most files in the
        # registry CRS) already has that WKB in the file: kept rather than written again.
        wkb = np.full(n, None, dtype=object)
        single = polygonal & (type_ids == 3)
        if as_read:
            for i in np.flatnonzero(single).tolist():
                if batch.wkb[i][:5] == _PLAIN_POLYGON:
                    wkb[i] = _MULTI_OF_ONE + batch.wkb[i]
        redo = polygonal & np.equal(wkb, None)
        if redo.any():
            wkb[redo] = shapely.to_wkb(vg[redo], byte_order=1, output_dimension=2)
            for i in np.flatnonzero(redo & single).tolist():
                wkb[i] = _MULTI_OF_ONE + wkb[i]

        attrs, attr_problems = self._attributes(batch, n, indices, codes_list, areas)
        problems += attr_problems

        # overlaps inside the window, then with earlier windows: pairs as pairs, groups (plots
        # with the same boundary, stacks) as one finding each, every member faulty
        faulty: set[int] = set()
        found = geo.overlap_findings(np.where(valid, vg, None), self.s.tolerance_m2)
        for a, b, area in found.pairs:
            problems += overlap_problems(
                int(indices[a]), codes_list[a], int(indices[b]), codes_list[b], area
            )
        for grp in found.groups:
            members = [(int(indices[a]), codes_list[a]) for a in grp.members]
            problems.append(group_problem(grp.kind, members, grp.area_m2))
            faulty.update(i for i, _ in members)
        vi = np.flatnonzero(valid)
        pairs, groups = self.tracker.add_and_check(
            vg[vi],
            indices[vi],
            self.s.tolerance_m2,
            self.fetch,
            [_stored_code(codes_list[i]) for i in vi],
        )
        for a, code_a, b, area in pairs:
            problems += overlap_problems(a, code_a, b, codes_list[b - start], area)
        for kind, members, area in groups:
            problems.append(group_problem(kind, members, area))
            for i, _ in members:
                (faulty if i >= start else self.late_faulty).add(i)

        errored = {p.idx for p in problems if p.severity == "error" and p.idx is not None}
        errored |= faulty
        sha = [hashlib.sha256(w).hexdigest() if w is not None else None for w in wkb]
        idx_list = indices.tolist()
        ok = [bool(v) and i not in errored for i, v in zip(idx_list, valid.tolist(), strict=True)]
        rows = list(
            zip(
                itertools.repeat(None, n),  # job_id, filled in by staging.insert_rows
                idx_list,
                itertools.repeat(batch.number, n),
                ok,
                valid.tolist(),
                *attrs,
                sha,
                wkb.tolist(),
                strict=True,
            )
        )
        return BatchResult(rows=rows, problems=problems, valid_geoms=int(valid.sum()))

    # ---- attributes

    def _column(self, batch: Any, target: str) -> Any:
        """The file's column mapped to ``target`` (an Arrow array), or None."""
        source = self.s.mapping.get(target)
        if source is None or source not in batch.fields:
            return None
        return batch.fields[source]

    def _codes(self, batch: Any, n: int) -> list[str | None]:
        column = self._column(batch, "DKBM")
        return [None] * n if column is None else text_column(column)[0]

    def _attributes(
        self,
        batch: Any,
        n: int,
        indices: np.ndarray,
        codes_list: list[str | None],
        areas: np.ndarray,
    ) -> tuple[list[list[Any]], list[Problem]]:
        """Map and check the attributes column by column: one list per column, in the order of
        the staging table's attribute columns. Arrow and numpy do the per-cell work; only
        offending cells get Python-level attention."""
        s = self.s
        check = not s.geometry_only
        problems: list[Problem] = []
        col = {t: c for t in s.mapping if (c := self._column(batch, t)) is not None}

        def err(i: int, problem: str, zh: str, en: str, severity: str = "error") -> None:
            problems.append(Problem(int(indices[i]), codes_list[i], problem, severity, zh, en))

        dkbms, collective_ids = self._plot_codes(col, n, codes_list, err, check)

        texts: dict[str, list[str | None]] = {}
        for target, limit in TEXT_LIMITS.items():
            if target not in col:
                texts[target] = [None] * n
                continue
            values, trimmed = text_column(col[target])
            for i in _longer_than(trimmed, values, limit).tolist():
                if check:
                    err(
                        i,
                        "too_long",
                        f"{target} 超过 {limit} 个字符",
                        f"{target} is longer than {limit} characters",
                    )
                values[i] = values[i][:limit]
            texts[target] = values

        classes: list[str | None] = ["10"] * n
        if "DKLB" in col:
            allowed = "/".join(LAND_CLASSES)
            for i, value in enumerate(text_column(col["DKLB"])[0]):
                if value is None:
                    continue
                if value in LAND_CLASSES:
                    classes[i] = value
                    continue
                classes[i] = None
                if check:
                    err(
                        i,
                        "land_class",
                        f"地块类别（DKLB）“{value}”无效，应为 {allowed} 之一",
                        f"Land class (DKLB) {value!r} is not one of {allowed}",
                    )

        flags: list[bool] = [False] * n
        if "SFJBNT" in col:
            for i, value in enumerate(text_column(col["SFJBNT"])[0]):
                if value is None:
                    continue
                upper = value.upper()
                if upper in _YES:
                    flags[i] = True
                elif upper not in _NO and check:
                    err(
                        i,
                        "sfjbnt",
                        "是否基本农田（SFJBNT）应为 1（是）或 2（否）",
                        "Basic farmland (SFJBNT) must be 1 (yes) or 2 (no)",
                    )

        measured = self._areas(col, "SCMJ", "SCMJM", n, err)
        contract = self._areas(col, "HTMJ", "HTMJM", n, err)
        computed = np.round(areas, 2)
        measured = np.where(np.isnan(measured), computed, measured)
        if check:
            self._area_mismatches(contract, measured, err)

        households: list[str | None] = [None] * n
        if "CBFBM" in col:
            households = self._household_codes(col["CBFBM"], dkbms, err, check)
        for i, household in enumerate(households):
            # Reserve land (机动地) is the collective's: never linked to a household (R01).
            if household is not None and classes[i] == "22":
                households[i] = None
                if check:
                    err(
                        i,
                        "reserve_land_household",
                        "机动地属于集体，不计入农户：已忽略该行的承包方编码",
                        "Reserve land belongs to the collective, not to a household: the row's "
                        "contractor code is ignored",
                        severity="warning",
                    )

        return [
            collective_ids,
            dkbms,
            texts["DKMC"],
            classes,
            texts["TDLYLX"],
            flags,
            _nullable(contract),
            _nullable(measured),
            texts["DKDZ"],
            texts["DKNZ"],
            texts["DKXZ"],
            texts["DKBZ"],
            households,
        ], problems

    def _plot_codes(
        self,
        col: dict[str, Any],
        n: int,
        codes_list: list[str | None],
        err: Callable,
        check: bool,
    ) -> tuple[list[str | None], list[int | None]]:
        """DKBM -> (the code as stored, the collective it names)."""
        s = self.s
        dkbms: list[str | None] = [_stored_code(c) for c in codes_list]
        collective_ids: list[int | None] = [s.collective_id] * n
        if not check or "DKBM" not in col:
            return dkbms, collective_ids
        numeric = pa.types.is_floating(_arrow(col["DKBM"]).type)
        prefix = s.fbfbm
        for i, code in enumerate(codes_list):
            if code is None:
                err(i, "dkbm_missing", "地块编码（DKBM）为空", "The plot code (DKBM) is empty")
                continue
            if numeric:
                err(
                    i,
                    "dkbm_number",
                    "地块编码以数字类型存储，19 位编码会丢失精度；请将该字段改为文本",
                    "The plot code is stored as a number, which loses digits of a "
                    "19-digit code; store the field as text",
                )
                continue
            if not (
                len(code) == 19
                and code.isascii()
                and code.isdigit()
                and code[14:] != "00000"
                and (prefix is None or code.startswith(prefix))
            ):
                try:
                    code = codes.validate_dkbm(code, prefix)
                except codes.CodeError as exc:
                    err(i, f"dkbm_{exc.code}", exc.message_zh, exc.message_en)
                    continue
                dkbms[i] = code
            if prefix is None:
                cid = s.collectives.get(code[:14])
                collective_ids[i] = cid
                if cid is None:
                    err(
                        i,
                        "dkbm_collective",
                        f"地块编码前 14 位 {code[:14]} 不是本县已登记的发包方编码",
                        f"The first 14 digits of the plot code, {code[:14]}, are not the "
                        "code (FBFBM) of a registered collective",
                    )
        return dkbms, collective_ids

    def _household_codes(
        self, column: Any, dkbms: list[str | None], err: Callable, check: bool
    ) -> list[str | None]:
        out: list[str | None] = []
        for i, value in enumerate(text_column(column)[0]):
            if value is not None and check:
                code = dkbms[i]
                owner = self.s.fbfbm or (code[:14] if code and len(code) >= 14 else None)
                try:
                    value = codes.validate_cbfbm(value, owner)
                except codes.CodeError as exc:
                    err(i, f"cbfbm_{exc.code}", exc.message_zh, exc.message_en)
            out.append(value[:64] if value is not None else None)
        return out

    def _area_mismatches(self, contract: np.ndarray, measured: np.ndarray, err: Callable) -> None:
        """Contract and measured areas further apart than IMPORT_AREA_MISMATCH_PERCENT: warnings."""
        percent = self.s.mismatch_percent
        both = ~np.isnan(contract) & ~np.isnan(measured) & (measured != 0)
        diff = np.zeros(len(contract))
        # The same comparison and words as a plot saved through the registry's forms.
        diff[both] = geo.area_difference(contract[both], measured[both])
        for i in np.flatnonzero(both & (diff > percent / 100.0)).tolist():
            found = geo.area_mismatch_finding(float(contract[i]), float(measured[i]), percent)
            if found is not None:
                err(i, found.code, found.message_zh, found.message_en, severity="warning")

    def _areas(
        self, col: dict[str, Any], m2_field: str, mu_field: str, n: int, err: Callable
    ) -> np.ndarray:
        """m² from the m² column, else from the 亩 column; NaN where neither has a value."""
        out = np.full(n, math.nan)
        for target, factor in ((mu_field, geo.MU_M2), (m2_field, 1.0)):  # m² wins: written last
            if target not in col:
                continue
            values, bad = number_column(col[target])
            negative = np.flatnonzero(values < 0).tolist()
            if not self.s.geometry_only:
                shown = [(i, values[i]) for i in negative] + bad
                for i, value in sorted(shown, key=lambda item: item[0]):
                    err(
                        i,
                        "area_value",
                        f"{target} 的值“{value}”不是有效面积",
                        f"{target} value {value!r} is not a valid area",
                    )
            good = ~np.isnan(values) & (values >= 0)
            out[good] = np.round(values[good] * factor, 2)
        return out
