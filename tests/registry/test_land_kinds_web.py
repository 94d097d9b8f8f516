"""Land types, contracting methods, reserve land, the area warning, and splitting and merging
plots over HTTP: the forms and the JSON API call the same services."""

from __future__ import annotations

import json

import pytest
from geoalchemy2.shape import to_shape
from shapely.geometry import box, mapping
from sqlalchemy import select

from app.extensions import db
from app.registry import history, land
from app.registry.models import LandContract, Plot
from tests.factories import land as fx
from tests.registry.test_land_web import bearer, plot_form, text

pytestmark = pytest.mark.authz


def contract_form(world, hh: int, **extra) -> dict:
    data = {
        "household_uid": str(hh),
        "land_type": "arable",
        "method": "household",
        "term_start": "2020-01-01",
        "term_end": "2049-12-31",
        "source_document_id": str(world.doc_a),
        "reason": "确权",
    }
    data.update(extra)
    return data


def test_r02_contract_form_caps_the_term_by_land_type(world, client, auth, ctx):
    hh, _ = fx.make_household(world.a, "林一")
    db.session.commit()
    auth.login("admin_a")
    page = text(client.get(f"/collectives/{world.a}/contracts/new"))
    assert "林地" in page and "草地" in page and "其他方式承包" in page
    r = client.post(
        f"/collectives/{world.a}/contracts/new",
        data=contract_form(world, hh, land_type="grassland", term_end="2070-01-02"),
    )
    assert r.status_code == 422 and "草地" in text(r) and "2070-01-01" in text(r)
    r = client.post(
        f"/collectives/{world.a}/contracts/new",
        data=contract_form(world, hh, land_type="forest", term_end="2089-12-31"),
    )
    assert r.status_code == 302
    c = land.contract_of_household(hh)
    assert c.land_type == "forest" and c.cbhtbm.endswith("J")
    page = text(client.get(f"/contracts/{c.uid}"))
    assert "林地" in page and "家庭承包" in page


def test_r01_contract_form_by_another_method_gets_a_q_code(world, client, auth, ctx):
    hh, _ = fx.make_household(world.a, "招标户")
    db.session.commit()
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{world.a}/contracts/new", data=contract_form(world, hh, method="other")
    )
    assert r.status_code == 302
    c = land.contract_of_household(hh)
    assert c.cbhtbm.endswith("Q") and c.method == "other"


def test_r02_api_contract_carries_land_type_and_method(world, client, app, ctx):
    hh, _ = fx.make_household(world.a, "草原户")
    db.session.commit()
    body = {
        "household_uid": hh,
        "term_start": "2020-01-01",
        "term_end": "2070-01-01",
        "land_type": "grassland",
        "method": "other",
        "source_document_id": world.doc_a,
        "reason": "确权",
    }
    admin = bearer(app, "admin_a")
    r = client.post("/api/v1/contracts", json={**body, "term_end": "2070-01-02"}, headers=admin)
    assert r.status_code == 422 and r.json["error"]["rule"] == "R02"
    r = client.post("/api/v1/contracts", json=body, headers=admin)
    assert r.status_code == 201, r.json
    assert r.json["land_type"] == "grassland" and r.json["method"] == "other"
    assert r.json["cbhtbm"].endswith("Q")


def test_r01_plot_form_refuses_reserve_land_in_a_contract(world, client, auth):
    auth.login("admin_a")
    x, y = fx.origin(world.a)
    r = client.post(
        f"/collectives/{world.a}/plots/new",
        data=plot_form(
            world, fx.geojson(fx.square(x, y)), land_class="22", contract_uid=str(world.contract)
        ),
    )
    assert r.status_code == 422 and "机动地属于集体" in text(r)


def test_plot_form_warns_when_the_contract_area_is_far_from_the_drawn_one(world, client, auth):
    auth.login("admin_a")
    x, y = fx.origin(world.a)
    code = fx.dkbm(world.a)
    r = client.post(
        f"/collectives/{world.a}/plots/new",
        data=plot_form(world, fx.geojson(fx.square(x, y, 50)), dkbm=code, contract_area_m2="3000"),
        follow_redirects=True,
    )
    assert r.status_code == 200
    page = text(r)
    assert "3000.00" in page and "2500.00" in page and "相差 20.0%" in page  # the warning
    plot = db.session.scalar(select(Plot).where(Plot.dkbm == code, Plot.end_lifespan.is_(None)))
    assert plot.contract_area_m2 == 3000.0  # saved, not refused


def _bounds(plot_uid: int) -> tuple[float, float, float, float]:
    return to_shape(history.current_of(Plot, plot_uid).geom).bounds


