"""Homesteads over HTTP: pages per role, the grant and disposal forms, and the JSON API."""

from __future__ import annotations

from datetime import date

import pytest
from shapely.geometry import Polygon, mapping
from sqlalchemy import func, select

from app.extensions import db
from app.registry.homesteads import grant_homestead
from app.registry.models import Homestead
from tests.conftest import token_for
from tests.factories import homesteads as b
from tests.factories import people as fx

pytestmark = pytest.mark.authz

# 11 m x 10 m = 110 m², the area the world's homestead declares (R07: they must agree).
OUTLINE = Polygon([(386000, 2765000), (386011, 2765000), (386011, 2765010), (386000, 2765010)])


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    a, bb = baseline.collective_a, baseline.collective_b
    head, hh = fx.household(a, "李大山")
    fx.link_farmer("farmer_a", head.uid)
    doc = b.document(a)
    unit = b.unit_number(a, parcel=4242)
    h = grant_homestead(
        hh.uid,
        unit,
        "hill",
        110.0,
        approval_number="始兴宅批〔2021〕7号",
        approved_on=date(2021, 4, 2),
        floor_area_m2=180.5,
        geometry=mapping(OUTLINE),
        crs="EPSG:4547",
        source_document_id=doc,
        reason="新批宅基地",
    )
    _head_b, hh_b = fx.household(bb, "王瑶")
    free = b.household(a, name="赵家")
    return W(
        a=a,
        hh=hh.uid,
        homestead=h.uid,
        unit=unit,
        doc=doc,
        hh_b=hh_b.uid,
        free=free,
        doc_b=b.document(bb),
        unit_b=b.unit_number(bb),
    )


def text(r) -> str:
    return r.get_data(as_text=True)


def api(client, app, username):
    token = token_for(app, username)
    return {"Authorization": f"Bearer {token}"}


def homestead_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Homestead))


# --- pages


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor", "farmer_a"])
def test_homestead_page_renders_for_each_reader(world, client, auth, username):
    auth.login(username)
    r = client.get(f"/homesteads/{world.homestead}")
    assert r.status_code == 200, username
    page = text(r)
    assert world.unit in page
    assert "始兴宅批〔2021〕7号" in page and "2021-04-02" in page
    assert "110.00" in page and "0.17" in page  # 110 m² = 0.17 亩
    assert "180.50" in page
    assert "120" in page  # the cap for hills
    assert '<svg class="map"' in page and "<path" in page
    assert f"/homesteads/{world.homestead}/history" in page
    r = client.get(f"/homesteads/{world.homestead}/history")
    assert r.status_code == 200 and "新批宅基地" in text(r)  # the generic history page
    if username == "admin_a":
        assert f"/homesteads/{world.homestead}/dispose" in page
    else:
        assert "/dispose" not in page


@pytest.mark.parametrize("username", ["officer", "sysadmin", "admin_b", "farmer_b"])
def test_homestead_page_is_404_outside_reach(world, client, auth, username):
    auth.login(username)
    assert client.get(f"/homesteads/{world.homestead}").status_code == 404
    assert client.get(f"/homesteads/{world.homestead}/history").status_code == 404


def test_collective_homestead_list(world, client, auth):
    auth.login("admin_a")
    r = client.get(f"/collectives/{world.a}/homesteads")
    assert r.status_code == 200 and world.unit in text(r)
    auth.logout()
    auth.login("admin_b")
    assert client.get(f"/collectives/{world.a}/homesteads").status_code == 404


# --- forms


def grant_form(world, **over):
    data = {
        "unit_number": b.unit_number(world.a),
        "terrain": "plain",
        "area_m2": "80",
        "floor_area_m2": "",
        "approval_number": "始兴宅批〔2025〕3号",
        "approved_on": "2025-02-01",
        "geometry": "",
        "crs": "",
        "source_document_id": str(world.doc),
        "reason": "新批",
    }
    data.update(over)
    return data


