"""Splitting and merging plots: new codes, the old plots kept in history, the contract's area
summed again, and the same geometry checks as registering a plot (real database, rolled back)."""

from __future__ import annotations

from datetime import date

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, land
from app.registry.models import GeometryFinding, LandContract, Plot
from app.registry.plot_changes import merge_plots, next_dkbms, split_plot
from tests.factories import land as fx
from tests.factories.land import add, refused

TODAY = date(2026, 3, 1)


def code(collective_id: int, n: int) -> str:
    return db.session.get(Collective, collective_id).fbfbm + f"{n:05d}"


def contract(collective_id: int) -> LandContract:
    return fx.contract(collective_id)


def collection(*geoms) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": mapping(g)} for g in geoms],
    }


def doc(world) -> int:
    return fx.make_document(world)


@pytest.fixture
def halves(ctx, baseline):
    """A 40 m x 40 m plot of 1,600 m² (contract area 1,700) in a contract, and its two halves."""
    a = baseline.collective_a
    c = contract(a)
    x, y = fx.origin(a)
    p = add(
        a,
        box(x, y, x + 40, y + 40),
        dkbm=code(a, 7),
        contract_uid=c.uid,
        contract_area_m2=1700.0,
        name="大丘田",
    ).plot
    return {
        "a": a,
        "contract": c,
        "plot": p,
        "x": x,
        "y": y,
        "left": box(x, y, x + 15, y + 40),
        "right": box(x + 15, y, x + 40, y + 40),
    }


# --- split -------------------------------------------------------------------------------------


def test_split_ends_the_plot_and_starts_new_ones_with_new_codes(halves):
    h = halves
    before = utcnow()
    done = split_plot(
        h["plot"].uid,
        collection(h["left"], h["right"]),
        "EPSG:4547",
        source_document_id=doc(h["a"]),
        reason="分户分地",
    )
    left, right = (c.plot for c in done.created)
    assert [left.dkbm, right.dkbm] == [code(h["a"], 8), code(h["a"], 9)]  # next free numbers
    assert history.current_of(Plot, h["plot"].uid) is None
    old = history.versions(Plot, h["plot"].uid)[-1]
    assert old.end_lifespan is not None
    assert f"{left.dkbm}, {right.dkbm}" in old.change_reason and "分割为" in old.change_reason
    assert history.as_of(Plot, h["plot"].uid, before, recorded=True).dkbm == code(
        h["a"], 7
    )  # kept in history
    for p in (left, right):
        assert (
            p.contract_uid == h["contract"].uid and p.household_uid == h["contract"].household_uid
        )
        assert p.name == "大丘田" and p.land_class == "10"
        assert code(h["a"], 7) in p.change_reason
    assert left.measured_area_m2 == pytest.approx(600.0)
    assert right.measured_area_m2 == pytest.approx(1000.0)
    # The contract area is shared by measured area and still adds up to the whole.
    assert (left.contract_area_m2, right.contract_area_m2) == (637.5, 1062.5)
    assert history.current_of(LandContract, h["contract"].uid).contract_area_m2 == 1700.0
    assert {p.dkbm for p in land.contract_plots(h["contract"].uid)} == {left.dkbm, right.dkbm}


def test_split_takes_given_contract_areas_and_sums_the_contract_again(halves):
    h = halves
    done = split_plot(
        h["plot"].uid,
        collection(h["left"], h["right"]),
        "EPSG:4547",
        source_document_id=doc(h["a"]),
        reason="重新核定",
        contract_areas=[600, 1000],
    )
    assert [c.plot.contract_area_m2 for c in done.created] == [600.0, 1000.0]
    assert history.current_of(LandContract, h["contract"].uid).contract_area_m2 == 1600.0


def test_split_accepts_a_multipolygon_in_wkt(halves):
    h = halves
    wkt = f"MULTIPOLYGON((({_ring(h['left'])})),(({_ring(h['right'])})))"
    done = split_plot(
        h["plot"].uid, wkt, "EPSG:4547", source_document_id=doc(h["a"]), reason="分割"
    )
    assert len(done.created) == 2


