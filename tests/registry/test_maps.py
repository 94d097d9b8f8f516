"""Maps: the features of a bounding box (page route and API), their scope, cap and CRS; the pages
that draw the live map over the server-drawn SVG; the vendored libraries; the CSP and tiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Transformer

from app.core.maps import content_security_policy, tile_source
from app.registry.homesteads import grant_homestead
from tests.conftest import token_for
from tests.factories import homesteads as hfx
from tests.factories import land as fx

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
PAGE_URL = "/map/features"
API_URL = "/api/v1/map/features"
# Both collectives' strips of test land (tests/factories/land.py), with room to spare.
COUNTY_BOX = "500000,2700000,520000,2900000"


def _api(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}"}


def _ids(answer) -> set[str]:
    assert answer.status_code == 200, answer.get_json()
    return {f["id"] for f in answer.get_json()["features"]}


@pytest.fixture
def homestead(world) -> int:
    """A homestead with an outline beside farmer_a's plot, in collective A."""
    plot = fx.origin(world.a)
    outline = fx.square(plot[0], plot[1], side=8.0)
    from app.registry import history
    from app.registry.models import Plot

    household_uid = history.current_of(Plot, world.plot).household_uid
    h = grant_homestead(
        household_uid,
        hfx.unit_number(world.a),
        "plain",
        None,
        approval_number="始兴宅批〔2020〕009号",
        approved_on=fx.TODAY,
        geometry=fx.geojson(outline),
        crs=fx.CRS,
        source_document_id=world.doc_a,
        reason="测试",
    )
    return h.uid


@pytest.mark.authz
def test_map_features_another_collectives_plots_never_appear(client, auth, world):
    auth.login("admin_a")
    mine = _ids(client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}))
    assert f"plot.{world.plot}" in mine
    assert f"plot.{world.plot_b}" not in mine
    answer = client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}).get_json()
    assert {f["properties"]["collective_id"] for f in answer["features"]} == {world.a}
    auth.logout()
    auth.login("admin_b")
    theirs = _ids(client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}))
    assert f"plot.{world.plot_b}" in theirs and f"plot.{world.plot}" not in theirs
    auth.logout()
    auth.login("bureau")  # county-wide reader
    both = _ids(client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}))
    assert {f"plot.{world.plot}", f"plot.{world.plot_b}"} <= both


@pytest.mark.authz
def test_map_features_farmer_sees_only_their_household(client, auth, world, homestead):
    auth.login("farmer_a")
    seen = _ids(client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}))
    # their plot and homestead; not the collective's unassigned plot, nothing of collective B
    assert seen == {f"plot.{world.plot}", f"homestead.{homestead}"}


@pytest.mark.authz
def test_map_features_api_same_scope_and_documented(app, client, world):
    answer = client.get(API_URL, query_string={"bbox": COUNTY_BOX}, headers=_api(app, "admin_b"))
    ids = _ids(answer)  # the contract client checks the answer against the OpenAPI document
    assert f"plot.{world.plot_b}" in ids and f"plot.{world.plot}" not in ids
    assert "href" not in answer.get_json()["features"][0]["properties"]
    # roles without registry reading get nothing, and no cookie session opens the API
    assert client.get(API_URL, query_string={"bbox": COUNTY_BOX}).status_code == 401
    denied = client.get(API_URL, query_string={"bbox": COUNTY_BOX}, headers=_api(app, "officer"))
    assert denied.status_code in (403, 404)


def test_map_features_links_and_kinds(client, auth, world, homestead):
    auth.login("admin_a")
    answer = client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}).get_json()
    by_id = {f["id"]: f["properties"] for f in answer["features"]}
    assert by_id[f"plot.{world.plot}"]["href"] == f"/plots/{world.plot}"
    assert by_id[f"homestead.{homestead}"]["href"] == f"/homesteads/{homestead}"
    assert by_id[f"plot.{world.plot}"]["code"] == world.dkbm
    only_plots = _ids(client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX, "kinds": "plot"}))
    assert f"homestead.{homestead}" not in only_plots and f"plot.{world.plot}" in only_plots


