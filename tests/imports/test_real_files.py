"""The real parcel files of shared/data (copied into tests/data/parcels), with their outcomes.

They are foreign parcels, far outside the registry CRS (EPSG:4547, CM 114°E): they can never be
promoted (a file-level error says so), while a dry run judges them honestly in a CRS suited to
them (their own projected CRS, else the UTM zone of the data).
"""

from __future__ import annotations

import pytest

from tests.imports.conftest import COLLECTIVE_A, DATA

# file, extra arguments, features, CRS the geometry is checked in
FILES = [
    ("cadastre-91216-parcelles.json", (), 4241, "EPSG:32631"),
    ("referentiepercelen.gpkg", (), 100, "EPSG:28992"),
    ("geoprostor_zadosti23_2024-08-01_202409261243_epsg4258.zip", (), 100, "EPSG:32633"),
    ("Marker_2024.zip", (), 100, "EPSG:25832"),
    ("IACS_GSAA_2022.gpkg", (), 100, "EPSG:32629"),
    ("NationalCSB_2016-2023_rev23.gpkg", (), 100, "EPSG:5070"),
    ("telepac-parcelles.zip", ("--crs", "EPSG:2154"), 45, "EPSG:2154"),
]


@pytest.mark.parametrize(("name", "extra", "features", "checked_in"), FILES)
def test_foreign_files_are_read_and_checked_in_a_crs_that_suits_them(
    cli, tmp_path, name, extra, features, checked_in
):
    result, report = cli.report(
        "import", "parcels", DATA / name, *extra, "--dry-run", "--geometry-only", tmp_path=tmp_path
    )
    assert report["features"] == features, result.output
    assert report["crs"]["validation"] == checked_in
    outside = [p for p in report["problems"] if p["problem"] == "outside_crs_area"]
    assert len(outside) == 1 and outside[0]["index"] is None
    assert "EPSG:4547" in outside[0]["message_en"] and outside[0]["message_zh"]


def test_the_cadastre_micro_overlaps_are_below_the_default_tolerance(
    app, cli, tmp_path, monkeypatch
):
    path = DATA / "cadastre-91216-parcelles.json"
    _, report = cli.report(
        "import", "parcels", path, "--dry-run", "--geometry-only", tmp_path=tmp_path
    )
    assert report["overlaps"] == []
    assert report["tolerance_m2"] == 1.0
    monkeypatch.setitem(app.config, "OVERLAP_TOLERANCE_M2", 1e-6)
    _, fine = cli.report(
        "import", "parcels", path, "--dry-run", "--geometry-only", tmp_path=tmp_path
    )
    areas = sorted(o["area_m2"] for o in fine["overlaps"])
    assert len(areas) == 3
    assert 0.12 < areas[-1] < 0.14  # the largest is 0.1304 m² in the source's own measure


def test_the_cadastre_tiny_parcels_are_warnings(cli, tmp_path):
    _, report = cli.report(
        "import",
        "parcels",
        DATA / "cadastre-91216-parcelles.json",
        "--dry-run",
        "--geometry-only",
        tmp_path=tmp_path,
    )
    tiny = [p for p in report["problems"] if p["problem"] == "tiny"]
    assert len(tiny) == 3 and all(p["severity"] == "warning" for p in tiny)
    assert report["invalid"] == 0


def test_telepac_without_prj_is_refused_until_the_crs_is_given(cli, tmp_path):
    path = DATA / "telepac-parcelles.zip"
    result = cli.run("import", "parcels", path, "--dry-run", "--geometry-only")
    assert result.exit_code == 2
    assert "--crs" in result.output and "未声明坐标参考系" in result.output
    result, report = cli.report(
        "import",
        "parcels",
        path,
        "--crs",
        "EPSG:2154",
        "--dry-run",
        "--geometry-only",
        tmp_path=tmp_path,
    )
    assert report["features"] == 45
    # the 13 overlapping pairs are slivers but one: 7.77 m² is beyond the 1 m² tolerance
    assert [round(o["area_m2"], 2) for o in report["overlaps"]] == [7.77]


def test_usda_invalid_rings_are_reported_with_reasons(cli, tmp_path):
    path = DATA / "NationalCSB_2016-2023_rev23.gpkg"  # the FileGDB below, as a GeoPackage
    result, report = cli.report("import", "parcels", path, "--dry-run", tmp_path=tmp_path)
    assert result.exit_code == 1
    assert report["features"] == 100
    rings = [p for p in report["problems"] if p["problem"] == "ring_self_intersection"]
    assert len(rings) == 5 and report["geometry_invalid"] == 5
    assert all(" at (" in p["message_en"] and "位置" in p["message_zh"] for p in rings)
    # its attributes do not map: reported once for the file, geometry still checked
    assert sorted(p["problem"] for p in report["problems"] if p["index"] is None) == [
        "missing_field",
        "outside_crs_area",
    ]


def test_foreign_data_is_never_promoted(cli, tmp_path):
    result = cli.run(
        "import",
        "parcels",
        DATA / "referentiepercelen.gpkg",
        "--collective",
        COLLECTIVE_A,
        "--valid-only",
    )
    assert result.exit_code == 1
    assert "area of use" in result.output or "as a whole" in result.output


def test_a_json_array_is_refused_with_a_clear_message(cli):
    result = cli.run("import", "parcels", DATA / "parcelles-invalides.json", "--dry-run")
    assert result.exit_code == 2
    assert "JSON array, not GeoJSON" in result.output and "不是 GeoJSON" in result.output


def test_a_zip_without_a_shapefile_is_refused_saying_what_a_zip_may_hold(cli):
    result = cli.run("import", "parcels", DATA / "geofolia-parcelles.zip", "--dry-run")
    assert result.exit_code == 2
    assert "holds no Shapefile" in result.output and "没有 Shapefile" in result.output


@pytest.mark.parametrize(
    ("name", "what_en", "what_zh"),
    [
        ("IACS_GSAA_2022.zip", "holds no Shapefile", "没有 Shapefile"),  # a GML inside
        ("NationalCSB_2016-2023_rev23.zip", "file geodatabase (FileGDB)", "文件地理数据库"),
    ],
)
def test_gml_and_filegdb_are_refused_with_the_way_out(cli, name, what_en, what_zh):
    # GML (remote schemas) and FileGDB are read by no allowed driver: the user is told what to
    # save them as. Their GeoPackage copies above are read and checked.
    result = cli.run("import", "parcels", DATA / name, "--dry-run")
    assert result.exit_code == 2
    assert what_en in result.output and what_zh in result.output
    assert "GeoPackage" in result.output
