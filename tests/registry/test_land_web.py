"""Contracted land over HTTP: the pages, the admin forms and the JSON API (same services)."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.registry import history, land
from app.registry.models import GeometryFinding, LandContract, Plot
from tests.conftest import token_for
from tests.factories import land as fx

pytestmark = pytest.mark.authz


def text(r) -> str:
    return r.get_data(as_text=True)


def bearer(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}"}


def bowtie_json(x: float, y: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 40, y + 40], [x + 40, y], [x, y + 40], [x, y]]],
    }


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor", "farmer_a"])
def test_contract_page_shows_code_plots_areas_and_map(world, client, auth, username):
    auth.login(username)
    r = client.get(f"/contracts/{world.contract}")
    assert r.status_code == 200
    page = text(r)
    assert world.cbhtbm in page and world.dkbm in page
    assert "1,500.00" in page and "2.25" in page  # contract area: m² and 亩 (1500 m² = 2.25 亩)
    assert "1,600.00" in page and "2.40" in page  # measured area kept apart: 1600 m² = 2.40 亩
    assert '<svg class="map"' in page
    assert f"/contracts/{world.contract}/history" in page


def test_contract_page_links_the_valid_certificate(world, client, auth, ctx):
    from app.registry import land
    from app.registry.certificates import issue_certificate

    # DOMAIN §6: the plot's open overlap is decided before the certificate
    land.decide_finding(world.finding, "accepted", "相邻地块共用田埂，经核实")
    cert = issue_certificate(
        "land_contract", world.contract, issued_on=date(2026, 3, 1), reason="首次登记发证"
    )
    cert_id, number = cert.id, cert.number
    db.session.commit()
    auth.login("admin_a")
    page = text(client.get(f"/contracts/{world.contract}"))
    assert f"/certificates/{cert_id}" in page and number in page


def test_new_contract_is_pending_until_its_public_notice(world, client, auth, ctx):
    c = fx.contract(world.a)
    assert c.status == "pending"
    uid = c.uid
    db.session.commit()
    auth.login("admin_a")
    page = text(client.get(f"/contracts/{uid}"))
    assert "badge warn" in page and f"/collectives/{world.a}/notices" in page


def test_plot_page_shows_boundaries_map_and_findings(world, client, auth):
    auth.login("admin_a")
    page = text(client.get(f"/plots/{world.plot}"))
    for boundary in ("路", "张四", "沟", "山"):
        assert boundary in page
    assert world.cbhtbm in page and '<svg class="map"' in page
    assert "400.00" in page  # the overlap found by the factory
    assert f"/plots/{world.plot}/history" in page


@pytest.mark.parametrize("username", ["admin_b", "farmer_b", "officer", "sysadmin"])
def test_land_pages_are_404_outside_reach(world, client, auth, username):
    auth.login(username)
    for url in (
        f"/contracts/{world.contract}",
        f"/contracts/{world.contract}/history",
        f"/plots/{world.plot}",
        f"/plots/{world.plot}/history",
        f"/collectives/{world.a}/findings",
    ):
        assert client.get(url).status_code == 404, url


def test_admin_b_gets_404_on_findings_of_a(world, client, auth, app):
    auth.login("admin_b")
    r = client.post(
        f"/findings/{world.finding}/decision", data={"state": "accepted", "reason": "x"}
    )
    assert r.status_code == 404
    assert client.get(f"/collectives/{world.b}/findings").status_code == 200
    headers = bearer(app, "admin_b")
    assert client.get(f"/api/v1/collectives/{world.a}/findings", headers=headers).status_code == 404
    r = client.post(
        f"/api/v1/findings/{world.finding}/decision",
        json={"state": "accepted", "reason": "x"},
        headers=headers,
    )
    assert r.status_code == 404
    assert db.session.get(GeometryFinding, world.finding).state == "open"


def test_finding_decided_through_the_form(world, client, auth):
    auth.login("admin_a")
    page = text(client.get(f"/collectives/{world.a}/findings?state=open"))
    assert world.dkbm in page and f'action="/findings/{world.finding}/decision"' in page
    r = client.post(f"/findings/{world.finding}/decision", data={"state": "accepted", "reason": ""})
    assert r.status_code == 422
    r = client.post(
        f"/findings/{world.finding}/decision",
        data={"state": "accepted", "reason": "田埂共用，双方确认"},
    )
    assert r.status_code == 302
    finding = db.session.get(GeometryFinding, world.finding)
    assert finding.state == "accepted" and finding.decided_by == "admin_a"
    page = text(client.get(f"/collectives/{world.a}/findings"))
    assert "田埂共用，双方确认" in page


def test_history_page_lists_versions_with_diff_and_as_of(world, client, auth, ctx):
    x, y = fx.origin(world.a)
    land.update_plot_geometry(
        world.plot,
        fx.geojson(fx.square(x, y, 50)),
        "EPSG:4547",
        source_document_id=world.doc_a,
        reason="复测更正",
    )
    db.session.commit()
    auth.login("admin_a")
    page = text(client.get(f"/plots/{world.plot}/history"))
    assert "复测更正" in page and "确权测绘" in page
    assert "1,600.00" in page and "2,500.00" in page  # measured area before → after
    assert "/documents/" in page  # the cited source document is linked
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    page = text(client.get(f"/plots/{world.plot}/history?as_of={today - timedelta(days=1)}"))
    assert (
        'id="as-of"' in page
        and "2,500.00" not in page.split('id="as-of"')[1].split("</section>")[0]
    )
    page = text(client.get(f"/plots/{world.plot}/history?as_of={today}"))
    as_of_card = page.split('id="as-of"')[1].split("</section>")[0]
    assert "2,500.00" in as_of_card
    assert client.get(f"/plots/{world.plot}/history?as_of=31-12-2020").status_code == 422


def test_contract_history_page(world, client, auth):
    auth.login("bureau")
    r = client.get(f"/contracts/{world.contract}/history")
    assert r.status_code == 200 and world.cbhtbm in text(r)


# --- admin forms ---------------------------------------------------------------------------------


def plot_form(world, geometry, **extra) -> dict:
    data = {
        "dkbm": extra.pop("dkbm", None) or fx.dkbm(world.a),
        "name": "新开田",
        "land_class": "10",
        "contract_area_m2": "1000",
        "geometry": json.dumps(geometry) if isinstance(geometry, dict) else geometry,
        "crs": "EPSG:4547",
        "source_document_id": str(world.doc_a),
        "reason": "补测登记",
        "contract_uid": "0",
    }
    data.update(extra)
    return data


def test_add_plot_form_shows_invalid_geometry_reason_location_and_repair(world, client, auth):
    auth.login("admin_a")
    assert client.get(f"/collectives/{world.a}/plots/new").status_code == 200
    x, y = fx.origin(world.a)
    code = fx.dkbm(world.a)
    r = client.post(
        f"/collectives/{world.a}/plots/new", data=plot_form(world, bowtie_json(x, y), dkbm=code)
    )
    assert r.status_code == 422
    page = text(r)
    assert "自相交" in page
    assert f"{x + 20:.0f}" in page and f"{y + 20:.0f}" in page  # where the problem is
    assert 'name="accept_repair"' in page
    assert db.session.scalar(select(Plot.uid).where(Plot.dkbm == code)) is None
    r = client.post(
        f"/collectives/{world.a}/plots/new",
        data=plot_form(world, bowtie_json(x, y), dkbm=code, accept_repair="y"),
    )
    assert r.status_code == 302
    plot = db.session.scalar(select(Plot).where(Plot.dkbm == code, Plot.end_lifespan.is_(None)))
    assert plot.measured_area_m2 == pytest.approx(800.0)
    assert "补测登记" in plot.change_reason and plot.change_reason != "补测登记"


def test_add_plot_form_without_crs_refused(world, client, auth):
    auth.login("admin_a")
    x, y = fx.origin(world.a)
    r = client.post(
        f"/collectives/{world.a}/plots/new",
        data=plot_form(world, fx.geojson(fx.square(x, y)), crs=""),
    )
    assert r.status_code == 422 and "坐标参考系" in text(r)


def test_add_plot_form_accepts_an_uploaded_geojson_in_lon_lat(world, client, auth):
    from pyproj import Transformer

    auth.login("admin_a")
    x, y = fx.origin(world.a)
    t = Transformer.from_crs("EPSG:4547", "EPSG:4490", always_xy=True)
    ring = [list(t.transform(cx, cy)) for cx, cy in fx.square(x, y, 30).exterior.coords]
    upload = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            ],
        }
    ).encode()
    data = plot_form(world, "", crs="EPSG:4490")
    data["geometry_file"] = (io.BytesIO(upload), "plot.geojson")
    r = client.post(
        f"/collectives/{world.a}/plots/new", data=data, content_type="multipart/form-data"
    )
    assert r.status_code == 302, text(r)
    plot = db.session.scalar(select(Plot).where(Plot.dkbm == data["dkbm"]))
    assert plot.measured_area_m2 == pytest.approx(900.0, rel=0.005)


def test_add_plot_form_reports_an_overlap_but_registers(world, client, auth):
    auth.login("admin_a")
    x, y = fx.origin(world.a)
    code = fx.dkbm(world.a)
    client.post(
        f"/collectives/{world.a}/plots/new", data=plot_form(world, fx.geojson(fx.square(x, y)))
    )
    r = client.post(
        f"/collectives/{world.a}/plots/new",
        data=plot_form(world, fx.geojson(fx.square(x + 35, y)), dkbm=code),
        follow_redirects=True,
    )
    assert r.status_code == 200 and code in text(r)
    assert "200.00" in text(r)  # the overlap is reported


def test_create_contract_form(world, client, auth, ctx):
    hh, _ = fx.make_household(world.a, "周小红")
    db.session.commit()
    auth.login("admin_a")
    assert client.get(f"/collectives/{world.a}/contracts/new?household_uid={hh}").status_code == 200
    form = {
        "household_uid": str(hh),
        "term_start": "2020-01-01",
        "term_end": "2055-01-01",
        "source_document_id": str(world.doc_a),
        "reason": "确权",
    }
    r = client.post(f"/collectives/{world.a}/contracts/new", data=form)
    assert r.status_code == 422 and "2050-01-01" in text(r)
    form["term_end"] = "2049-12-31"
    r = client.post(f"/collectives/{world.a}/contracts/new", data=form)
    assert r.status_code == 302
    assert land.contract_of_household(hh).term_end == date(2049, 12, 31)


def test_forms_are_404_for_other_collectives_admin(world, client, auth):
    auth.login("admin_b")
    assert client.get(f"/collectives/{world.a}/plots/new").status_code == 404
    assert client.get(f"/collectives/{world.a}/contracts/new").status_code == 404
    assert client.get(f"/plots/{world.plot}/geometry").status_code == 404
    auth.login("bureau")
    assert client.get(f"/collectives/{world.a}/plots/new").status_code == 404


def test_lists_of_contracts_and_plots(world, client, auth):
    auth.login("admin_a")
    assert world.cbhtbm in text(client.get(f"/collectives/{world.a}/contracts"))
    assert world.dkbm in text(client.get(f"/collectives/{world.a}/plots"))


# --- JSON API ------------------------------------------------------------------------------------


def test_api_invalid_geometry_is_422_with_reason_and_location(world, client, app):
    x, y = fx.origin(world.a)
    body = {
        "collective_id": world.a,
        "dkbm": fx.dkbm(world.a),
        "geometry": bowtie_json(x, y),
        "crs": "EPSG:4547",
        "source_document_id": world.doc_a,
        "reason": "补测",
    }
    r = client.post("/api/v1/plots", json=body, headers=bearer(app, "admin_a"))
    assert r.status_code == 422
    err = r.json["error"]
    assert err["code"] == "invalid_geometry" and err["field"] == "geometry"
    assert err["reason"] == "self_intersection"
    assert err["location"] == pytest.approx([x + 20, y + 20])
    assert err["repair_available"] is True and "自相交" in err["message"]
    r = client.post(
        "/api/v1/plots", json={**body, "accept_repair": True}, headers=bearer(app, "admin_a")
    )
    assert r.status_code == 201 and r.json["repaired"] is True


def test_api_invalid_new_boundary_says_why_and_where_and_changes_nothing(world, client, app):
    x, y = fx.origin(world.a)
    before = history.current_of(Plot, world.plot).version
    r = client.post(
        f"/api/v1/plots/{world.plot}/geometry",
        json={
            "geometry": bowtie_json(x, y),
            "crs": "EPSG:4547",
            "source_document_id": world.doc_a,
            "reason": "复测",
        },
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 422
    err = r.json["error"]
    assert err["reason"] == "self_intersection" and err["repair_available"] is True
    assert err["location"] == pytest.approx([x + 20, y + 20]) and "自相交" in err["message"]
    db.session.expire_all()
    assert history.current_of(Plot, world.plot).version == before


def test_api_rule_errors_carry_code_field_and_rule(world, client, app):
    hh = db.session.scalar(
        select(LandContract.household_uid).where(LandContract.uid == world.contract)
    )
    body = {
        "household_uid": hh,
        "term_start": "2020-01-01",
        "term_end": "2049-12-31",
        "source_document_id": world.doc_a,
        "reason": "again",
    }
    r = client.post("/api/v1/contracts", json=body, headers=bearer(app, "admin_a"))
    assert r.status_code == 422
    assert r.json["error"]["rule"] == "R01" and r.json["error"]["field"] == "household_uid"
    r = client.post(
        "/api/v1/plots",
        json={
            "collective_id": world.a,
            "dkbm": fx.dkbm(world.a),
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            "source_document_id": world.doc_a,
            "reason": "x",
        },
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "crs_missing"
    assert r.json["error"]["field"] == "crs"


def test_api_contract_and_plot_round_trip(world, client, app, ctx):
    hh, _ = fx.make_household(world.a, "吴一")
    db.session.commit()
    admin = bearer(app, "admin_a")
    r = client.post(
        "/api/v1/contracts",
        json={
            "household_uid": hh,
            "term_start": "2020-01-01",
            "term_end": "2049-12-31",
            "source_document_id": world.doc_a,
            "reason": "确权",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.json
    contract_uid = r.json["contract_uid"]
    assert r.json["cbhtbm"].endswith("J")
    x, y = fx.origin(world.a)
    r = client.post(
        "/api/v1/plots",
        json={
            "collective_id": world.a,
            "dkbm": fx.dkbm(world.a),
            "geometry": fx.geojson(fx.square(x, y, 20)),
            "crs": "EPSG:4547",
            "contract_uid": contract_uid,
            "contract_area_m2": 420.0,
            "source_document_id": world.doc_a,
            "reason": "确权测绘",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.json
    plot_uid = r.json["plot"]["plot_uid"]
    assert r.json["plot"]["measured_area"] == {"m2": 400.0, "mu": "0.60"}
    assert r.json["findings"] == []
    got = client.get(f"/api/v1/contracts/{contract_uid}", headers=admin).json
    assert [p["plot_uid"] for p in got["plots"]] == [plot_uid]
    assert got["contract_area"]["m2"] == 420.0
    plot = client.get(f"/api/v1/plots/{plot_uid}?crs=EPSG:4490", headers=admin).json
    assert plot["crs"] == "EPSG:4490" and 113 < plot["geometry"]["coordinates"][0][0][0][0] < 115
    listed = client.get(f"/api/v1/plots?contract_uid={contract_uid}", headers=admin).json
    assert [p["plot_uid"] for p in listed["items"]] == [plot_uid] and listed["next"] is None
    contracts = client.get(f"/api/v1/contracts?collective_id={world.a}&limit=1", headers=admin).json
    assert len(contracts["items"]) == 1 and contracts["next"] is not None
    history_json = client.get(f"/api/v1/contracts/{contract_uid}/history", headers=admin).json
    assert [v["version"] for v in history_json["versions"]] == [1, 2]  # the area was summed
    assert history_json["versions"][1]["changes"]["contract_area_m2"] == [0.0, 420.0]


def test_api_plot_history_as_of(world, client, app, ctx):
    x, y = fx.origin(world.a)
    v2 = land.update_plot_geometry(
        world.plot,
        fx.geojson(fx.square(x, y, 50)),
        "EPSG:4547",
        source_document_id=world.doc_a,
        reason="复测",
    ).plot
    db.session.commit()
    before = (v2.begin_lifespan - timedelta(microseconds=1)).isoformat() + "Z"
    r = client.get(
        f"/api/v1/plots/{world.plot}/history",
        query_string={"as_of": before, "time": "recorded"},  # the instant, as recorded
        headers=bearer(app, "bureau"),
    )
    assert r.status_code == 200
    assert [v["version"] for v in r.json["versions"]] == [1, 2]
    assert r.json["version_as_of"]["version"] == 1
    assert r.json["version_as_of"]["measured_area_m2"] == pytest.approx(1600.0)
    assert set(r.json["versions"][1]["changes"]) == {"geom", "measured_area_m2"}
    r = client.get(
        f"/api/v1/plots/{world.plot}/history?as_of=yesterday", headers=bearer(app, "bureau")
    )
    assert r.status_code == 422 and r.json["error"]["field"] == "as_of"


def test_api_findings_list_and_decision(world, client, app):
    admin = bearer(app, "admin_a")
    r = client.get(f"/api/v1/collectives/{world.a}/findings?state=open", headers=admin)
    assert [f["finding_id"] for f in r.json["items"]] == [world.finding]
    assert r.json["items"][0]["other_plot_dkbm"] == world.dkbm
    r = client.post(
        f"/api/v1/findings/{world.finding}/decision",
        json={"state": "resolved", "reason": "已重新测量"},
        headers=admin,
    )
    assert r.status_code == 200 and r.json["state"] == "resolved"
    r = client.post(
        f"/api/v1/findings/{world.finding}/decision",
        json={"state": "accepted", "reason": "again"},
        headers=admin,
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "finding_decided"
    r = client.get(f"/api/v1/collectives/{world.a}/findings?state=open", headers=admin)
    assert r.json["items"] == []


def test_api_farmer_reads_own_contract_only(world, client, app):
    farmer = bearer(app, "farmer_a")
    assert client.get(f"/api/v1/contracts/{world.contract}", headers=farmer).status_code == 200
    assert client.get(f"/api/v1/contracts/{world.contract_b}", headers=farmer).status_code == 404
    listed = client.get("/api/v1/contracts", headers=farmer).json
    assert [c["contract_uid"] for c in listed["items"]] == [world.contract]
    r = client.post("/api/v1/plots", json={"collective_id": world.a}, headers=farmer)
    assert r.status_code == 404