def test_grant_form_registers_a_homestead(world, client, auth):
    auth.login("admin_a")
    r = client.get(f"/households/{world.free}/homestead/new")
    assert r.status_code == 200
    assert "80" in text(r) and "150" in text(r)  # the caps are shown
    data = grant_form(world)
    r = client.post(f"/households/{world.free}/homestead/new", data=data)
    assert r.status_code == 302, text(r)
    r = client.get(r.headers["Location"])
    assert data["unit_number"] in text(r)


def test_grant_form_over_cap_shows_the_reason_and_saves_nothing(world, client, auth):
    auth.login("admin_a")
    before = homestead_count()
    r = client.post(
        f"/households/{world.free}/homestead/new", data=grant_form(world, area_m2="80.5")
    )
    assert r.status_code == 422
    assert "80" in text(r)
    assert homestead_count() == before


def test_grant_form_second_homestead_refused(world, client, auth):
    auth.login("admin_a")
    r = client.get(f"/households/{world.hh}/homestead/new")
    assert r.status_code == 200  # the page says why it is not eligible
    r = client.post(f"/households/{world.hh}/homestead/new", data=grant_form(world))
    assert r.status_code == 422


@pytest.mark.parametrize("username", ["bureau", "auditor", "farmer_a", "admin_b"])
def test_grant_form_is_404_for_non_editors(world, client, auth, username):
    auth.login(username)
    assert client.get(f"/households/{world.free}/homestead/new").status_code == 404
    assert (
        client.post(f"/households/{world.free}/homestead/new", data=grant_form(world)).status_code
        == 404
    )


def test_dispose_form_ends_the_homestead_and_page_keeps_history(world, client, auth):
    auth.login("admin_a")
    r = client.post(
        f"/homesteads/{world.homestead}/dispose",
        data={
            "disposal": "sold",
            "basis": "correction",
            "source_document_id": str(world.doc),
            "reason": "卖给本村",
        },
    )
    assert r.status_code == 302
    page = text(client.get(f"/homesteads/{world.homestead}"))
    assert "/dispose" not in page
    assert world.unit in page  # listed among the household's disposals, barring (R08)
    history_page = text(client.get(f"/homesteads/{world.homestead}/history"))
    assert "卖给本村" in history_page and "新批宅基地" in history_page
    # R08: now a new homestead for the same household is refused
    r = client.post(f"/households/{world.hh}/homestead/new", data=grant_form(world))
    assert r.status_code == 422
    assert client.get(f"/homesteads/{world.homestead}/dispose").status_code == 404


# --- JSON API


