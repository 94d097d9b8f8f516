"""Importing plot layers: stage, validate everything, promote all or nothing (or valid only)."""

from __future__ import annotations

import json

import pyogrio
import shapely
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.divisions.models import Collective
from app.extensions import db
from app.imports.models import ImportJob, ImportStaging
from app.imports.promote import verify_promotion
from app.registry.models import Plot, SourceDocument
from app.registry.versioning import RegistryObject
from tests.imports.conftest import COLLECTIVE_A, COLLECTIVE_B, ORIGIN_A, nyt_file


def _plots(collective_fbfbm: str = COLLECTIVE_A) -> list[Plot]:
    cid = db.session.scalar(select(Collective.id).where(Collective.fbfbm == collective_fbfbm))
    return list(
        db.session.scalars(
            select(Plot).where(Plot.collective_id == cid, Plot.end_lifespan.is_(None))
        )
    )


def test_nyt_layer_is_promoted_as_version_1_plots_citing_the_file(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 30)
    result, report = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, tmp_path=tmp_path
    )
    assert result.exit_code == 0, result.output
    assert report["features"] == 30 and report["valid"] == 30 and report["invalid"] == 0
    assert report["overlaps"] == [] and report["problems"] == []
    plots = sorted(_plots(), key=lambda p: p.dkbm)
    assert len(plots) == 30
    first = plots[0]
    assert first.dkbm == COLLECTIVE_A + "00001"
    assert first.version == 1 and first.name == "地块1号" and first.land_class == "10"
    assert first.is_basic_farmland is True and plots[1].is_basic_farmland is False
    doc = db.session.get(SourceDocument, first.source_document_id)
    assert doc.sha256 == report["sha256"] and doc.kind == "survey"
    kinds = {
        k
        for (k,) in db.session.execute(
            select(RegistryObject.kind).where(RegistryObject.id.in_([p.uid for p in plots]))
        )
    }
    assert kinds == {"plot"}
    # measured area (SCMJ, m²) stored as given; the geometry is a MultiPolygon in EPSG:4547
    src = pyogrio.raw.read(str(path))
    scmj = dict(zip(src[3][0], src[3][5], strict=True))
    assert abs(first.measured_area_m2 - scmj[first.dkbm]) < 0.005
    from geoalchemy2.shape import to_shape

    geom = to_shape(first.geom)
    assert geom.geom_type == "MultiPolygon" and abs(geom.area - first.measured_area_m2) < 0.01


def test_promotion_is_audited_per_batch_and_recomputable_from_the_registry(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 40)
    result = cli.run("import", "parcels", path, "--collective", COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    events = list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.event == "import.promote", AuditEntry.action == "event"
            )
        )
    )
    assert len(events) == 1
    details = json.loads(events[0].after)
    assert details["count"] == 40
    assert details["first_dkbm"] == COLLECTIVE_A + "00001"
    assert details["last_dkbm"] == COLLECTIVE_A + "00040"
    assert len(details["digest"]) == 64 and details["file_sha256"]
    assert verify_promotion(db.session, details)
    # one changed plot breaks the proof
    plot = db.session.scalar(select(Plot).where(Plot.uid == details["first_uid"]))
    db.session.execute(
        Plot.__table__.update().where(Plot.id == plot.id).values(dkbm=COLLECTIVE_A + "99999")
    )
    assert not verify_promotion(db.session, details)


def test_all_or_nothing_refuses_a_file_with_errors(app, cli, tmp_path):
    path, planted = nyt_file(tmp_path, 60, invalid=2, overlapping=1, seed=3)
    result, report = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, tmp_path=tmp_path
    )
    assert result.exit_code == 1
    assert "all or nothing" in result.output
    assert _plots() == []
    assert report["invalid"] >= 3
    bad = {p["index"] for p in report["problems"] if p["problem"] == "self_intersection"}
    assert bad == set(planted["invalid"])
    for p in report["problems"]:
        assert p["message_zh"] and p["message_en"] and p["severity"] in ("error", "warning")
    pairs = report["overlaps"]
    assert pairs and all(o["area_m2"] > 1.0 for o in pairs)
    assert all(planted["overlapping"][0] in (o["a"]["index"], o["b"]["index"]) for o in pairs)
    # nothing staged is left behind
    assert db.session.scalar(select(func.count()).select_from(ImportStaging)) == 0


def test_valid_only_promotes_the_rest(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 60, invalid=2, overlapping=1, seed=3)
    result, report = cli.report(
        "import",
        "parcels",
        path,
        "--collective",
        COLLECTIVE_A,
        "--valid-only",
        tmp_path=tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert report["promoted"] == report["valid"] == 60 - report["invalid"]
    assert len(_plots()) == report["valid"]
    bad = {p["code"] for p in report["problems"] if p["severity"] == "error"}
    assert bad and not bad & {p.dkbm for p in _plots()}


def test_dkbm_must_start_with_the_collectives_fbfbm(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 5)
    result, report = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_B, tmp_path=tmp_path
    )
    assert result.exit_code == 1
    assert {p["problem"] for p in report["problems"]} == {"dkbm_prefix"}
    assert COLLECTIVE_B in report["problems"][0]["message_en"]


