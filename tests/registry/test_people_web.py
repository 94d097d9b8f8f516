"""People and households over HTTP: pages per role, masking, scope, forms, and the JSON API."""

from __future__ import annotations

from datetime import date

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, select

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.codes import id_number_check_char, mask_id_number
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, people
from app.registry.models import (
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Person,
    Plot,
    ShareHolding,
    SourceDocument,
)
from tests.conftest import token_for
from tests.factories import people as fx

pytestmark = pytest.mark.authz


def _rights(collective_id: int, household: Household) -> dict:
    """A contract with one plot, a homestead and shares, written straight to the models."""
    with trail.because("test.rights"):
        doc = SourceDocument(
            collective_id=collective_id, kind="contract", title="承包合同", sha256="cd" * 32
        )
        db.session.add(doc)
        db.session.flush()
    src = {"source_document_id": doc.id, "reason": "确权"}
    contract = history.create(
        LandContract,
        cbhtbm=household.cbfbm + "J",
        household_uid=household.uid,
        collective_id=collective_id,
        term_start=date(2018, 1, 1),
        term_end=date(2047, 12, 31),
        contract_area_m2=2000.0,
        **src,
    )
    geom = from_shape(MultiPolygon([box(500000, 2756000, 500050, 2756040)]), srid=registry_srid())
    plot = history.create(
        Plot,
        dkbm=household.cbfbm[:14] + "00001",
        collective_id=collective_id,
        contract_uid=contract.uid,
        household_uid=household.uid,
        name="门前田",
        land_class="10",
        is_basic_farmland=True,
        contract_area_m2=2000.0,
        measured_area_m2=2001.5,
        geom=geom,
        **src,
    )
    homestead = history.create(
        Homestead,
        unit_number="440222001001JC00001F00010001",
        household_uid=household.uid,
        collective_id=collective_id,
        terrain="hill",
        area_m2=110.0,
        **src,
    )
    shares = history.create(
        ShareHolding,
        collective_id=collective_id,
        household_uid=household.uid,
        shares=3.0,
        share_type="population",
        certificate_number="GQ-0001",
        **src,
    )
    return {"contract": contract, "plot": plot, "homestead": homestead, "shares": shares}


class W(dict):
    """Plain values of the test world (ORM objects do not outlive a request's session)."""

    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    a, b = baseline.collective_a, baseline.collective_b
    head, hh = fx.household(a, "李大山")
    wife = fx.member(a, "陈秀英", female=True)
    people.add_household_member(hh.uid, wife.uid, "10", True, "婚入")
    rights = _rights(a, hh)
    head_b, hh_b = fx.household(b, "王瑶")
    fx.link_farmer("farmer_a", head.uid)
    fx.link_farmer("farmer_b", head_b.uid)
    return W(
        head=head.uid,
        head_id=head.id_number,
        wife=wife.uid,
        wife_id=wife.id_number,
        hh=hh.uid,
        cbfbm=hh.cbfbm,
        head_b=head_b.uid,
        hh_b=hh_b.uid,
        collective_b=b,
        dkbm=rights["plot"].dkbm,
        cbhtbm=rights["contract"].cbhtbm,
        unit=rights["homestead"].unit_number,
    )


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Person, Membership, Household, HouseholdMember, AuditEntry)
    )


def text(r) -> str:
    return r.get_data(as_text=True)


# --- pages per role


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor", "farmer_a"])
def test_household_page_renders_for_each_reader(world, client, auth, username):
    auth.login(username)
    r = client.get(f"/households/{world.hh}")
    assert r.status_code == 200, username
    page = text(r)
    assert "李大山" in page and "陈秀英" in page
    assert world.dkbm in page and "门前田" in page
    assert "2,000.00" in page and "3.00" in page  # 2000 m² = 3.00 亩
    assert "2,001.50" in page and "3.00" in page
    assert "<svg" in page and "<path" in page
    assert world.unit in page
    assert "GQ-0001" in page
    assert world.cbhtbm in page


@pytest.mark.parametrize("username", ["officer", "sysadmin", "admin_b", "farmer_b"])
def test_household_page_is_404_outside_reach(world, client, auth, username):
    auth.login(username)
    assert client.get(f"/households/{world.hh}").status_code == 404


def test_farmer_of_household_a_gets_404_on_household_b(world, client, auth):
    auth.login("farmer_a")
    assert client.get(f"/households/{world.hh}").status_code == 200
    assert client.get(f"/households/{world.hh_b}").status_code == 404
    assert client.get(f"/persons/{world.head_b}").status_code == 404
    assert client.get(f"/api/v1/households/{world.hh_b}").status_code in (401, 404)