def _ring(g) -> str:
    return ", ".join(f"{x} {y}" for x, y in g.exterior.coords)


@pytest.mark.parametrize(
    "case,error",
    [
        ("outside", "part_outside"),
        ("overlap", "parts_overlap"),
        ("gap", "parts_gap"),
        ("one", "parts_count"),
    ],
)
def test_split_parts_must_lie_inside_and_cover_the_plot(halves, case, error):
    h = halves
    x, y = h["x"], h["y"]
    parts = {
        "outside": [h["left"], box(x + 15, y, x + 45, y + 40)],
        "overlap": [box(x, y, x + 20, y + 40), h["right"]],
        "gap": [box(x, y, x + 14, y + 40), h["right"]],
        "one": [box(x, y, x + 40, y + 40)],
    }[case]
    with refused(code=error) as r:
        split_plot(
            h["plot"].uid,
            collection(*parts),
            "EPSG:4547",
            source_document_id=doc(h["a"]),
            reason="分割",
        )
    assert r.error.field == "parts" and r.error.message
    assert history.current_of(Plot, h["plot"].uid) is not None  # nothing written


def test_split_needs_a_crs_and_valid_parts(halves):
    h = halves
    with refused(code="crs_missing"):
        split_plot(
            h["plot"].uid,
            collection(h["left"], h["right"]),
            "",
            source_document_id=doc(h["a"]),
            reason="分割",
        )
    x, y = h["x"], h["y"]
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 15, y + 40], [x + 15, y], [x, y + 40], [x, y]]],
    }
    with refused(code="invalid_geometry") as r:
        split_plot(
            h["plot"].uid,
            {"type": "GeometryCollection", "geometries": [bowtie, mapping(h["right"])]},
            "EPSG:4547",
            source_document_id=doc(h["a"]),
            reason="分割",
        )
    assert "1" in r.error.message  # which new plot


def test_split_checks_overlaps_of_the_new_plots(halves):
    h = halves
    x, y = h["x"], h["y"]
    neighbour = add(h["a"], box(x + 35, y, x + 60, y + 40)).plot  # 200 m² over the plot
    [old_finding] = neighbour_findings(neighbour.uid)
    done = split_plot(
        h["plot"].uid,
        collection(h["left"], h["right"]),
        "EPSG:4547",
        source_document_id=doc(h["a"]),
        reason="分割",
    )
    left, right = done.created
    assert left.findings == []
    [finding] = right.findings
    assert finding.overlap_m2 == pytest.approx(200.0) and finding.state == "open"
    assert old_finding.state == "resolved"  # the ended plot's finding is closed


def neighbour_findings(plot_uid: int) -> list[GeometryFinding]:
    return list(
        db.session.scalars(
            select(GeometryFinding).where(
                (GeometryFinding.plot_uid == plot_uid)
                | (GeometryFinding.other_plot_uid == plot_uid)
            )
        )
    )


def test_split_codes_never_reuse_a_code_from_the_history(halves):
    h = halves
    coll = db.session.get(Collective, h["a"])
    first = split_plot(
        h["plot"].uid,
        collection(h["left"], h["right"]),
        "EPSG:4547",
        source_document_id=doc(h["a"]),
        reason="分割",
    )
    right = first.created[1].plot
    assert right.dkbm == code(h["a"], 9)
    history.end(right, reason="注销", source_document_id=doc(h["a"]))
    assert next_dkbms(coll, 2) == [code(h["a"], 10), code(h["a"], 11)]


def test_plot_codes_past_99999_take_the_lowest_never_used(ctx, baseline):
    a = baseline.collective_a
    x, y = fx.origin(a)
    add(a, box(x, y, x + 10, y + 10), dkbm=code(a, 99999))
    add(a, box(x + 20, y, x + 30, y + 10), dkbm=code(a, 1))
    assert next_dkbms(db.session.get(Collective, a), 2) == [code(a, 2), code(a, 3)]


