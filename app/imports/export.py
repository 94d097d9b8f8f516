"""Export of current plots (one collective or the whole county) in the NY/T 2539 DK layout.

Formats: GeoPackage, GeoJSON, zipped Shapefile (UTF-8 with a .cpg, so Chinese names survive any
GIS), and XLSX and CSV (attributes, areas in m² and 亩, and the geometry as WKT). Spreadsheet cells
are never formulas (app.core.spreadsheets): a plot named "=1+1" opens as that text.

Plots are read in keyset pages and appended to the output page by page, so an export of a whole
county never holds all of it in memory. Geometry stays in the registry CRS: an export imports
back unchanged (the round trip is tested), which is what Cadasta could not do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import trail
from app.core.spatial import registry_srid
from app.core.spreadsheets import csv_writer, xlsx_row
from app.divisions.models import Collective
from app.geo.geometry import MU_M2
from app.imports.readers import ImportRefused
from app.registry.models import Household, Plot

FORMATS = {
    "gpkg": ("GPKG", ".gpkg", "application/geopackage+sqlite3"),
    "geojson": ("GeoJSON", ".geojson", "application/geo+json"),
    "shp": ("ESRI Shapefile", ".zip", "application/zip"),
    "xlsx": (
        None,
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "csv": (None, ".csv", "text/csv"),
}

#: Output columns, NY/T 2539 names, in order.
FIELDS = (
    "DKBM",
    "FBFBM",
    "DKMC",
    "DKLB",
    "TDLYLX",
    "SFJBNT",
    "SCMJ",
    "SCMJM",
    "HTMJ",
    "HTMJM",
    "DKDZ",
    "DKNZ",
    "DKXZ",
    "DKBZ",
    "CBFBM",
)
_NUMERIC = {"SCMJ", "SCMJM", "HTMJ", "HTMJM"}
LAYER = "DK"
PAGE = 10_000


@dataclass
class ExportResult:
    path: Path
    count: int
    sha256: str
    media_type: str
    filename: str


def _pages(session: Session, collective_id: int | None) -> Iterator[list[Any]]:
    last = 0
    while True:
        q = (
            select(
                Plot.id,
                Plot.dkbm,
                Collective.fbfbm,
                Plot.name,
                Plot.land_class,
                Plot.land_use,
                Plot.is_basic_farmland,
                Plot.measured_area_m2,
                Plot.contract_area_m2,
                Plot.east,
                Plot.south,
                Plot.west,
                Plot.north,
                Household.cbfbm,
                func.ST_AsBinary(Plot.geom).label("wkb"),
            )
            .join(Collective, Collective.id == Plot.collective_id)
            .outerjoin(
                Household,
                (Household.uid == Plot.household_uid) & Household.end_lifespan.is_(None),
            )
            .where(Plot.end_lifespan.is_(None), Plot.id > last)
            .order_by(Plot.id)
            .limit(PAGE)
        )
        if collective_id is not None:
            q = q.where(Plot.collective_id == collective_id)
        rows = session.execute(q).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _columns(rows: list[Any]) -> dict[str, np.ndarray]:
    def strings(values: list[Any]) -> np.ndarray:
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr

    def numbers(values: list[Any]) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)

    measured = [r.measured_area_m2 for r in rows]
    contract = [r.contract_area_m2 for r in rows]
    return {
        "DKBM": strings([r.dkbm for r in rows]),
        "FBFBM": strings([r.fbfbm for r in rows]),
        "DKMC": strings([r.name for r in rows]),
        "DKLB": strings([r.land_class for r in rows]),
        "TDLYLX": strings([r.land_use for r in rows]),
        "SFJBNT": strings(["1" if r.is_basic_farmland else "2" for r in rows]),
        "SCMJ": numbers(measured),
        "SCMJM": numbers([None if v is None else round(v / MU_M2, 4) for v in measured]),
        "HTMJ": numbers(contract),
        "HTMJM": numbers([None if v is None else round(v / MU_M2, 4) for v in contract]),
        "DKDZ": strings([r.east for r in rows]),
        "DKNZ": strings([r.south for r in rows]),
        "DKXZ": strings([r.west for r in rows]),
        "DKBZ": strings([r.north for r in rows]),
        "CBFBM": strings([r.cbfbm for r in rows]),
    }


def _write_vector(session: Session, collective_id: int | None, path: Path, driver: str) -> int:
    count = 0
    crs = f"EPSG:{registry_srid()}"
    for page in _pages(session, collective_id):
        cols = _columns(page)
        wkb = np.empty(len(page), dtype=object)
        wkb[:] = [bytes(r.wkb) if r.wkb is not None else None for r in page]
        pyogrio.raw.write(
            str(path),
            geometry=wkb,
            field_data=[cols[f] for f in FIELDS],
            fields=list(FIELDS),
            crs=crs,
            driver=driver,
            layer=LAYER if driver != "GeoJSON" else None,
            geometry_type="MultiPolygon",
            encoding="UTF-8",
            append=count > 0,
        )
        count += len(page)
    if count == 0:  # an empty layer still has the schema, so the file opens in any GIS
        pyogrio.raw.write(
            str(path),
            geometry=np.empty(0, dtype=object),
            field_data=[np.empty(0, dtype=float if f in _NUMERIC else object) for f in FIELDS],
            fields=list(FIELDS),
            crs=crs,
            driver=driver,
            layer=LAYER if driver != "GeoJSON" else None,
            geometry_type="MultiPolygon",
            encoding="UTF-8",
        )
    return count


def _table_rows(session: Session, collective_id: int | None, wkt_limit: int | None):
    """Rows of attributes and WKT, page by page, for the spreadsheet formats."""
    for page in _pages(session, collective_id):
        cols = _columns(page)
        geoms = shapely.from_wkb(
            np.array([bytes(r.wkb) if r.wkb else None for r in page], dtype=object)
        )
        wkts = shapely.to_wkt(geoms, rounding_precision=3)
        for i in range(len(page)):
            row = []
            for f in FIELDS:
                v = cols[f][i]
                if f in _NUMERIC:
                    v = None if np.isnan(v) else float(v)
                row.append(v)
            wkt = wkts[i]
            too_long = wkt is not None and wkt_limit is not None and len(wkt) > wkt_limit
            row.append(None if too_long else wkt)
            yield row


def _write_xlsx(session: Session, collective_id: int | None, path: Path) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(LAYER)
    ws.append(xlsx_row(ws, [*FIELDS, "WKT"]))
    count = 0
    # An Excel cell holds at most 32,767 characters.
    for row in _table_rows(session, collective_id, wkt_limit=32_000):
        ws.append(xlsx_row(ws, row))
        count += 1
    wb.save(path)
    return count


def _write_csv(session: Session, collective_id: int | None, path: Path) -> int:
    count = 0
    # UTF-8 with a byte-order mark, so Excel and WPS read the Chinese names correctly.
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv_writer(out)
        writer.writerow([*FIELDS, "WKT"])
        for row in _table_rows(session, collective_id, wkt_limit=None):
            writer.writerow(row)
            count += 1
    return count


def export_parcels(
    session: Session, fmt: str, out: str | os.PathLike, *, collective_id: int | None
) -> ExportResult:
    """Write the current plots of one collective (or, with None, the county) to ``out``."""
    if fmt not in FORMATS:
        raise ImportRefused(
            "export_format",
            f"不支持的导出格式 {fmt}，可选：{', '.join(FORMATS)}",
            f"Unsupported export format {fmt}; choose one of {', '.join(FORMATS)}",
        )
    driver, ext, media = FORMATS[fmt]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    if fmt == "xlsx":
        count = _write_xlsx(session, collective_id, out)
    elif fmt == "csv":
        count = _write_csv(session, collective_id, out)
    elif fmt == "shp":
        tmp = Path(tempfile.mkdtemp(prefix="export-shp-"))
        try:
            shp = tmp / f"{LAYER}.shp"
            count = _write_vector(session, collective_id, shp, driver)
            if not (tmp / f"{LAYER}.cpg").exists():  # GDAL writes it; never ship without it
                (tmp / f"{LAYER}.cpg").write_text("UTF-8")
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
                for part in sorted(tmp.iterdir()):
                    zf.write(part, part.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        count = _write_vector(session, collective_id, out, driver)
    digest = hashlib.sha256()
    with open(out, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    # Reading is not writing, but who took the county's data away, and which bytes, is exactly
    # what an auditor asks (DOMAIN §7): one event per export.
    trail.record_event(
        session,
        "export.parcels",
        "plot",
        None,
        details={"format": fmt, "count": count, "sha256": digest.hexdigest()},
        collective_id=collective_id,
    )
    return ExportResult(
        path=out, count=count, sha256=digest.hexdigest(), media_type=media, filename=out.name
    )


def download_name(collective: Collective | None, fmt: str) -> str:
    ext = FORMATS[fmt][1]
    stem = collective.fbfbm if collective is not None else "county"
    return f"DK_{stem}{ext}"


def export_to_temporary_file(
    session: Session, fmt: str, *, collective_id: int | None
) -> tuple[str, ExportResult]:
    """``export_parcels`` into a new temporary file: (its path, the result). The caller sends
    and removes it; the file is removed here if the export fails."""
    fd, path = tempfile.mkstemp(suffix=FORMATS[fmt][1] if fmt in FORMATS else "")
    os.close(fd)
    try:
        return path, export_parcels(session, fmt, path, collective_id=collective_id)
    except BaseException:
        os.unlink(path)
        raise