def test_my_household_shows_the_farmers_household(world, client, auth):
    auth.login("farmer_a")
    r = client.get("/my")
    assert r.status_code == 200
    page = text(r)
    assert world.cbfbm in page and "门前田" in page
    assert world.head_id in page  # their own ID number, in full
    assert world.wife_id not in page  # another member's, masked
    assert mask_id_number(world.wife_id) in page


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor"])
def test_collective_overview_renders(world, client, auth, baseline, username):
    auth.login(username)
    r = client.get(f"/collectives/{baseline.collective_a}")
    assert r.status_code == 200
    page = text(r)
    assert world.cbfbm in page and "李大山" in page
    assert "<svg" in page and "3.00" in page
    if username == "admin_a":
        assert f"/collectives/{baseline.collective_a}/households/new" in page
    else:
        assert "/households/new" not in page


def test_collective_overview_is_404_for_other_collectives_admin(world, client, auth, baseline):
    auth.login("admin_b")
    assert client.get(f"/collectives/{baseline.collective_a}").status_code == 404


# --- masking of ID numbers


@pytest.mark.parametrize(
    "username, full",
    [("admin_a", True), ("auditor", True), ("bureau", False), ("farmer_a", True)],
)
def test_id_number_shown_per_role_on_person_page(world, client, auth, username, full):
    auth.login(username)
    r = client.get(f"/persons/{world.head}")
    assert r.status_code == 200
    number = world.head_id
    assert (number in text(r)) is full
    if not full:
        assert mask_id_number(number) in text(r)


def test_admin_of_another_collective_gets_404_on_person(world, client, auth):
    auth.login("admin_b")
    assert client.get(f"/persons/{world.head}").status_code == 404
    assert client.get(f"/persons/{world.head_b}").status_code == 200


def test_farmer_sees_other_members_masked(world, client, auth):
    auth.login("farmer_a")
    r = client.get(f"/persons/{world.wife}")
    assert r.status_code == 200
    assert world.wife_id not in text(r)


def test_api_masks_for_bureau_and_shows_admin(world, app, client):
    uid = world.head
    number = world.head_id
    bureau = {"Authorization": f"Bearer {token_for(app, 'bureau')}"}
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    other = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    r = client.get(f"/api/v1/persons/{uid}", headers=bureau)
    assert r.status_code == 200 and r.json["id_number"] == mask_id_number(number)
    assert r.json["id_number_masked"] is True
    assert client.get(f"/api/v1/persons/{uid}", headers=admin).json["id_number"] == number
    assert client.get(f"/api/v1/persons/{uid}", headers=other).status_code == 404
    r = client.get(f"/api/v1/households/{world.hh}", headers=bureau)
    ids = [m["person"]["id_number"] for m in r.json["members"]]
    assert number not in ids and mask_id_number(number) in ids
    assert r.json["rights"]["plots"][0]["contract_area"] == {"m2": 2000.0, "mu": "3.00"}


# --- search


def test_search_by_name_id_and_codes_within_scope(world, client, auth):
    auth.login("admin_a")
    person, household = f"/persons/{world.head}", f"/households/{world.hh}"

    def found(q: str) -> str:
        return text(client.get("/search", query_string={"q": q}))

    assert person in found("大山") and household in found("大山")
    assert person in found(world.head_id)
    assert household in found(world.cbfbm)
    assert world.dkbm in found(world.dkbm).split("</form>")[-1]
    assert world.cbhtbm in found(world.cbhtbm).split("</form>")[-1]
    assert world.unit in found(world.unit).split("</form>")[-1]
    # a partial ID number finds nobody; another collective's people are not found
    assert person not in found(world.head_id[:10])
    assert f"/persons/{world.head_b}" not in found("王瑶")


def test_search_of_another_collective_finds_nothing(world, client, auth):
    auth.login("admin_b")
    for q in ("大山", world.head_id, world.cbfbm, world.dkbm):
        page = text(client.get("/search", query_string={"q": q}))
        assert f"/persons/{world.head}" not in page and f"/households/{world.hh}" not in page
        assert world.dkbm not in page.split("</form>")[-1]
    assert f"/persons/{world.head_b}" in text(client.get("/search?q=王瑶"))


def test_bureau_search_is_county_wide_and_masked(world, client, auth):
    auth.login("bureau")
    assert f"/persons/{world.head_b}" in text(client.get("/search?q=王"))
    page = text(client.get("/search?q=李"))
    assert f"/persons/{world.head}" in page and world.head_id not in page
    assert mask_id_number(world.head_id) in page