def test_county_import_takes_the_collective_from_each_code(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 6)
    result = cli.run("import", "parcels", path)
    assert result.exit_code == 0, result.output
    assert len(_plots(COLLECTIVE_A)) == 6
    odd, _ = nyt_file(
        tmp_path, 3, name="odd.geojson", fbfbms=["44022210020599"], origin=(530_000.0, 2_760_000.0)
    )
    result, report = cli.report("import", "parcels", odd, "--dry-run", tmp_path=tmp_path)
    assert result.exit_code == 1
    assert {p["problem"] for p in report["problems"]} == {"dkbm_collective"}


def test_duplicate_codes_in_the_file_and_in_the_registry(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 10)
    assert cli.run("import", "parcels", path, "--collective", COLLECTIVE_A).exit_code == 0
    # the same codes again, far away: duplicates of the registry, no overlap
    again, _ = nyt_file(tmp_path, 10, name="again.geojson", origin=(510_000.0, 2_758_000.0))
    result, report = cli.report(
        "import", "parcels", again, "--collective", COLLECTIVE_A, "--dry-run", tmp_path=tmp_path
    )
    assert result.exit_code == 1
    assert {p["problem"] for p in report["problems"]} == {"code_in_registry"}
    assert report["invalid"] == 10
    # a file repeating one code
    src = pyogrio.raw.read(str(again))
    codes = src[3][0].copy()
    codes[3] = codes[2] = COLLECTIVE_A + "00500"
    twice = tmp_path / "twice.gpkg"
    pyogrio.raw.write(
        str(twice),
        src[2],
        [codes, *src[3][1:]],
        fields=list(src[0]["fields"]),
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="Polygon",
    )
    result, report = cli.report(
        "import", "parcels", twice, "--collective", COLLECTIVE_A, "--dry-run", tmp_path=tmp_path
    )
    dup = [p for p in report["problems"] if p["problem"] == "duplicate_code"]
    assert {p["index"] for p in dup} == {2, 3}


def test_overlap_with_current_registry_plots_beyond_the_tolerance(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 9)
    assert cli.run("import", "parcels", path, "--collective", COLLECTIVE_A).exit_code == 0
    # new codes, shifted by 10 m: every plot overlaps registry plots
    moved, _ = nyt_file(
        tmp_path, 9, name="moved.geojson", origin=(ORIGIN_A[0] + 10, ORIGIN_A[1]), seed=7
    )
    src = pyogrio.raw.read(str(moved))
    codes = [f"{COLLECTIVE_A}{i + 101:05d}" for i in range(9)]
    shifted = tmp_path / "shifted.geojson"
    import numpy as np

    pyogrio.raw.write(
        str(shifted),
        src[2],
        [np.array(codes, dtype=object), *src[3][1:]],
        fields=list(src[0]["fields"]),
        crs="EPSG:4547",
        driver="GeoJSON",
        geometry_type="Polygon",
    )
    result, report = cli.report(
        "import", "parcels", shifted, "--collective", COLLECTIVE_A, tmp_path=tmp_path
    )
    assert result.exit_code == 1
    registry = [o for o in report["overlaps"] if o["with"] == "registry"]
    assert len({o["a"]["index"] for o in registry}) == 9
    assert all(o["area_m2"] > 1.0 and o["b"]["code"].startswith(COLLECTIVE_A) for o in registry)


def test_neighbours_that_only_touch_are_not_overlaps(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 100)  # a jittered grid: every plot shares edges
    result, report = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--dry-run", tmp_path=tmp_path
    )
    assert result.exit_code == 0
    assert report["overlaps"] == []


def test_contract_and_measured_area_disagreement_is_a_warning(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 4)
    src = pyogrio.raw.read(str(path))
    fields = list(src[0]["fields"])
    values = list(src[3])
    htmj = values[fields.index("HTMJ")].copy()
    htmj[1] = values[fields.index("SCMJ")][1] * 1.5
    values[fields.index("HTMJ")] = htmj
    # plot 2 in two parts
    geoms = shapely.from_wkb(src[2])
    geoms[2] = shapely.MultiPolygon(
        [
            geoms[2],
            shapely.box(ORIGIN_A[0] - 500, ORIGIN_A[1] - 500, ORIGIN_A[0] - 480, ORIGIN_A[1] - 480),
        ]
    )
    out = tmp_path / "warn.gpkg"
    pyogrio.raw.write(
        str(out),
        shapely.to_wkb(geoms),
        values,
        fields=fields,
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="MultiPolygon",
        promote_to_multi=True,
    )
    result, report = cli.report(
        "import", "parcels", out, "--collective", COLLECTIVE_A, tmp_path=tmp_path
    )
    assert result.exit_code == 0, result.output
    kinds = {(p["index"], p["problem"]) for p in report["problems"]}
    assert kinds == {(1, "area_mismatch"), (2, "multipart")}
    assert all(p["severity"] == "warning" for p in report["problems"])
    assert len(_plots()) == 4