def test_api_grant_get_dispose(world, client, app):
    headers = api(client, app, "admin_a")
    body = {
        "household_uid": world.free,
        "unit_number": b.unit_number(world.a),
        "terrain": "mountain",
        "area_m2": 150,
        "approval_number": "宅批-API-1",
        "approved_on": "2024-08-08",
        "source_document_id": world.doc,
        "reason": "API 新批",
    }
    r = client.post("/api/v1/homesteads", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["area_m2"] == 150 and made["terrain_cap_m2"] == 150 and made["is_current"]
    uid = made["homestead_uid"]
    r = client.get(f"/api/v1/homesteads/{uid}", headers=headers)
    assert r.status_code == 200 and r.get_json()["unit_number"] == body["unit_number"]
    r = client.post(
        f"/api/v1/homesteads/{uid}/disposal",
        json={"disposal": "returned", "reason": "交回", "source_document_id": world.doc},
        headers=headers,
    )
    assert r.status_code == 200
    ended = r.get_json()
    assert ended["disposal"] == "returned" and not ended["is_current"]
    r = client.get(f"/api/v1/households/{world.free}/homestead-eligibility", headers=headers)
    assert r.get_json()["eligible"] is True  # returned: R08 does not bar


def test_api_over_cap_is_422_with_rule(world, client, app):
    headers = api(client, app, "admin_a")
    body = {
        "household_uid": world.free,
        "unit_number": b.unit_number(world.a),
        "terrain": "plain",
        "area_m2": 80.01,
        "approval_number": "宅批",
        "approved_on": "2024-08-08",
        "source_document_id": world.doc,
        "reason": "x",
    }
    r = client.post("/api/v1/homesteads", json=body, headers=headers)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["rule"] == "R07" and err["field"] == "area_m2"


@pytest.mark.parametrize(
    "over",
    [
        {"household_uid": "x"},
        {"area_m2": "eighty"},
        {"approved_on": "yesterday"},
        {"approved_on": 20240101},
        {"geometry": [1, 2]},
        {"geometry": "POLYGON((0 0, 1 1"},
        {"geometry": {"type": "Polygon", "coordinates": "junk"}, "crs": "EPSG:4547"},
        {"crs": {"a": 1}},
        {"crs": "EPSG:999999", "geometry": mapping(OUTLINE)},
        {"unit_number": 12},
        {"terrain": None},
        {"source_document_id": "1"},
        {"reason": ["x"]},
    ],
)
def test_api_bad_input_is_422_never_500(world, client, app, over):
    headers = api(client, app, "admin_a")
    body = {
        "household_uid": world.free,
        "unit_number": b.unit_number(world.a),
        "terrain": "plain",
        "area_m2": 70,
        "approval_number": "宅批",
        "approved_on": "2024-08-08",
        "source_document_id": world.doc,
        "reason": "x",
    }
    body.update(over)
    r = client.post("/api/v1/homesteads", json=body, headers=headers)
    assert r.status_code == 422, r.get_json()
    assert "error" in r.get_json()


def test_api_list_is_scoped(world, client, app):
    r = client.get("/api/v1/homesteads", headers=api(client, app, "admin_a"))
    assert world.homestead in [i["homestead_uid"] for i in r.get_json()["items"]]
    r = client.get("/api/v1/homesteads", headers=api(client, app, "admin_b"))
    assert world.homestead not in [i["homestead_uid"] for i in r.get_json()["items"]]
    r = client.get("/api/v1/homesteads", headers=api(client, app, "farmer_a"))
    assert [i["homestead_uid"] for i in r.get_json()["items"]] == [world.homestead]
    r = client.get(
        f"/api/v1/homesteads?collective_id={world.a}&limit=1", headers=api(client, app, "bureau")
    )
    assert len(r.get_json()["items"]) == 1
    assert (
        client.get("/api/v1/homesteads?limit=x", headers=api(client, app, "bureau")).status_code
        == 422
    )


def test_api_paging_follows_the_cursor(world, client, app, ctx):
    for _ in range(2):
        grant_homestead(
            b.household(world.a),
            b.unit_number(world.a),
            "plain",
            60.0,
            approval_number="宅批",
            approved_on=date(2020, 1, 1),
            source_document_id=world.doc,
            reason="x",
        )
    headers = api(client, app, "admin_a")
    seen, cursor = [], None
    while True:
        url = f"/api/v1/homesteads?collective_id={world.a}&limit=2"
        r = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        body = r.get_json()
        seen += [i["homestead_uid"] for i in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


def test_api_eligibility_by_role(world, client, app):
    r = client.get(
        f"/api/v1/households/{world.hh}/homestead-eligibility", headers=api(client, app, "farmer_a")
    )
    body = r.get_json()
    assert r.status_code == 200 and body["eligible"] is False and body["reason"]
    r = client.get(
        f"/api/v1/households/{world.hh}/homestead-eligibility", headers=api(client, app, "officer")
    )
    assert r.status_code == 404
    r = client.get(
        f"/api/v1/households/{world.free}/homestead-eligibility?on=2025-01-01",
        headers=api(client, app, "bureau"),
    )
    assert r.get_json() == {
        "household_uid": world.free,
        "checked_on": "2025-01-01",
        "eligible": True,
        "reason": None,
        "rule": "R09",
    }


def test_api_other_collective_household_is_404(world, client, app):
    headers = api(client, app, "admin_a")
    body = {
        "household_uid": world.hh_b,
        "unit_number": world.unit_b,
        "terrain": "plain",
        "area_m2": 70,
        "approval_number": "宅批",
        "approved_on": "2024-08-08",
        "source_document_id": world.doc_b,
        "reason": "x",
    }
    assert client.post("/api/v1/homesteads", json=body, headers=headers).status_code == 404
    assert (
        client.get(
            f"/api/v1/homesteads/{world.homestead}", headers=api(client, app, "admin_b")
        ).status_code
        == 404
    )


@pytest.mark.hostile
def test_ids_beyond_32_bits_are_404_or_422_never_500(world, client, app, auth):
    huge = 2**31
    auth.login("admin_a")
    for url in (
        f"/homesteads/{huge}",
        f"/homesteads/{huge}/dispose",
        f"/households/{huge}/homestead/new",
        f"/collectives/{huge}/homesteads",
    ):
        assert client.get(url).status_code == 404, url
    headers = api(client, app, "admin_a")
    for url in (
        f"/api/v1/homesteads/{huge}",
        f"/api/v1/households/{huge}/homestead-eligibility",
    ):
        assert client.get(url, headers=headers).status_code == 404, url
    for query in (f"cursor={huge}", f"collective_id={huge}", f"household_uid={10**30}"):
        r = client.get(f"/api/v1/homesteads?{query}", headers=headers)
        assert r.status_code == 422, query
    body = {"household_uid": huge, "unit_number": world.unit, "terrain": "plain", "area_m2": 1}
    assert client.post("/api/v1/homesteads", json=body, headers=headers).status_code == 422
    body = {"disposal": "sold", "reason": "x", "source_document_id": huge}
    r = client.post(f"/api/v1/homesteads/{world.homestead}/disposal", json=body, headers=headers)
    assert r.status_code == 422


# --- existing homesteads (存量), R07 on the measured area, R08 bars, R09 on grants (issue 10)


def existing_form(world, **over):
    data = {
        "unit_number": b.unit_number(world.a),
        "acquired_by": "inheritance",
        "heir_id_number": "",
        "terrain": "plain",
        "area_m2": "126.5",
        "floor_area_m2": "",
        "approval_number": "",
        "approved_on": "",
        "geometry": "",
        "crs": "",
        "remark": "原权利人已故",
        "source_document_id": str(world.doc),
        "reason": "继承取得，存量登记",
    }
    data.update(over)
    return data


def test_r08_household_page_offers_grant_and_existing_registration(world, client, auth):
    auth.login("admin_a")
    page = text(client.get(f"/households/{world.free}"))
    assert f"/households/{world.free}/homestead/new" in page
    assert f"/households/{world.free}/homestead/existing" in page
    page = text(client.get(f"/households/{world.hh}"))  # holds one: no new grant offered
    assert f"/households/{world.hh}/homestead/new" not in page
    assert f"/households/{world.hh}/homestead/existing" in page
    auth.logout()
    auth.login("bureau")
    page = text(client.get(f"/households/{world.free}"))
    assert "/homestead/new" not in page and "/homestead/existing" not in page


def test_r08_inherited_second_homestead_form_registers_and_notes(world, client, auth):
    auth.login("admin_a")
    r = client.get(f"/households/{world.hh}/homestead/existing")
    assert r.status_code == 200 and "登记存量宅基地" in text(r)
    data = existing_form(world)
    r = client.post(f"/households/{world.hh}/homestead/existing", data=data)
    assert r.status_code == 302, text(r)
    page = text(client.get(r.headers["Location"]))
    assert data["unit_number"] in page
    assert "附记" in page and "第二处宅基地" in page and "超出 46.50 平方米" in page
    assert "原权利人已故" in page
    household_page = text(client.get(f"/households/{world.hh}"))
    assert world.unit in household_page and data["unit_number"] in household_page
    # a second one not inherited is refused, saving nothing
    before = homestead_count()
    r = client.post(
        f"/households/{world.hh}/homestead/existing",
        data=existing_form(world, acquired_by="approval"),
    )
    assert r.status_code == 422 and "只有继承取得" in text(r)
    assert homestead_count() == before


def test_r08_heir_from_outside_by_id_number_gets_the_note(world, client, auth, ctx):
    from app.registry.models import Person

    heir_uid = b.person(None, name="王城", hukou="urban")
    number = db.session.scalar(select(Person.id_number).where(Person.uid == heir_uid))
    auth.login("admin_a")
    r = client.post(
        f"/households/{world.free}/homestead/existing",
        data=existing_form(world, heir_id_number=number, area_m2="70"),
    )
    assert r.status_code == 302, text(r)
    page = text(client.get(r.headers["Location"]))
    assert "该权利人为本农民集体经济组织原成员住宅的合法继承人" in page
    assert "王城" in page


@pytest.mark.parametrize("username", ["bureau", "auditor", "farmer_a", "admin_b"])
def test_existing_form_is_404_for_non_editors(world, client, auth, username):
    auth.login(username)
    url = f"/households/{world.free}/homestead/existing"
    assert client.get(url).status_code == 404
    assert client.post(url, data=existing_form(world)).status_code == 404


def test_r07_grant_form_refuses_an_outline_unlike_its_declared_area(world, client, auth):
    auth.login("admin_a")
    outline = Polygon([(386100, 2765000), (386120, 2765000), (386120, 2765010), (386100, 2765010)])
    r = client.post(
        f"/households/{world.free}/homestead/new",
        data=grant_form(world, area_m2="79", geometry=outline.wkt, crs="EPSG:4547"),
    )
    assert r.status_code == 422
    assert "申报面积 79.00 平方米与图形量算面积 200.00 平方米不符" in text(r)


def test_r08_paid_exit_is_a_disposal_choice_that_bars(world, client, auth, app):
    auth.login("admin_a")
    r = client.post(
        f"/homesteads/{world.homestead}/dispose",
        data={
            "disposal": "paid_exit",
            "basis": "correction",  # a paid exit made before the registry, recorded late
            "source_document_id": str(world.doc),
            "reason": "有偿退出",
        },
    )
    assert r.status_code == 302
    page = text(client.get(f"/homesteads/{world.homestead}"))
    assert "有偿退出" in page
    r = client.post(f"/households/{world.hh}/homestead/new", data=grant_form(world))
    assert r.status_code == 422 and "有偿退出" in text(r)


def test_api_register_existing_and_refusals(world, client, app):
    off_roll = b.household(world.a, members=[b.person(world.a, until=date(2020, 1, 1))])
    headers = api(client, app, "admin_a")
    body = {
        "household_uid": world.hh,
        "unit_number": b.unit_number(world.a),
        "terrain": "hill",
        "area_m2": 130,
        "acquired_by": "inheritance",
        "source_document_id": world.doc,
        "reason": "API 存量",
    }
    r = client.post("/api/v1/homesteads/existing", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["registration"] == "existing" and made["acquired_by"] == "inheritance"
    assert "10.00" in made["note"]
    r = client.get(f"/api/v1/homesteads/{world.homestead}", headers=headers)
    assert r.get_json()["registration"] == "new" and r.get_json()["note"] is None
    # the API grant refuses a household all off the roll (R09)
    grant = {
        "household_uid": off_roll,
        "unit_number": b.unit_number(world.a),
        "terrain": "plain",
        "area_m2": 70,
        "approval_number": "宅批",
        "approved_on": "2024-08-08",
        "source_document_id": world.doc,
        "reason": "x",
    }
    r = client.post("/api/v1/homesteads", json=grant, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["rule"] == "R09"
    for over in ({"acquired_by": 5}, {"heir_person_uid": "x"}, {"household_uid": world.hh_b}):
        r = client.post("/api/v1/homesteads/existing", json=body | over, headers=headers)
        assert r.status_code in (404, 422), over
    r = client.post("/api/v1/homesteads/existing", json=body, headers=api(client, app, "bureau"))
    assert r.status_code in (403, 404)