def test_search_pages(ctx, baseline, client, auth):
    for i in range(30):
        fx.member(baseline.collective_a, f"测试{i:02d}")
    auth.login("admin_a")
    first = text(client.get("/search?q=测试"))
    assert "测试00" in first and "测试29" not in first and "page=2" in first
    second = text(client.get("/search?q=测试&page=2"))
    assert "测试29" in second


def test_api_search(world, app, client):
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.get("/api/v1/search", query_string={"q": world.cbfbm}, headers=admin)
    assert r.status_code == 200
    assert [i["kind"] for i in r.json["items"]] == ["household"] and r.json["next"] is None


# --- forms: admin only, clear errors, nothing half-written


def _id(seq: str = "127") -> str:
    first17 = f"44022219900315{seq}"
    return first17 + id_number_check_char(first17)


def _person_form(**over) -> dict:
    data = {
        "name": "周敏",
        "id_number": _id(),
        "sex": "",
        "birth_date": "",
        "hukou_type": "rural",
        "hukou_place": "",
        "phone": "",
        "since": "2000-01-01",
        "basis": "birth",
        "reason": "新成员登记",
    }
    data.update(over)
    return data


def test_register_member_form_creates_person_and_membership(world, client, auth, baseline):
    auth.login("admin_a")
    url = f"/collectives/{baseline.collective_a}/persons/new"
    assert client.get(url).status_code == 200
    r = client.post(url, data=_person_form())
    assert r.status_code == 302
    person = db.session.scalar(select(Person).where(Person.id_number == _id()))
    assert person.sex == "M" and person.birth_date == date(1990, 3, 15)
    assert people.open_membership(person.uid, baseline.collective_a) is not None


def test_bad_id_number_on_the_form_gives_a_chinese_message_and_writes_nothing(
    world, client, auth, baseline
):
    auth.login("admin_a")
    bad = _id()[:-1] + ("0" if _id()[-1] != "0" else "1")
    before = counts()
    r = client.post(
        f"/collectives/{baseline.collective_a}/persons/new", data=_person_form(id_number=bad)
    )
    assert r.status_code == 422
    assert "身份证号校验位应为" in text(r)
    assert counts() == before


def test_sex_mismatch_on_the_form_is_shown_at_the_field(world, client, auth, baseline):
    auth.login("admin_a")
    before = counts()
    r = client.post(f"/collectives/{baseline.collective_a}/persons/new", data=_person_form(sex="F"))
    assert r.status_code == 422 and 'class="field-error"' in text(r)
    assert counts() == before


def test_admission_failure_rolls_back_the_registration(world, client, auth, baseline):
    auth.login("admin_a")
    before = counts()
    # the person would be valid, but a membership cannot begin before birth
    r = client.post(
        f"/collectives/{baseline.collective_a}/persons/new", data=_person_form(since="1980-01-01")
    )
    assert r.status_code == 422
    assert counts() == before


def test_empty_form_gives_422_and_writes_nothing(world, client, auth, baseline):
    auth.login("admin_a")
    before = counts()
    r = client.post(f"/collectives/{baseline.collective_a}/persons/new", data={})
    assert r.status_code == 422 and 'class="field-error"' in text(r)
    assert counts() == before


def test_create_household_and_add_member_forms(ctx, baseline, client, auth):
    a = baseline.collective_a
    head = fx.member(a, "赵一")
    son = fx.member(a, "赵二", birth=date(2010, 1, 1))
    auth.login("admin_a")
    r = client.get(f"/collectives/{a}/households/new")
    assert r.status_code == 200 and "赵一" in text(r)
    r = client.post(
        f"/collectives/{a}/households/new",
        data={
            "cbfbm": "440222100205010007",
            "head_person_uid": head.uid,
            "name": "",
            "address": "",
            "reason": "分户",
        },
    )
    assert r.status_code == 302
    hh = db.session.scalar(select(Household).where(Household.cbfbm == "440222100205010007"))
    assert hh.name == "赵一"
    r = client.post(
        f"/households/{hh.uid}/members/new",
        data={"person_uid": son.uid, "relation": "20", "is_co_holder": "y", "reason": "出生"},
    )
    assert r.status_code == 302
    assert {p.uid for p in people.co_holders(hh.uid)} == {head.uid, son.uid}


