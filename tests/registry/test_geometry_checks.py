"""Plot geometry checks through the services: CRS required, validity with the reason and where,
repair only on request, reprojection, overlaps beyond the tolerance as findings, decisions."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import to_shape
from pyproj import Geod, Transformer
from shapely.geometry import Polygon, box
from sqlalchemy import select, text

from app.core.errors import DomainError
from app.extensions import db
from app.registry import history, land
from app.registry.models import GeometryFinding, Plot
from app.registry.spatial_checks import overlapping_plots, plots_near
from tests.factories import land as fx
from tests.factories.land import add, refused


def bowtie(x: float, y: float, side: float = 40.0) -> Polygon:
    """A self-intersecting ring: the edges cross at (x + side/2, y + side/2)."""
    return Polygon([(x, y), (x + side, y + side), (x + side, y), (x, y + side), (x, y)])


def open_findings(plot_uid: int) -> list[GeometryFinding]:
    return [f for f in land.findings_of_plot(plot_uid) if f.state == "open"]


# --- validity ----------------------------------------------------------------------------------


def test_self_intersection_refused_with_reason_and_location(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    with pytest.raises(land.GeometryRejected) as info:
        add(baseline.collective_a, bowtie(x, y))
    err = info.value
    assert err.code == "invalid_geometry" and err.field == "geometry"
    assert err.reason == "self_intersection"
    assert err.location == pytest.approx((x + 20, y + 20))
    assert "自相交" in err.message  # the default language is Chinese
    assert f"{x + 20:.0f}" in err.message  # the location is in the message too
    assert err.repair_available
    body = err.as_dict()
    assert body["reason"] == "self_intersection" and body["location"] == pytest.approx(
        [x + 20, y + 20]
    )
    assert body["repair_available"] is True
    assert db.session.scalar(select(Plot.uid).where(Plot.collective_id == 0)) is None


def test_repair_applied_only_when_asked_and_recorded(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    code = fx.dkbm(baseline.collective_a)
    with pytest.raises(land.GeometryRejected):
        add(baseline.collective_a, bowtie(x, y), dkbm=code, reason="确权测绘")
    # Nothing was stored by the refused attempt.
    assert db.session.scalar(select(Plot.uid).where(Plot.dkbm == code)) is None
    change = add(
        baseline.collective_a, bowtie(x, y), dkbm=code, reason="确权测绘", accept_repair=True
    )
    assert change.repaired
    stored = to_shape(change.plot.geom)
    assert stored.is_valid and stored.area == pytest.approx(800.0)  # the two lobes
    assert change.plot.change_reason.startswith("确权测绘")
    assert "自相交" in change.plot.change_reason or "self-intersects" in change.plot.change_reason
    assert any(w.code == "multipart" for w in change.warnings)


def test_accepting_a_repair_changes_nothing_on_a_valid_geometry(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    change = add(baseline.collective_a, fx.square(x, y), reason="确权测绘", accept_repair=True)
    assert not change.repaired
    assert change.plot.change_reason == "确权测绘"


def test_not_a_polygon_refused_without_repair(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    code = fx.dkbm(baseline.collective_a)
    line = {"type": "LineString", "coordinates": [[x, y], [x + 10, y + 10]]}
    with pytest.raises(land.GeometryRejected) as info:
        land.add_plot(
            baseline.collective_a,
            code,
            line,
            "EPSG:4547",
            source_document_id=fx.make_document(baseline.collective_a),
            reason="x",
        )
    assert info.value.reason == "not_polygon" and not info.value.repair_available


@pytest.mark.parametrize(
    "geometry",
    ["{not json", '{"type": "Polygon", "coordinates": [[1, 2]]}', "POLYGON((", 42],
)
def test_unreadable_geometry_refused(ctx, baseline, geometry):
    with refused() as r:
        land.add_plot(
            baseline.collective_a,
            fx.dkbm(baseline.collective_a),
            geometry,
            "EPSG:4547",
            source_document_id=fx.make_document(baseline.collective_a),
            reason="x",
        )
    assert r.error.field == "geometry"


# --- CRS ---------------------------------------------------------------------------------------


def test_crs_is_required(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    for missing in (None, ""):
        with refused(code="crs_missing") as r:
            add(baseline.collective_a, fx.square(x, y), crs=missing)
        assert r.error.field == "crs"
        # about the form the user is filling in, not the command line's --crs
        assert "请在表单中选择坐标系" in r.error.message and "--crs" not in r.error.message


def test_unknown_crs_refused(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    with refused(code="crs"):
        add(baseline.collective_a, fx.square(x, y), crs="EPSG:999999")


def test_crs_declared_by_the_geojson_is_used(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    feature = {
        "type": "Feature",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}},
        "properties": {},
        "geometry": fx.geojson(fx.square(x, y)),
    }
    change = land.add_plot(
        baseline.collective_a,
        fx.dkbm(baseline.collective_a),
        feature,
        None,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="x",
    )
    assert change.plot.measured_area_m2 == pytest.approx(1600.0)


def test_lon_lat_input_in_epsg4490_is_transformed_with_correct_area(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    to_lonlat = Transformer.from_crs("EPSG:4547", "EPSG:4490", always_xy=True)
    corners = [(x, y), (x + 100, y), (x + 100, y + 80), (x, y + 80), (x, y)]
    lonlat = [to_lonlat.transform(cx, cy) for cx, cy in corners]
    assert 113 < lonlat[0][0] < 115 and 24 < lonlat[0][1] < 26  # Shixing, longitude first
    geod_area = abs(Geod(ellps="GRS80").polygon_area_perimeter(*zip(*lonlat, strict=True))[0])
    change = land.add_plot(
        baseline.collective_a,
        fx.dkbm(baseline.collective_a),
        {"type": "Polygon", "coordinates": [[list(p) for p in lonlat]]},
        "EPSG:4490",
        source_document_id=fx.make_document(baseline.collective_a),
        reason="x",
    )
    assert change.plot.measured_area_m2 == pytest.approx(geod_area, rel=0.005)
    assert change.plot.measured_area_m2 == pytest.approx(8000.0, rel=0.005)
    minx, miny, _, _ = to_shape(change.plot.geom).bounds
    assert minx == pytest.approx(x, abs=0.01) and miny == pytest.approx(y, abs=0.01)


def test_lon_lat_declared_as_projected_refused_as_elsewhere(ctx, baseline):
    lonlat = box(114.05, 24.95, 114.06, 24.96)
    with refused(code="outside_area") as r:
        add(baseline.collective_a, lonlat, crs="EPSG:4547")
    assert r.error.field == "crs"


# --- overlaps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strip", "expected"),
    [(0.0, 0), (0.5 / 40, 0), (5.0 / 40, 1)],
    ids=["touching", "0.5m2", "5m2"],
)
def test_overlap_counts_only_beyond_the_tolerance(ctx, baseline, strip, expected):
    x, y = fx.origin(baseline.collective_a)
    first = add(baseline.collective_a, fx.square(x, y, 40)).plot
    second = add(baseline.collective_a, box(x + 40 - strip, y, x + 80 - strip, y + 40))
    assert len(second.findings) == expected
    if expected:
        finding = second.findings[0]
        assert finding.kind == "overlap" and finding.state == "open"
        assert finding.plot_uid == second.plot.uid and finding.other_plot_uid == first.uid
        assert finding.overlap_m2 == pytest.approx(5.0, abs=0.01)
        assert finding.collective_id == baseline.collective_a
    assert len(open_findings(first.uid)) == expected


def test_overlap_tolerance_comes_from_config(ctx, app, baseline):
    x, y = fx.origin(baseline.collective_a)
    add(baseline.collective_a, fx.square(x, y, 40))
    old = app.config["OVERLAP_TOLERANCE_M2"]
    app.config["OVERLAP_TOLERANCE_M2"] = 10.0
    try:
        change = add(baseline.collective_a, box(x + 39.875, y, x + 79.875, y + 40))
    finally:
        app.config["OVERLAP_TOLERANCE_M2"] = old
    assert change.findings == []


def test_overlapping_plot_is_registered_with_a_finding_not_blocked(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    a = add(baseline.collective_a, fx.square(x, y, 40)).plot
    b = add(baseline.collective_a, fx.square(x + 10, y + 10, 40))
    assert history.current_of(Plot, b.plot.uid) is not None
    assert [(f.other_plot_uid, round(f.overlap_m2)) for f in b.findings] == [(a.uid, 900)]


def test_old_versions_do_not_count_as_overlaps(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    a = add(baseline.collective_a, fx.square(x, y, 40)).plot
    land.update_plot_geometry(
        a.uid,
        fx.geojson(fx.square(x + 100, y, 40)),
        "EPSG:4547",
        source_document_id=fx.make_document(baseline.collective_a),
        reason="移位",
    )
    b = add(baseline.collective_a, fx.square(x, y, 40))
    assert b.findings == []


def test_revising_away_resolves_and_revising_back_reopens(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    a = add(baseline.collective_a, fx.square(x, y, 40)).plot
    b = add(baseline.collective_a, fx.square(x + 20, y, 40))
    finding_id = b.findings[0].id
    doc = fx.make_document(baseline.collective_a)
    moved = land.update_plot_geometry(
        a.uid,
        fx.geojson(fx.square(x - 20, y, 40)),
        "EPSG:4547",
        source_document_id=doc,
        reason="复测",
    )
    assert moved.findings == []
    assert db.session.get(GeometryFinding, finding_id).state == "resolved"
    back = land.update_plot_geometry(
        a.uid,
        fx.geojson(fx.square(x + 10, y, 40)),
        "EPSG:4547",
        source_document_id=doc,
        reason="再测",
    )
    assert [f.id for f in back.findings] == [finding_id]  # one finding per pair
    reopened = db.session.get(GeometryFinding, finding_id)
    assert reopened.state == "open" and reopened.overlap_m2 == pytest.approx(1200.0)


def test_overlapping_plots_query_directly(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    a = add(baseline.collective_a, fx.square(x, y, 40)).plot
    probe = fx.square(x + 30, y + 30, 40)
    assert overlapping_plots(probe, tolerance_m2=1.0) == [(a.uid, pytest.approx(100.0))]
    assert overlapping_plots(probe, tolerance_m2=100.5) == []
    assert overlapping_plots(probe, exclude_uid=a.uid, tolerance_m2=1.0) == []
    assert [n.uid for n in plots_near(probe, margin_m=5)] == [a.uid]


def test_spatial_index_exists_after_migrations(ctx):
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        enabled = conn.execute(
            text(
                "SELECT spatial_index_enabled FROM geometry_columns "
                "WHERE f_table_name = 'plot' AND f_geometry_column = 'geom'"
            )
        ).scalar()
        assert enabled == 1
        assert conn.execute(text("SELECT CheckSpatialIndex('plot', 'geom')")).scalar() == 1
        assert conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'idx_plot_geom'")
        ).scalar()
    else:
        indexdef = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_plot_geom'")
        ).scalar()
        assert "gist" in indexdef.lower()
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text(
                    "EXPLAIN SELECT uid FROM plot p WHERE p.geom && "
                    "ST_MakeEnvelope(507000, 2760000, 507100, 2760100, 4547)"
                )
            )
        )
        assert "idx_plot_geom" in plan


# --- finding decisions -------------------------------------------------------------------------


def test_finding_decisions_follow_the_state_machine(ctx, baseline):
    made = fx.make(baseline.collective_a, {})
    fid = made["finding_id"]
    with refused(code="reason_required"):
        land.decide_finding(fid, "accepted", " ")
    with refused(code="finding_state"):
        land.decide_finding(fid, "open", "why")
    decided = land.decide_finding(fid, "accepted", "两户确认共用田埂")
    assert decided.state == "accepted"
    assert decided.decision_reason == "两户确认共用田埂" and decided.decided_by == "tester"
    with refused(code="finding_decided"):
        land.decide_finding(fid, "resolved", "again")
    with pytest.raises(DomainError) as info:
        land.decide_finding(999_999, "resolved", "x")
    assert info.value.status == 404


@pytest.mark.load
def test_one_plot_over_many_returns_and_records_a_bounded_number(ctx, baseline, monkeypatch):
    from flask import current_app

    monkeypatch.setitem(current_app.config, "OVERLAP_MAX_HITS", 5)
    x, y = fx.origin(baseline.collective_a)
    small = [
        add(baseline.collective_a, fx.square(x + 10 + i * 18, y + 10, 15)).plot.uid
        for i in range(10)
    ]
    big = add(baseline.collective_a, box(x + 1, y + 1, x + 199, y + 40))
    assert sorted(f.other_plot_uid for f in big.findings) == small[:5]
    assert [u for u, _ in overlapping_plots(box(x + 1, y + 1, x + 199, y + 40), limit=3)] == small[
        :3
    ]
    # moved off the first three: their findings are resolved, the next ones recorded; the
    # plots after the cut are neither recorded nor resolved
    moved = land.update_plot_geometry(
        big.plot.uid,
        fx.geojson(box(x + 65, y + 1, x + 199, y + 40)),
        "EPSG:4547",
        source_document_id=fx.make_document(baseline.collective_a),
        reason="复测",
    )
    assert sorted(f.other_plot_uid for f in moved.findings) == small[3:8]
    states = {f.other_plot_uid: f.state for f in land.findings_of_plot(big.plot.uid)}
    assert states == {**dict.fromkeys(small[:3], "resolved"), **dict.fromkeys(small[3:8], "open")}