def test_other_layouts_map_through_the_map_option(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 5)
    src = pyogrio.raw.read(str(path))
    fields = list(src[0]["fields"])
    renamed = tmp_path / "mine.gpkg"
    pyogrio.raw.write(
        str(renamed),
        src[2],
        [src[3][fields.index("DKBM")], src[3][fields.index("DKMC")]],
        fields=["code", "label"],
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="Polygon",
    )
    result, report = cli.report(
        "import", "parcels", renamed, "--collective", COLLECTIVE_A, "--dry-run", tmp_path=tmp_path
    )
    assert result.exit_code == 1
    assert report["problems"][0]["problem"] == "missing_field"
    assert "code" in report["problems"][0]["message_en"]
    result = cli.run(
        "import", "parcels", renamed, "--collective", COLLECTIVE_A, "--map", "DKBM=code,DKMC=label"
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in _plots())[:2] == ["地块1号", "地块2号"]
    bad = cli.run("import", "parcels", renamed, "--map", "DKBM=nope")
    assert bad.exit_code == 2 and "nope" in bad.output


def test_streaming_windows_give_the_same_answer_as_one_read(app, cli, tmp_path, monkeypatch):
    path, planted = nyt_file(tmp_path, 400, overlapping=3, invalid=1, seed=11)
    _, whole = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--dry-run", tmp_path=tmp_path
    )
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 25)
    result, windows = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--dry-run", tmp_path=tmp_path
    )
    assert result.output.count("read ") >= 16  # a progress line per batch

    def pairs(report):
        return sorted(
            (o["a"]["index"], o["b"]["index"], round(o["area_m2"], 3)) for o in report["overlaps"]
        )

    assert pairs(windows) == pairs(whole) and len(pairs(whole)) >= 3
    assert windows["invalid"] == whole["invalid"]
    assert sorted(map(json.dumps, windows["problems"])) == sorted(
        map(json.dumps, whole["problems"])
    )


def test_jobs_are_kept_with_their_status(app, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 3)
    cli.run("import", "parcels", path, "--collective", COLLECTIVE_A, "--dry-run")
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    assert job.status == "validated" and job.summary["features"] == 3
    assert job.created_by == "cli"


def test_cgcs2000_geographic_input_is_reprojected_to_the_registry_crs(app, cli, tmp_path):
    """EPSG:4490 (lat/lon by definition) read as lon/lat, stored in EPSG:4547 (R: §4)."""
    from app.geo.geometry import transform_array

    path, _ = nyt_file(tmp_path, 6, name="projected.geojson")
    src = pyogrio.raw.read(str(path))
    projected = shapely.from_wkb(src[2])
    lonlat = transform_array(projected, "EPSG:4547", "EPSG:4490")
    assert 113 < shapely.bounds(lonlat)[0][0] < 115  # longitude first
    geographic = tmp_path / "cgcs2000.geojson"
    pyogrio.raw.write(
        str(geographic),
        shapely.to_wkb(lonlat),
        list(src[3]),
        fields=list(src[0]["fields"]),
        crs="EPSG:4490",
        driver="GeoJSON",
        geometry_type="Polygon",
    )
    result, report = cli.report(
        "import", "parcels", geographic, "--collective", COLLECTIVE_A, tmp_path=tmp_path
    )
    assert result.exit_code == 0, result.output
    assert report["crs"] == {
        "source": "EPSG:4490",
        "validation": "EPSG:4547",
        "registry": "EPSG:4547",
    }
    from geoalchemy2.shape import to_shape

    by_code = {p.dkbm: to_shape(p.geom) for p in _plots()}
    codes = src[3][list(src[0]["fields"]).index("DKBM")]
    for code, original in zip(codes, projected, strict=True):
        assert shapely.area(shapely.symmetric_difference(by_code[code], original)) < 0.01


def test_r01_reserve_land_is_not_linked_to_a_household(app, cli, tmp_path):
    """A reserve-land row (DKLB 22) that names a contractor keeps the plot the collective's:
    a warning, and no household on the promoted plot."""
    import numpy as np

    path, _ = nyt_file(tmp_path, 3)
    src = pyogrio.raw.read(str(path))
    fields = list(src[0]["fields"])
    values = list(src[3])
    dklb = values[fields.index("DKLB")].copy()
    dklb[0] = "22"
    values[fields.index("DKLB")] = dklb
    fields.append("CBFBM")
    values.append(np.array([COLLECTIVE_A + "0001"] * 3, dtype=object))
    out = tmp_path / "reserve.gpkg"
    pyogrio.raw.write(
        str(out),
        src[2],
        values,
        fields=fields,
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="MultiPolygon",
        promote_to_multi=True,
    )
    result, report = cli.report(
        "import", "parcels", out, "--collective", COLLECTIVE_A, tmp_path=tmp_path
    )
    assert result.exit_code == 0, result.output
    problems = {(p["index"], p["problem"], p["severity"]) for p in report["problems"]}
    assert (0, "reserve_land_household", "warning") in problems
    reserve = [p for p in _plots() if p.land_class == "22"]
    assert len(reserve) == 1 and reserve[0].household_uid is None