def test_split_through_the_form(world, client, auth):
    x0, y0, x1, y1 = _bounds(world.plot)
    auth.login("admin_a")
    page = text(client.get(f"/plots/{world.plot}"))
    assert f"/plots/{world.plot}/split" in page and f"/plots/{world.plot}/merge" in page
    assert client.get(f"/plots/{world.plot}/split").status_code == 200
    parts = {
        "type": "MultiPolygon",
        "coordinates": [
            mapping(box(x0, y0, x0 + 10, y1))["coordinates"],
            mapping(box(x0 + 10, y0, x1, y1))["coordinates"],
        ],
    }
    form = {
        "parts": json.dumps(parts),
        "crs": "EPSG:4547",
        "source_document_id": str(world.doc_a),
        "reason": "分地",
    }
    r = client.post(f"/plots/{world.plot}/split", data={**form, "contract_areas": "1,2,3"})
    assert r.status_code == 422 and "每个新地块" in text(r)
    r = client.post(f"/plots/{world.plot}/split", data=form, follow_redirects=True)
    assert r.status_code == 200
    assert f"地块 {world.dkbm} 已分割为" in text(r)
    assert client.get(f"/plots/{world.plot}").status_code == 404  # no longer current
    assert "分割为" in text(client.get(f"/plots/{world.plot}/history"))
    plots = land.contract_plots(world.contract)
    assert len(plots) == 2 and sum(p.contract_area_m2 for p in plots) == pytest.approx(1500.0)


def test_split_and_merge_pages_are_404_outside_reach(world, client, auth):
    auth.login("admin_b")
    assert client.get(f"/plots/{world.plot}/split").status_code == 404
    assert client.get(f"/plots/{world.plot}/merge").status_code == 404
    auth.login("bureau")
    assert client.get(f"/plots/{world.plot}/split").status_code == 404


def test_merge_through_the_form(world, client, auth, ctx):
    x0, y0, x1, y1 = _bounds(world.plot)
    doc = fx.make_document(world.a)
    neighbour = fx.add(
        world.a,
        box(x0 - 30, y0, x0, y1),
        contract_uid=world.contract,
        contract_area_m2=1250.0,
        source_document_id=doc,
    ).plot.uid
    db.session.commit()
    auth.login("admin_a")
    page = text(client.get(f"/plots/{world.plot}/merge"))
    assert history.current_of(Plot, neighbour).dkbm in page
    r = client.post(
        f"/plots/{world.plot}/merge",
        data={"others": [str(neighbour)], "source_document_id": str(world.doc_a), "reason": "并地"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "已合并为" in text(r)
    [merged] = land.contract_plots(world.contract)
    assert merged.measured_area_m2 == pytest.approx(2800.0)
    assert history.current_of(LandContract, world.contract).contract_area_m2 == 2750.0


def test_api_split_and_merge(world, client, app, ctx):
    x0, y0, x1, y1 = _bounds(world.plot)
    admin = bearer(app, "admin_a")
    parts = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": mapping(box(x0, y0, x1, y0 + 25))},
            {"type": "Feature", "properties": {}, "geometry": mapping(box(x0, y0 + 25, x1, y1))},
        ],
    }
    r = client.post(
        f"/api/v1/plots/{world.plot}/split",
        json={
            "parts": parts,
            "crs": "EPSG:4547",
            "source_document_id": world.doc_a,
            "reason": "分地",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.json
    assert [p["plot_uid"] for p in r.json["ended"]] == [world.plot]
    new = [c["plot"]["plot_uid"] for c in r.json["created"]]
    assert [c["plot"]["contract_area"]["m2"] for c in r.json["created"]] == [937.5, 562.5]
    r = client.post(
        "/api/v1/plots/merge",
        json={
            "plot_uids": [new[0], world.plot_b],
            "source_document_id": world.doc_a,
            "reason": "并地",
        },
        headers=admin,
    )
    assert r.status_code == 404  # another collective's plot does not exist for this admin
    r = client.post(
        "/api/v1/plots/merge",
        json={"plot_uids": new, "source_document_id": world.doc_a, "reason": "并地"},
        headers=admin,
    )
    assert r.status_code == 201, r.json
    [created] = r.json["created"]
    assert created["plot"]["measured_area"]["m2"] == pytest.approx(1600.0)
    assert created["plot"]["contract_area"]["m2"] == 1500.0
    r = client.post(
        f"/api/v1/plots/{world.plot_b}/split",
        json={
            "parts": parts,
            "crs": "EPSG:4547",
            "source_document_id": world.doc_a,
            "reason": "分地",
        },
        headers=admin,
    )
    assert r.status_code == 404