def test_map_features_answer_in_the_maps_crs(client, auth, world):
    auth.login("admin_a")
    default = client.get(PAGE_URL, query_string={"bbox": COUNTY_BOX}).get_json()
    assert default["crs"]["properties"]["name"] == "EPSG:4547"
    x, y = default["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 500_000 < x < 520_000 and 2_700_000 < y < 2_900_000  # metres, easting first

    to_lonlat = Transformer.from_crs(4547, 4490, always_xy=True)
    west, south, east, north = to_lonlat.transform_bounds(500000, 2700000, 520000, 2900000)
    lonlat = client.get(
        PAGE_URL, query_string={"bbox": f"{west},{south},{east},{north}", "crs": "EPSG:4490"}
    ).get_json()
    assert lonlat["crs"]["properties"]["name"] == "EPSG:4490"
    assert {f["id"] for f in lonlat["features"]} == {f["id"] for f in default["features"]}
    lon, lat = lonlat["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 113.9 < lon < 114.3 and 24.3 < lat < 26.3  # Shixing, longitude first
    expected = to_lonlat.transform(x, y)
    assert (lon, lat) == pytest.approx(expected, abs=1e-6)

    to_mercator = Transformer.from_crs(4547, 3857, always_xy=True)
    box = ",".join(str(v) for v in to_mercator.transform_bounds(500000, 2700000, 520000, 2900000))
    mercator = client.get(PAGE_URL, query_string={"bbox": box, "crs": "3857"}).get_json()
    assert mercator["crs"]["properties"]["name"] == "EPSG:3857"
    mx, _my = mercator["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 12_600_000 < mx < 12_800_000


@pytest.mark.hostile
def test_map_features_refuses_more_than_the_cap(app, client, auth, world, monkeypatch):
    monkeypatch.setitem(app.config, "MAP_MAX_FEATURES", 1)
    auth.login("bureau")
    answer = client.get(PAGE_URL, query_string={"bbox": "-1e9,-1e9,1e9,1e9"})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "bbox_too_many" and "放大" in error["message"]
    api = client.get(API_URL, query_string={"bbox": COUNTY_BOX}, headers=_api(app, "bureau"))
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "bbox_too_many"


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "bbox_invalid"),
        ({"bbox": ""}, "bbox_invalid"),
        ({"bbox": "1,2,3"}, "bbox_invalid"),
        ({"bbox": "1,2,3,4,5"}, "bbox_invalid"),
        ({"bbox": "a,b,c,d"}, "bbox_invalid"),
        ({"bbox": "nan,0,1,1"}, "bbox_invalid"),
        ({"bbox": "0,0,inf,1"}, "bbox_invalid"),
        ({"bbox": "5,0,1,1"}, "bbox_invalid"),  # west beyond east
        ({"bbox": "0,0,1e400,1"}, "bbox_invalid"),
        ({"bbox": "0," * 150 + "1"}, "bbox_invalid"),
        ({"bbox": COUNTY_BOX, "crs": "EPSG:9999"}, "crs_unsupported"),
        ({"bbox": COUNTY_BOX, "crs": "EPSG:3857x"}, "crs_unsupported"),
        ({"bbox": COUNTY_BOX, "crs": "+proj=longlat"}, "crs_unsupported"),
        ({"bbox": COUNTY_BOX, "crs": "9" * 40}, "crs_unsupported"),
        ({"bbox": "-1e300,-1e300,1e300,1e300", "crs": "EPSG:4490"}, "bbox_outside"),
    ],
)
def test_map_features_bad_input_is_a_clear_message(app, client, auth, world, query, code):
    auth.login("admin_a")
    page = client.get(PAGE_URL, query_string=query)
    assert page.status_code == 422, page.data
    error = page.get_json()["error"]
    assert error["code"] == code
    assert error["message"] and not any(c.isascii() and c.isalpha() for c in error["message"])
    api = client.get(API_URL, query_string=query, headers=_api(app, "admin_a"))
    assert api.status_code == 422 and api.get_json()["error"]["message"]


def test_pages_carry_the_map(client, auth, world, homestead):
    auth.login("admin_a")
    from app.registry import history
    from app.registry.models import Plot

    household_uid = history.current_of(Plot, world.plot).household_uid
    pages = {
        f"/plots/{world.plot}": f'data-selected="plot.{world.plot}"',
        f"/homesteads/{homestead}": f'data-selected="homestead.{homestead}"',
        f"/households/{household_uid}": f'data-household="{household_uid}"',
        f"/collectives/{world.a}": f'data-collective="{world.a}"',
    }
    for url, marker in pages.items():
        html = client.get(url).get_data(as_text=True)
        assert marker in html, url
        assert "/static/vendor/ol/ol.js" in html and "/static/vendor/proj4/proj4.js" in html
        assert "/static/js/map.js" in html and "/static/vendor/ol/ol.css" in html
        assert 'data-registry-crs="EPSG:4547"' in html and "+proj=tmerc" in html
        assert 'data-features="/map/features"' in html and 'data-tiles=""' in html
        assert "<svg" in html  # the server-drawn map stays for readers without JavaScript
        assert html.count("/static/vendor/ol/ol.js") == 1
    auth.logout()
    auth.login("farmer_a")
    mine = client.get("/my").get_data(as_text=True)
    assert f'data-household="{household_uid}"' in mine


