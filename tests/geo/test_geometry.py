"""Tests for app.geo.geometry, on real parcel files from ../shared/data/parcels where possible."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import CRS
from shapely import wkt
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
    shape,
)

from app.geo.geometry import (
    MU_M2,
    REGISTRY_SRID,
    Finding,
    GeoError,
    area_m2,
    check_geometry,
    get_transformer,
    has_errors,
    interior_overlap_area,
    m2_to_mu,
    mu_to_m2,
    normalize_polygonal,
    overlap_pairs,
    overlaps_beyond,
    parse_crs,
    repair,
    require_crs,
    svg_path,
    to_registry_crs,
    transform_array,
    validity_finding,
)

# Real files, copied into the repository with their attribution (tests/data/parcels/ATTRIBUTION.md).
PARCELS = Path(__file__).resolve().parent.parent / "data" / "parcels"
INVALID_JSON = PARCELS / "parcelles-invalides.json"
CADASTRE = PARCELS / "cadastre-91216-parcelles.json"


# --------------------------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [4547, "4547", " 4547 ", "EPSG:4547", "epsg:4547", CRS.from_epsg(4547).to_wkt()],
)
def test_parse_crs_accepts_common_spellings(value: object) -> None:
    assert parse_crs(value) == CRS.from_epsg(4547)


def test_parse_crs_passes_crs_objects_through() -> None:
    crs = CRS.from_epsg(4490)
    assert parse_crs(crs) is crs


@pytest.mark.parametrize(
    "junk", ["foo", "EPSG:999999", "", "   ", "+proj=nonsense", None, True, 4.5, [4547]]
)
def test_parse_crs_junk_raises_geoerror(junk: object) -> None:
    with pytest.raises(GeoError) as info:
        parse_crs(junk)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, ValueError)
    assert err.code == "crs"
    assert "无法识别的坐标参考系" in err.message_zh
    assert "EPSG:4490" in err.message_zh
    assert str(err) == err.message_en
    assert "Unrecognised coordinate reference system" in err.message_en


def test_parse_crs_truncates_huge_junk_in_message() -> None:
    with pytest.raises(GeoError) as info:
        parse_crs("x" * 5000)
    assert len(info.value.message_zh) < 200


def test_require_crs_missing() -> None:
    with pytest.raises(GeoError) as info:
        require_crs(None, None)
    err = info.value
    assert err.code == "crs_missing"
    assert err.message_zh == "文件未声明坐标参考系，请指定 --crs（例如 EPSG:4490）"
    assert "--crs" in str(err)


def test_require_crs_override_wins_and_declared_used_otherwise() -> None:
    assert require_crs("EPSG:4326", "EPSG:2154") == CRS.from_epsg(2154)
    assert require_crs(None, 4490) == CRS.from_epsg(4490)
    assert require_crs("EPSG:4326", None) == CRS.from_epsg(4326)
    with pytest.raises(GeoError) as info:
        require_crs("EPSG:4326", "rubbish")
    assert info.value.code == "crs"


def test_geoerror_survives_pickling() -> None:
    err = GeoError("crs", "中文", "English")
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert (back.code, back.message_zh, back.message_en) == ("crs", "中文", "English")


def test_transformer_cache_is_shared_across_spellings() -> None:
    t1 = get_transformer(4490, 4547)
    assert get_transformer("EPSG:4490", "epsg:4547") is t1
    assert get_transformer(CRS.from_epsg(4490), "4547") is t1


def test_axis_order_cgcs2000_lon_lat_to_gauss_kruger() -> None:
    # EPSG:4490 declares latitude first; we always pass (lon, lat) and must get east/north.
    p = to_registry_crs(Point(114.07, 24.95), "EPSG:4490")
    assert p.x == pytest.approx(507069.365, abs=0.01)
    assert p.y == pytest.approx(2760517.365, abs=0.01)
    # On the central meridian the easting is exactly the false easting.
    on_cm = to_registry_crs(Point(114.0, 24.95), 4490)
    assert on_cm.x == pytest.approx(500000.0, abs=1e-6)
    assert REGISTRY_SRID == 4547


def test_swapped_lat_lon_is_refused_not_stored_as_inf() -> None:
    with pytest.raises(GeoError) as info:
        to_registry_crs(Point(24.95, 114.07), "EPSG:4490")
    assert info.value.code == "transform"
    assert "经纬度顺序颠倒" in info.value.message_zh


def test_registry_crs_must_be_projected() -> None:
    with pytest.raises(GeoError) as info:
        to_registry_crs(Point(114.07, 24.95), 4490, dst_srid=4326)
    assert info.value.code == "crs_not_projected"


def test_transform_array_is_vectorised_and_keeps_none() -> None:
    src = np.array([Point(114.07, 24.95), None, box(114.0, 24.9, 114.01, 24.91)], dtype=object)
    out = transform_array(src, "EPSG:4490", 4547)
    assert out.shape == (3,)
    assert out[1] is None
    assert out[0].x == pytest.approx(507069.365, abs=0.01)
    # 0.01° x 0.01° near 25°N is roughly 1010 m x 1107 m.
    assert area_m2(out[2]) == pytest.approx(1.12e6, rel=0.02)
    # A plain list works too.
    assert transform_array([Point(114.0, 24.95)], 4490)[0].x == pytest.approx(500000.0, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

INVALID_CASES = [
    ("POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))", "self_intersection", (5.0, 5.0)),
    ("POLYGON((0 0, 10 0, 10 10, 5 0, 0 10, 0 0))", "ring_self_intersection", (5.0, 0.0)),
    (
        "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0),(20 20, 30 20, 30 30, 20 30, 20 20))",
        "hole_outside_shell",
        (20.0, 20.0),
    ),
    (
        "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0),"
        "(1 1, 9 1, 9 9, 1 9, 1 1),(2 2, 8 2, 8 8, 2 8, 2 2))",
        "nested_holes",
        (2.0, 2.0),
    ),
    (
        "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0),(0 5, 5 0, 10 5, 5 10, 0 5))",
        "disconnected_interior",
        (5.0, 0.0),
    ),
    (
        "MULTIPOLYGON(((0 0, 10 0, 10 10, 0 10, 0 0)),((2 2, 8 2, 8 8, 2 8, 2 2)))",
        "nested_shells",
        (2.0, 2.0),
    ),
    ("POLYGON((0 0, 10 0, 0 0))", "too_few_points", (0.0, 0.0)),
]


@pytest.mark.parametrize(("text", "code", "location"), INVALID_CASES)
def test_geos_reasons_map_to_stable_codes(text: str, code: str, location: tuple) -> None:
    findings = check_geometry(wkt.loads(text), min_area_m2=0)
    assert findings[0].code == code
    assert findings[0].severity == "error"
    assert findings[0].location == location
    assert "位置 (" in findings[0].message_zh
    assert has_errors(findings)


def test_invalid_coordinate_has_no_location() -> None:
    with np.errstate(invalid="ignore"):
        g = Polygon([(0, 0), (10, 0), (np.nan, 10), (0, 10)])
    finding = validity_finding(g)
    assert finding is not None
    assert finding.code == "invalid_coordinate"
    assert finding.location is None  # "[nan 10]" is not a point one can show on a map
    with pytest.raises(GeoError) as info:
        repair(g)
    assert info.value.code == "invalid_coordinate"


def test_unknown_reason_maps_to_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shapely, "is_valid_reason", lambda g: "Something New[1.5 2]")
    finding = validity_finding(box(0, 0, 1, 1))
    assert finding is not None
    assert (finding.code, finding.location) == ("other", (1.5, 2.0))
    assert "Something New" in finding.message_en


def test_valid_square_has_no_findings() -> None:
    assert check_geometry(box(0, 0, 10, 10)) == []
    assert validity_finding(box(0, 0, 10, 10)) is None


@pytest.mark.parametrize("geom", [None, Polygon(), MultiPolygon(), GeometryCollection()])
def test_empty_geometry(geom: object) -> None:
    findings = check_geometry(geom)  # type: ignore[arg-type]
    assert [f.code for f in findings] == ["empty"]
    assert findings[0].is_error


@pytest.mark.parametrize(
    "geom",
    [Point(1, 2), LineString([(0, 0), (1, 1)]), GeometryCollection([box(0, 0, 1, 1)])],
)
def test_non_polygons_are_rejected(geom: object) -> None:
    findings = check_geometry(geom)  # type: ignore[arg-type]
    assert [f.code for f in findings] == ["not_polygon"]
    assert geom.geom_type in findings[0].message_zh  # type: ignore[union-attr]


def test_multipart_and_tiny_are_warnings() -> None:
    two = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    findings = check_geometry(two)
    assert [(f.code, f.severity) for f in findings] == [("multipart", "warning")]
    assert "2 个" in findings[0].message_zh
    assert not has_errors(findings)

    assert check_geometry(MultiPolygon([box(0, 0, 10, 10)])) == []

    tiny = box(0, 0, 0.5, 0.5)
    findings = check_geometry(tiny)  # default minimum 1 m²
    assert [(f.code, f.severity) for f in findings] == [("tiny", "warning")]
    assert "0.25 平方米" in findings[0].message_zh
    assert check_geometry(tiny, min_area_m2=0) == []
    assert check_geometry(box(0, 0, 2, 2), min_area_m2=10)[0].code == "tiny"


def test_finding_is_frozen() -> None:
    f = Finding("x", "error", "中", "en")
    with pytest.raises(AttributeError):
        f.code = "y"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Real farmer-drawn invalid parcels (cartobio)
# --------------------------------------------------------------------------------------------


def test_cartobio_invalid_parcels_reported_and_repaired() -> None:
    records = json.loads(INVALID_JSON.read_text(encoding="utf-8"))
    assert isinstance(records, list) and len(records) == 2
    for record in records:
        geom = shape(record["geometry"])
        findings = check_geometry(geom, min_area_m2=0)
        errors = [f for f in findings if f.is_error]
        assert [f.code for f in errors] == ["self_intersection"], record["nom"]
        finding = errors[0]
        assert finding.location is not None
        x, y = finding.location
        minx, miny, maxx, maxy = geom.bounds
        assert minx <= x <= maxx and miny <= y <= maxy
        assert finding.message_zh.startswith("边界自相交，位置 (")
        assert f"{x:.7f}".rstrip("0")[:8] in finding.message_zh

        fixed = repair(geom)
        assert isinstance(fixed, MultiPolygon)
        assert fixed.is_valid and not fixed.is_empty
        projected = to_registry_crs(fixed, "EPSG:4326", 2154)  # these are in France
        assert not has_errors(check_geometry(projected, min_area_m2=0))
        assert area_m2(projected) > 100


def test_cartobio_self_intersection_location_parcel_11() -> None:
    record = json.loads(INVALID_JSON.read_text(encoding="utf-8"))[0]
    assert record["id"] == "11"
    finding = validity_finding(shape(record["geometry"]))
    assert finding is not None
    assert finding.location == pytest.approx((1.08494624646459, 44.4965067571351))
    assert finding.message_zh == "边界自相交，位置 (1.0849462, 44.4965068)"


# --------------------------------------------------------------------------------------------
# Repair / normalisation
# --------------------------------------------------------------------------------------------


def test_repair_bowtie_keeps_both_lobes() -> None:
    fixed = repair(wkt.loads("POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))"))
    assert isinstance(fixed, MultiPolygon)
    assert fixed.is_valid
    assert len(fixed.geoms) == 2
    assert fixed.area == pytest.approx(50.0)


def test_repair_drops_spike_and_keeps_valid_input() -> None:
    spiky = wkt.loads("POLYGON((0 0, 10 0, 10 10, 10 20, 10 10, 0 10, 0 0))")
    assert validity_finding(spiky) is not None
    fixed = repair(spiky)
    assert fixed.is_valid and fixed.area == pytest.approx(100.0)
    assert fixed.bounds == (0.0, 0.0, 10.0, 10.0)

    square = box(0, 0, 1, 1)
    assert repair(square).equals(MultiPolygon([square]))


def test_repair_refuses_collapsed_and_empty() -> None:
    with pytest.raises(GeoError) as info:
        repair(wkt.loads("POLYGON((0 0, 10 0, 20 0, 0 0))"))
    assert info.value.code == "repair_empty"
    with pytest.raises(GeoError):
        repair(Polygon())


def test_normalize_polygonal() -> None:
    sq = box(0, 0, 1, 1)
    single = normalize_polygonal(sq)
    assert isinstance(single, MultiPolygon) and len(single.geoms) == 1
    mp = MultiPolygon([sq, box(2, 2, 3, 3)])
    assert normalize_polygonal(mp) is mp
    gc = GeometryCollection(
        [sq, LineString([(0, 0), (5, 5)]), Point(9, 9), GeometryCollection([box(5, 5, 6, 6)])]
    )
    out = normalize_polygonal(gc)
    assert isinstance(out, MultiPolygon) and len(out.geoms) == 2
    assert normalize_polygonal(LineString([(0, 0), (1, 1)])).is_empty
    assert normalize_polygonal(None).is_empty


# --------------------------------------------------------------------------------------------
# Areas and overlaps
# --------------------------------------------------------------------------------------------


def test_mu_conversion() -> None:
    assert m2_to_mu(10000) == pytest.approx(15.0)
    assert m2_to_mu(MU_M2) == pytest.approx(1.0)
    assert m2_to_mu(666.67) == pytest.approx(1.0, abs=1e-5)
    assert mu_to_m2(1.5) == pytest.approx(1000.0)
    assert area_m2(box(0, 0, 20, 50)) == 1000.0


def test_touching_squares_do_not_overlap() -> None:
    a, b = box(0, 0, 10, 10), box(10, 0, 20, 10)
    assert interior_overlap_area(a, b) == 0.0
    assert not overlaps_beyond(a, b, tolerance_m2=0.0)
    corner = box(10, 10, 20, 20)
    assert interior_overlap_area(a, corner) == 0.0
    assert interior_overlap_area(a, box(50, 50, 60, 60)) == 0.0


def test_overlapping_squares_area_and_tolerance() -> None:
    a, b = box(0, 0, 10, 10), box(5, 5, 15, 15)
    assert interior_overlap_area(a, b) == pytest.approx(25.0)
    assert overlaps_beyond(a, b, tolerance_m2=1.0)
    assert not overlaps_beyond(a, b, tolerance_m2=25.0)
    sliver = box(9.99, 0, 20, 10)  # 0.1 m² — survey noise, below the default tolerance
    assert interior_overlap_area(a, sliver) == pytest.approx(0.1)
    assert not overlaps_beyond(a, sliver)
    assert interior_overlap_area(a, box(2, 2, 4, 4)) == pytest.approx(4.0)  # containment


def test_overlap_of_invalid_geometry_raises_geoerror() -> None:
    bowtie = wkt.loads("POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))")
    with pytest.raises(GeoError) as info:
        interior_overlap_area(bowtie, box(0, 0, 10, 10))
    assert info.value.code == "invalid_geometry"
    with pytest.raises(GeoError) as info:
        overlap_pairs([box(0, 0, 10, 10), bowtie, box(50, 50, 60, 60)], 0.0)
    assert info.value.code == "invalid_geometry"
    assert "1" in info.value.message_en


def test_overlap_pairs_small_batch() -> None:
    geoms = [
        box(0, 0, 10, 10),  # 0
        box(10, 0, 20, 10),  # 1 touches 0
        box(5, 5, 15, 15),  # 2 overlaps 0 (25) and 1 (25)
        None,  # 3 no geometry
        box(0, 0, 10, 10),  # 4 duplicate of 0
        box(9.99, 20, 20, 30),  # 5 far away
        Polygon(),  # 6 empty
    ]
    pairs = overlap_pairs(geoms, tolerance_m2=1.0)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2), (0, 4), (1, 2), (2, 4)]
    areas = {(i, j): a for i, j, a in pairs}
    assert areas[(0, 4)] == pytest.approx(100.0)
    assert areas[(1, 2)] == pytest.approx(25.0)
    assert overlap_pairs(geoms, tolerance_m2=30.0) == [(0, 4, pytest.approx(100.0))]
    assert overlap_pairs([box(0, 0, 1, 1)]) == []
    assert overlap_pairs([]) == []


def test_overlap_pairs_threaded_chunks_match_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.geo.geometry as geometry

    monkeypatch.setattr(geometry, "_CHUNK", 7)  # force many chunks on a small grid
    grid = [box(x, y, x + 10.5, y + 10.5) for x in range(0, 100, 10) for y in range(0, 100, 10)]
    serial = overlap_pairs(grid, 0.0, workers=1)
    threaded = overlap_pairs(grid, 0.0, workers=4)
    assert serial == threaded
    assert len(serial) > 100


# --------------------------------------------------------------------------------------------
# Real French cadastre: 4,241 parcels in EPSG:4326
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cadastre_2154() -> np.ndarray:
    meta, _fids, wkb, _fields = pyogrio.raw.read(CADASTRE)
    assert meta["crs"] == "EPSG:4326"
    geoms = shapely.from_wkb(wkb)
    # Lambert-93 for France: EPSG:4547 is centred on 114°E and would distort areas here.
    return transform_array(geoms, meta["crs"], 2154)


def test_cadastre_overlaps_only_micro_slivers(cadastre_2154: np.ndarray) -> None:
    assert len(cadastre_2154) == 4241
    assert overlap_pairs(cadastre_2154, tolerance_m2=1.0) == []
    t0 = time.perf_counter()
    pairs = overlap_pairs(cadastre_2154, tolerance_m2=0.0)
    elapsed = time.perf_counter() - t0
    assert len(pairs) == 3
    for i, j, area in pairs:
        assert i < j
        assert 0 < area < 0.14
        assert round(area, 2) <= 0.13  # the data README's "≤0.13 m²"; the largest is 0.1304
        assert interior_overlap_area(cadastre_2154[i], cadastre_2154[j]) == pytest.approx(area)
    assert elapsed < 30  # ~0.1 s on a dev machine; only catches a pathological regression


def test_cadastre_checks_match_data_readme(cadastre_2154: np.ndarray) -> None:
    findings = [check_geometry(g, min_area_m2=10.0) for g in cadastre_2154]
    assert not any(has_errors(f) for f in findings)
    tiny = sum(1 for f in findings if [x.code for x in f] == ["tiny"])
    assert tiny == 76  # "76 under 10 m²"
    holes = sum(1 for g in cadastre_2154 if len(g.interiors) > 0)
    assert holes == 30


# --------------------------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------------------------


def _ring_points(subpath: str) -> list[tuple[float, float]]:
    pts = subpath.lstrip("M").split("L")
    return [(float(x), float(y)) for x, y in (pt.split() for pt in pts)]


def _signed_area(pts: list[tuple[float, float]]) -> float:
    closed = pts[1:] + pts[:1]
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, closed, strict=True)) / 2


def test_svg_path_fits_flips_and_keeps_holes() -> None:
    with_hole = Polygon(
        [(0, 0), (100, 0), (100, 50), (0, 50)], [[(10, 10), (20, 10), (20, 20), (10, 20)]]
    )
    view_box, paths = svg_path([with_hole, None, LineString([(0, 0), (1, 1)])], 120, 120, 10)
    # The canvas shrinks to the content's proportions: 100 x 50 at scale 1, plus padding.
    assert view_box == "0 0 120 70"
    assert paths[1] == "" and paths[2] == ""
    d = paths[0]
    assert d.count("M") == 2 and d.count("Z") == 2  # shell and hole are separate subpaths
    # Width 100 -> 100 px (scale 1): y range 10..60, flipped.
    assert d.startswith("M10 60L")
    assert "10 10" in d and "110 60" in d
    nums = [float(n) for n in d.replace("M", " ").replace("L", " ").replace("Z", " ").split()]
    xs, ys = nums[0::2], nums[1::2]
    assert min(xs) == 10 and max(xs) == 110
    assert min(ys) == 10 and max(ys) == 60
    # The hole at data y 10..20 lands near the bottom (SVG y grows downwards).
    hole = d.split("Z")[1]
    assert "50" in hole and "40" in hole


def test_svg_path_shares_one_scale_and_orients_rings() -> None:
    a = Polygon([(0, 0), (0, 10), (10, 10), (10, 0)])  # clockwise on input
    b = box(10, 0, 20, 10)
    _, (da, db) = svg_path([a, MultiPolygon([b])], 200, 100, 0)
    assert da == "M0 100L100 100L100 0L0 0Z"  # scale 10 for both plots
    assert db == "M200 100L200 0L100 0L100 100Z"
    assert _signed_area(_ring_points(da[:-1])) * _signed_area(_ring_points(db[:-1])) > 0

    holed = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 8), (8, 8), (8, 2)]])
    _, (d,) = svg_path([holed], 100, 100, 0)
    shell, hole = (_ring_points(sub) for sub in d.split("Z")[:2])
    assert _signed_area(shell) * _signed_area(hole) < 0  # opposite winding: nonzero works too
    # Degenerate and empty inputs do not divide by zero.
    assert svg_path([], 50, 50, 5) == ("0 0 50 50", [])
    _, (dz,) = svg_path([box(0, 0, 10, 10)], 10, 10, 5)  # no room inside the padding
    assert dz.startswith("M")