def test_split_cannot_cite_another_collectives_document(halves, baseline):
    b = baseline.collective_b
    with refused(code="source_unknown"):
        split_plot(
            halves["plot"].uid,
            collection(halves["left"], halves["right"]),
            "EPSG:4547",
            source_document_id=doc(b),
            reason="分割",
        )


# --- merge -------------------------------------------------------------------------------------


@pytest.fixture
def pair(ctx, baseline):
    a = baseline.collective_a
    c = contract(a)
    x, y = fx.origin(a)
    one = add(
        a,
        box(x, y, x + 20, y + 40),
        dkbm=code(a, 21),
        contract_uid=c.uid,
        contract_area_m2=820.0,
        name="东丘",
    ).plot
    two = add(
        a,
        box(x + 20, y, x + 40, y + 40),
        dkbm=code(a, 22),
        contract_uid=c.uid,
        contract_area_m2=790.5,
    ).plot
    return {"a": a, "contract": c, "one": one, "two": two, "x": x, "y": y}


def test_merge_makes_one_plot_with_a_new_code(pair):
    p = pair
    done = merge_plots(
        [p["one"].uid, p["two"].uid], source_document_id=doc(p["a"]), reason="互换后合并"
    )
    [change] = done.created
    merged = change.plot
    assert merged.dkbm == code(p["a"], 23)
    assert merged.measured_area_m2 == pytest.approx(1600.0)
    assert merged.contract_area_m2 == pytest.approx(1610.5)
    assert merged.name == "东丘" and merged.contract_uid == p["contract"].uid
    for old in (p["one"], p["two"]):
        assert history.current_of(Plot, old.uid) is None
        last = history.versions(Plot, old.uid)[-1]
        assert merged.dkbm in last.change_reason and "合并" in last.change_reason
    assert code(p["a"], 21) in merged.change_reason and code(p["a"], 22) in merged.change_reason
    assert [x.uid for x in land.contract_plots(p["contract"].uid)] == [merged.uid]
    assert history.current_of(LandContract, p["contract"].uid).contract_area_m2 == 1610.5


def test_merge_refuses_plots_that_do_not_adjoin(pair):
    p = pair
    x, y = p["x"], p["y"]
    far = add(
        p["a"],
        box(x + 60, y, x + 80, y + 40),
        contract_uid=p["contract"].uid,
        contract_area_m2=800.0,
    ).plot
    with refused(code="merge_not_adjacent"):
        merge_plots([p["one"].uid, far.uid], source_document_id=doc(p["a"]), reason="合并")
    assert history.current_of(Plot, p["one"].uid) is not None


def test_merge_refuses_plots_of_different_contracts_or_classes(pair):
    p = pair
    x, y = p["x"], p["y"]
    other = contract(p["a"])
    theirs = add(p["a"], box(x, y + 40, x + 20, y + 60), contract_uid=other.uid).plot
    with refused(rule="R01", code="merge_contract"):
        merge_plots([p["one"].uid, theirs.uid], source_document_id=doc(p["a"]), reason="合并")
    loose = add(p["a"], box(x + 20, y + 40, x + 40, y + 60)).plot
    with refused(code="merge_contract"):
        merge_plots([p["two"].uid, loose.uid], source_document_id=doc(p["a"]), reason="合并")
    reserve = add(p["a"], box(x - 20, y, x, y + 40), land_class="22").plot
    unassigned = add(p["a"], box(x - 40, y, x - 20, y + 40)).plot
    with refused(code="merge_class"):
        merge_plots([reserve.uid, unassigned.uid], source_document_id=doc(p["a"]), reason="合并")


def test_merge_needs_two_plots(pair):
    with refused(code="plots_count"):
        merge_plots([pair["one"].uid], source_document_id=doc(pair["a"]), reason="合并")
    with refused(code="plots_count"):
        merge_plots(
            [pair["one"].uid, pair["one"].uid], source_document_id=doc(pair["a"]), reason="合并"
        )