def test_bad_household_code_on_the_form_writes_nothing(ctx, baseline, client, auth):
    a = baseline.collective_a
    head = fx.member(a, "赵一")
    auth.login("admin_a")
    before = counts()
    r = client.post(
        f"/collectives/{a}/households/new",
        data={"cbfbm": "440222100211000001", "head_person_uid": head.uid, "reason": "分户"},
    )
    assert r.status_code == 422
    assert "承包方编码应以发包方编码 44022210020501 开头" in text(r)
    assert counts() == before


def test_household_code_allocated_by_the_service_on_page_and_api(ctx, app, baseline, client, auth):
    """承包方编码 (R01): the page proposes the code the service gives, and a household created on
    the page with the code left empty gets the same code as one created through the API without
    one, in the same situation: the codes run on past the collective's highest, gaps and all."""
    a = baseline.collective_a
    fbfbm = db.session.get(Collective, a).fbfbm
    fx.household(a, "钱一")
    people.create_household(a, fbfbm + "0041", None, None, fx.member(a, "钱二").uid, "立户")
    head_uid = fx.member(a, "赵一").uid
    auth.login("admin_a")
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    db.session.commit()  # the situation, in the test's transaction; each side starts from it
    db.session.remove()

    def created_on_the_page() -> str:
        r = client.get(f"/collectives/{a}/households/new")
        assert f'value="{fbfbm}0042"' in text(r)  # proposed, not decided, by the page
        r = client.post(
            f"/collectives/{a}/households/new",
            data={"cbfbm": "", "head_person_uid": head_uid, "reason": "立户"},
        )
        assert r.status_code == 302, text(r)
        return db.session.scalar(
            select(Household.cbfbm).where(
                Household.name == "赵一", Household.end_lifespan.is_(None)
            )
        )

    situation = db.session.get_bind().begin_nested()
    on_the_page = created_on_the_page()
    db.session.remove()
    situation.rollback()  # back to the same situation, for the API
    assert db.session.scalar(select(Household.uid).where(Household.name == "赵一")) is None
    r = client.post(
        "/api/v1/households",
        headers=admin,
        json={"collective_id": a, "head_person_uid": head_uid, "reason": "立户"},
    )
    assert r.status_code == 201, r.json
    assert on_the_page == r.json["cbfbm"] == fbfbm + "0042"


@pytest.mark.parametrize("username", ["bureau", "auditor", "farmer_a", "admin_b"])
def test_forms_are_404_for_everyone_but_the_collectives_admin(
    world, client, auth, baseline, username
):
    auth.login(username)
    a = baseline.collective_a
    for url in (
        f"/collectives/{a}/persons/new",
        f"/collectives/{a}/households/new",
        f"/households/{world.hh}/members/new",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data={}).status_code == 404, url


# --- the JSON API


def test_api_register_person_bad_id_is_422_with_field(world, app, client, baseline):
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    before = counts()
    r = client.post(
        "/api/v1/persons",
        headers=admin,
        json={
            "collective_id": baseline.collective_a,
            "name": "周敏",
            "id_number": "4402221990",
            "since": "2000-01-01",
            "basis": "birth",
            "reason": "登记",
        },
    )
    assert r.status_code == 422
    assert r.json["error"]["field"] == "id_number" and r.json["error"]["code"] == "length"
    assert counts() == before


def test_api_creates_person_household_and_member(world, app, client, baseline):
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    a = baseline.collective_a
    r = client.post(
        "/api/v1/persons",
        headers=admin,
        json={
            "collective_id": a,
            "name": "周敏",
            "id_number": _id(),
            "since": "2000-01-01",
            "basis": "birth",
            "reason": "登记",
        },
    )
    assert r.status_code == 201, r.json
    head_uid = r.json["uid"]
    assert r.json["id_number"] == _id() and r.json["memberships"][0]["collective_id"] == a
    r = client.post(
        "/api/v1/persons",
        headers=admin,
        json={
            "collective_id": a,
            "name": "周妻",
            "id_number": _id("126"),
            "since": "2000-01-01",
            "basis": "marriage",
            "reason": "登记",
        },
    )
    wife_uid = r.json["uid"]
    r = client.post(
        "/api/v1/households",
        headers=admin,
        json={
            "collective_id": a,
            "cbfbm": "440222100205010009",
            "head_person_uid": head_uid,
            "reason": "立户",
        },
    )
    assert r.status_code == 201, r.json
    hh_uid = r.json["uid"]
    r = client.post(
        f"/api/v1/households/{hh_uid}/members",
        headers=admin,
        json={"person_uid": wife_uid, "relation": "10", "reason": "婚入"},
    )
    assert r.status_code == 201
    assert [m["person"]["uid"] for m in r.json["members"]] == [head_uid, wife_uid]
    listed = client.get(f"/api/v1/households?collective_id={a}", headers=admin).json
    assert hh_uid in [h["uid"] for h in listed["items"]]
    # another collective's admin cannot write here
    other = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    r = client.post(
        f"/api/v1/households/{hh_uid}/members",
        headers=other,
        json={"person_uid": wife_uid, "relation": "10", "reason": "x"},
    )
    assert r.status_code == 404


