"""Checking a parcels file, one window of features at a time, vectorised.

Per window (``ParcelValidator.check``): decode the WKB, choose the CRS to judge geometry in,
reproject in one PROJ call, test validity / type / parts / size for the whole array at once (GEOS
is only asked for a reason on the few features that fail), map and check the attributes, and find
overlaps inside the window (app.geo.geometry.overlap_findings) and with earlier windows
(``overlaps.OverlapTracker``, which keeps only each earlier feature's bounding box and fetches
the few earlier geometries it needs back from the staging table). Checks that need the whole
file or the registry (duplicate codes, overlaps with current plots, unknown households) run
afterwards as set-based SQL in staging.py. Attribute columns are read by ``columns``, the CRS
is chosen as ``crs_plan`` says, and every finding is a ``problems.Problem``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import CRS

from app.geo import geometry as geo
from app.imports.code_checks import household_codes, plot_codes
from app.imports.columns import (
    NO,
    YES,
    longer_than,
    nullable,
    number_column,
    stored_code,
    text_column,
)
from app.imports.crs_plan import crs_label, inside_area_of_use, lonlat_bounds, utm_for
from app.imports.overlaps import OverlapTracker, group_problem, overlap_problems
from app.imports.problems import Problem
from app.registry.models import LAND_CLASSES

__all__ = ["BatchResult", "ParcelSettings", "ParcelValidator"]


#: Text attributes and their column widths in the registry.
TEXT_LIMITS = {"DKMC": 80, "TDLYLX": 8, "DKDZ": 100, "DKNZ": 100, "DKXZ": 100, "DKBZ": 100}


@dataclass
class BatchResult:
    rows: list[tuple[Any, ...]]  # staging rows, in staging.COLUMNS order
    problems: list[Problem]
    valid_geoms: int


#: Little-endian WKB header of a MultiPolygon with one part (byte order 1, type 6, count 1).
_MULTI_OF_ONE = b"\x01\x06\x00\x00\x00\x01\x00\x00\x00"
#: Little-endian WKB header of a 2D Polygon (no SRID, no Z or M).
_PLAIN_POLYGON = b"\x01\x03\x00\x00\x00"


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
            "source": crs_label(self.s.source_crs),
            "validation": crs_label(self.validation_crs) if self.validation_crs else None,
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
            lonlat = lonlat_bounds(bounds, self.s.source_crs)
        except Exception:  # noqa: BLE001 - PROJ cannot bound it: treat as outside
            lonlat = (math.inf, math.inf, -math.inf, -math.inf)
        inside = all(math.isfinite(v) for v in lonlat) and inside_area_of_use(
            lonlat, self.registry_crs
        )
        out: list[Problem] = []
        if self.validation_crs is None:
            if inside:
                self.validation_crs = self.registry_crs
            elif self.s.source_crs.is_projected:
                self.validation_crs = self.s.source_crs
            elif all(math.isfinite(v) for v in lonlat):
                self.validation_crs = utm_for(lonlat)
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
                f"（{where}），不能入库；检查结果按 {crs_label(self.validation_crs)} 计算",
                f"The data (lon/lat bounds {shown}) lies outside the area of use of the registry "
                "CRS "
                f"EPSG:{self.s.registry_srid} ({where}) and cannot be promoted; it was checked in "
                f"{crs_label(self.validation_crs)}",
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
            [stored_code(codes_list[i]) for i in vi],
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

        dkbms, collective_ids = plot_codes(self.s, col, n, codes_list, err, check)

        texts: dict[str, list[str | None]] = {}
        for target, limit in TEXT_LIMITS.items():
            if target not in col:
                texts[target] = [None] * n
                continue
            values, trimmed = text_column(col[target])
            for i in longer_than(trimmed, values, limit).tolist():
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
                if upper in YES:
                    flags[i] = True
                elif upper not in NO and check:
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
            households = household_codes(self.s.fbfbm, col["CBFBM"], dkbms, err, check)
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
            nullable(contract),
            nullable(measured),
            texts["DKDZ"],
            texts["DKNZ"],
            texts["DKXZ"],
            texts["DKBZ"],
            households,
        ], problems

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
