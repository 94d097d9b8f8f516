"""Export in the NY/T 2539 layout, and the export -> import round trip (Cadasta could not)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import pyogrio
import pytest
import shapely
from flask import Flask
from geoalchemy2.shape import to_shape
from openpyxl import load_workbook
from sqlalchemy import select

from app.divisions.models import Collective
from app.extensions import db
from app.registry.models import Plot
from tests.conftest import app_for, build_baseline, make_database
from tests.imports.conftest import COLLECTIVE_A, nyt_file


def _registry(app: Flask) -> dict[str, tuple[float | None, object, str | None]]:
    with app.app_context():
        cid = db.session.scalar(select(Collective.id).where(Collective.fbfbm == COLLECTIVE_A))
        rows = db.session.scalars(
            select(Plot).where(Plot.collective_id == cid, Plot.end_lifespan.is_(None))
        )
        return {p.dkbm: (p.measured_area_m2, to_shape(p.geom), p.name) for p in rows}


def _fresh(tmp_path_factory, tmp_path, name: str) -> Iterator[Flask]:
    from flask_migrate import upgrade

    url, drop = make_database(tmp_path_factory)
    application = app_for(url, IMPORT_STORE=str(tmp_path / f"store-{name}"), IMPORT_RUNNER="inline")
    with application.app_context():
        upgrade()
        build_baseline()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture
def source_app(fresh_app, tmp_path):
    """Real commits on both sides (``fresh_app`` also turns off the per-test rollback)."""
    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store-source"), IMPORT_RUNNER="inline")
    return fresh_app


@pytest.fixture
def target_app(source_app, tmp_path_factory, tmp_path):
    yield from _fresh(tmp_path_factory, tmp_path, "target")


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


@pytest.mark.load
def test_export_then_import_gives_back_the_same_registry(source_app, target_app, tmp_path):
    path, _ = nyt_file(tmp_path, 120, seed=5)
    assert _cli(source_app, "import", "parcels", path, "--collective", COLLECTIVE_A).exit_code == 0
    before = _registry(source_app)
    assert len(before) == 120
    out = {}
    for fmt, ext in (("gpkg", "gpkg"), ("geojson", "geojson"), ("shp", "zip"), ("xlsx", "xlsx")):
        out[fmt] = tmp_path / f"export.{ext}"
        result = _cli(
            source_app, "export", "parcels", "--collective", COLLECTIVE_A, "--format", fmt, out[fmt]
        )
        assert result.exit_code == 0, result.output
        assert "exported 120 plots" in result.output

    for fmt in ("gpkg", "geojson", "shp"):
        result = _cli(
            target_app, "import", "parcels", out[fmt], "--collective", COLLECTIVE_A, "--dry-run"
        )
        assert result.exit_code == 0, (fmt, result.output)
    result = _cli(target_app, "import", "parcels", out["shp"], "--collective", COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    after = _registry(target_app)
    assert set(after) == set(before)
    for code, (area, geom, name) in before.items():
        area2, geom2, name2 = after[code]
        assert abs(area - area2) < 0.01
        assert shapely.area(shapely.symmetric_difference(geom, geom2)) < 0.01
        assert shapely.normalize(geom).equals_exact(shapely.normalize(geom2), 1e-6)  # ring order
        assert name2 == name  # Chinese names survive the Shapefile (UTF-8 + .cpg)


def test_shapefile_export_is_utf8_with_a_cpg(cli, tmp_path):
    path, _ = nyt_file(tmp_path, 4)
    assert cli.run("import", "parcels", path, "--collective", COLLECTIVE_A).exit_code == 0
    out = tmp_path / "dk.zip"
    assert (
        cli.run("export", "parcels", "--collective", COLLECTIVE_A, "--format", "shp", out).exit_code
        == 0
    )
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"DK.shp", "DK.dbf", "DK.shx", "DK.prj", "DK.cpg"} <= names
        assert zf.read("DK.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    meta, _, _, values = pyogrio.raw.read(f"/vsizip/{out}/DK.shp")
    fields = list(meta["fields"])
    assert fields[:3] == ["DKBM", "FBFBM", "DKMC"]
    assert sorted(values[fields.index("DKMC")])[0] == "地块1号"


def test_xlsx_export_has_attributes_areas_and_wkt(cli, tmp_path):
    path, _ = nyt_file(tmp_path, 3)
    assert cli.run("import", "parcels", path, "--collective", COLLECTIVE_A).exit_code == 0
    out = tmp_path / "dk.xlsx"
    assert cli.run("export", "parcels", "--county", "--format", "xlsx", out).exit_code == 0
    ws = load_workbook(out, read_only=True)["DK"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "DKBM" and rows[0][-1] == "WKT"
    assert len(rows) == 4
    first = rows[1]
    assert first[-1].startswith("MULTIPOLYGON")
    assert abs(first[rows[0].index("SCMJM")] - first[rows[0].index("SCMJ")] / (10000 / 15)) < 0.01


def test_export_needs_one_scope(cli, tmp_path):
    result = cli.run("export", "parcels", "--format", "gpkg", tmp_path / "x.gpkg")
    assert result.exit_code == 2