def test_api_r01_outsider_member_is_422_with_rule(world, app, client):
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        outsider = fx.member(world.collective_b, "王外")
    r = client.post(
        f"/api/v1/households/{world.hh}/members",
        headers=admin,
        json={"person_uid": outsider.uid, "relation": "10", "reason": "结婚"},
    )
    assert r.status_code == 422 and r.json["error"]["rule"] == "R01"


def test_api_lists_are_scoped_and_paged(world, app, client):
    farmer = {"Authorization": f"Bearer {token_for(app, 'farmer_a')}"}
    r = client.get("/api/v1/households", headers=farmer)
    assert [h["uid"] for h in r.json["items"]] == [world.hh]
    admin_b = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    r = client.get("/api/v1/persons?limit=1", headers=admin_b)
    assert [p["uid"] for p in r.json["items"]] == [world.head_b] and r.json["next"] is None
    bureau = {"Authorization": f"Bearer {token_for(app, 'bureau')}"}
    r = client.get("/api/v1/persons?limit=1", headers=bureau)
    assert len(r.json["items"]) == 1 and r.json["next"]
    r2 = client.get(f"/api/v1/persons?limit=1&cursor={r.json['next']}", headers=bureau)
    assert r2.json["items"][0]["uid"] > r.json["items"][0]["uid"]


def test_collective_map_draws_a_sample_of_many_plots(world, client, auth, baseline, monkeypatch):
    from app.registry.views import collective_overview

    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        hh = history.current_of(Household, world.hh)
        doc = db.session.scalar(select(SourceDocument.id))
        for i in range(2, 5):
            geom = box(500100 + 60 * i, 2756000, 500150 + 60 * i, 2756040)
            history.create(
                Plot,
                dkbm=hh.cbfbm[:14] + f"{i:05d}",
                collective_id=hh.collective_id,
                household_uid=hh.uid,
                geom=from_shape(MultiPolygon([geom]), srid=registry_srid()),
                reason="测绘",
                source_document_id=doc,
            )
    monkeypatch.setattr(collective_overview, "MAP_PLOT_LIMIT", 2)
    auth.login("admin_a")
    page = text(client.get(f"/collectives/{baseline.collective_a}"))
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count("<path") == 2
    assert "4" in page.split("<svg", 1)[0].rsplit("<p", 1)[1]  # "4 plots: … a sample"


@pytest.mark.hostile
@pytest.mark.parametrize(
    "body",
    [
        [],
        {"collective_id": "1"},
        {"collective_id": None},
        {"collective_id": 1, "name": 5, "id_number": "x"},
        {"collective_id": 1, "name": "x", "id_number": ["440222"], "since": "x", "basis": "x"},
    ],
)
def test_api_hostile_bodies_get_clear_errors(world, app, client, baseline, body):
    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    if isinstance(body, dict) and body.get("collective_id") == 1:
        body = {**body, "collective_id": baseline.collective_a}
    r = client.post("/api/v1/persons", headers=admin, json=body)
    assert r.status_code == 422 and "message" in r.json["error"]


@pytest.mark.hostile
@pytest.mark.parametrize(
    "q", ["%", "_", "\\", "' OR 1=1 --", "x" * 500, "<script>", "４４０２２２", "\u3000李\u3000"]
)
def test_search_survives_odd_input(world, client, auth, q):
    auth.login("admin_a")
    r = client.get("/search", query_string={"q": q})
    assert r.status_code == 200
    assert "<script>" not in r.get_data(as_text=True).split("</form>")[-1]
    assert f"/persons/{world.head_b}" not in r.get_data(as_text=True)


def test_pages_for_odd_ids_are_404(world, client, auth):
    auth.login("admin_a")
    for url in ("/households/999999999", "/persons/999999999", f"/households/{world.head}"):
        assert client.get(url).status_code == 404, url


def test_farmer_without_household_sees_a_note(ctx, client, auth):
    auth.login("farmer_b")
    r = client.get("/my")
    assert r.status_code == 200 and "<h1>" in text(r)