def test_vendored_libraries_with_their_licences(client, auth, world):
    for lib in ("ol", "proj4"):
        licence = STATIC / "vendor" / lib / "LICENSE.md"
        assert licence.is_file() and "Copyright" in licence.read_text()
    notes = (STATIC / "vendor" / "README.md").read_text()
    assert "10.11.0" in notes and "2.22.0" in notes
    auth.login("admin_a")
    for path in ("vendor/ol/ol.js", "vendor/proj4/proj4.js", "js/map.js", "vendor/ol/ol.css"):
        assert client.get(f"/static/{path}").status_code == 200, path


def test_tiles_only_when_configured(app, client, auth, world, monkeypatch):
    default = content_security_policy({})
    assert "img-src 'self' data:;" in default and "connect-src 'self';" in default
    tianditu = {
        "MAP_TILE_URL": "https://t{0-7}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&TILEMATRIX={z}"
        "&TILEROW={y}&TILECOL={x}&tk={key}",
        "MAP_TILE_KEY": "abc123",
    }
    csp = content_security_policy(tianditu)
    assert "img-src 'self' data: https://*.tianditu.gov.cn;" in csp
    assert "connect-src 'self' https://*.tianditu.gov.cn;" in csp
    assert "script-src 'self';" in csp
    assert tile_source(tianditu).url.endswith("tk=abc123")
    assert tile_source({"MAP_TILE_URL": "/tiles/{z}/{x}/{y}.png"}).origin is None
    for bad in (
        "https://tiles.example/{z}/{x}.png",
        "ftp://x/{z}/{x}/{y}",
        "https://a.{s}.b/{z}/{x}/{y}",
    ):
        with pytest.raises(RuntimeError, match="MAP_TILE_URL"):
            tile_source({"MAP_TILE_URL": bad})
    assert client.get("/login").headers["Content-Security-Policy"] == default

    monkeypatch.setitem(app.config, "MAP_TILE_URL", tianditu["MAP_TILE_URL"])
    monkeypatch.setitem(app.config, "MAP_TILE_KEY", "abc123")
    auth.login("admin_a")
    html = client.get(f"/plots/{world.plot}").get_data(as_text=True)
    assert 'data-tiles="https://t{0-7}.tianditu.gov.cn/vec_w/wmts?' in html
    assert "tk=abc123" in html


def test_plot_forms_offer_the_outline_editor(client, auth, world):
    auth.login("admin_a")
    revise = client.get(f"/plots/{world.plot}/geometry").get_data(as_text=True)
    assert 'data-edit="geometry"' in revise and 'data-edit-crs="crs"' in revise
    assert 'data-outline="{&#34;type&#34;:&#34;MultiPolygon&#34;' in revise
    assert f'data-selected="plot.{world.plot}"' in revise
    new = client.get(f"/collectives/{world.a}/plots/new").get_data(as_text=True)
    assert 'data-edit="geometry"' in new and 'data-outline=""' in new
    # what the editor writes (GeoJSON in the registry CRS) goes through the same revision
    x, y = fx.origin(world.a)
    drawn = fx.geojson(fx.square(x, y, side=30.0))
    done = client.post(
        f"/plots/{world.plot}/geometry",
        data={
            "geometry": json.dumps(drawn),
            "crs": "EPSG:4547",
            "source_document_id": world.doc_a,
            "reason": "在地图上重画",
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)[-800:]
    # …and the same checks: a self-crossing outline is refused, nothing written
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 30, y + 30], [x + 30, y], [x, y + 30], [x, y]]],
    }
    refused = client.post(
        f"/plots/{world.plot}/geometry",
        data={
            "geometry": json.dumps(bowtie),
            "crs": "EPSG:4547",
            "source_document_id": world.doc_a,
            "reason": "在地图上重画",
        },
    )
    assert refused.status_code == 422
