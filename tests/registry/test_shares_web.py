"""Collective shares over HTTP: the register and holding pages, the admin forms and the JSON API."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit import trail
from app.extensions import db
from app.registry import history
from app.registry.models import ShareHolding
from app.registry.shares import allocate_shares, conservation_check, fix_share_register
from tests.conftest import token_for
from tests.factories import homesteads as b
from tests.factories import people as fx

pytestmark = pytest.mark.authz


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    a, bb = baseline.collective_a, baseline.collective_b
    head, hh = fx.household(a, "李大山")
    fx.link_farmer("farmer_a", head.uid)
    doc = b.document(a)
    fix_share_register(a, 1000, date(2019, 12, 31), "股权固化决议")
    holding = allocate_shares(
        a,
        household_uid=hh.uid,
        shares=40,
        share_type="population",
        certificate_number="GQ-A-0001",
        source_document_id=doc,
        reason="配股",
    )
    buyer = b.household(a, name="赵家")
    member = b.person(a, name="钱七")
    _head_b, hh_b = fx.household(bb, "王瑶")
    return W(
        a=a,
        bb=bb,
        hh=hh.uid,
        holding=holding.uid,
        doc=doc,
        buyer=buyer,
        member=member,
        hh_b=hh_b.uid,
        member_b=b.person(bb),
        doc_b=b.document(bb),
    )


def text(r) -> str:
    return r.get_data(as_text=True)


def countersigned(client, auth, requested, *, requester: str = "admin_a") -> None:
    """Follow a move request's redirect and have the bureau countersign it (issue 10)."""
    assert requested.status_code == 302 and "/moves/" in requested.headers["Location"]
    move_url = requested.headers["Location"]
    auth.logout()
    auth.login("bureau")
    r = client.post(f"{move_url}/countersign")
    assert r.status_code == 302, text(r)
    auth.logout()
    auth.login(requester)


def bearer(app, username):
    return {"Authorization": f"Bearer {token_for(app, username)}"}


# --- pages


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor", "farmer_a"])
def test_holding_page_renders_for_each_reader(world, client, auth, username):
    auth.login(username)
    r = client.get(f"/shares/{world.holding}")
    assert r.status_code == 200, username
    page = text(r)
    assert "李大山" in page and "GQ-A-0001" in page
    assert "4.00 %" in page  # 40 of 1000
    assert f"/shares/{world.holding}/history" in page
    r = client.get(f"/shares/{world.holding}/history")
    assert r.status_code == 200 and "配股" in text(r)
    assert (f"/shares/{world.holding}/transfer" in page) == (username == "admin_a")


@pytest.mark.parametrize("username", ["officer", "sysadmin", "admin_b", "farmer_b"])
def test_holding_page_is_404_outside_reach(world, client, auth, username):
    auth.login(username)
    assert client.get(f"/shares/{world.holding}").status_code == 404
    assert client.get(f"/shares/{world.holding}/history").status_code == 404


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor"])
def test_register_page_shows_total_allocated_pool_and_cap(world, client, auth, username):
    auth.login(username)
    r = client.get(f"/collectives/{world.a}/shares")
    assert r.status_code == 200
    page = text(r)
    assert "1000" in page and "960" in page and "40" in page  # total, pool, allocated
    assert "5 %" in page and "= 50" in page  # cap: 5 % = 50 shares
    assert "李大山" in page and "4.00" in page


@pytest.mark.parametrize("username", ["admin_b", "farmer_a", "officer"])
def test_register_page_is_404_outside_reach(world, client, auth, username):
    auth.login(username)
    assert client.get(f"/collectives/{world.a}/shares").status_code == 404


def test_unfixed_register_offers_fixing(world, client, auth):
    auth.login("admin_b")
    r = client.get(f"/collectives/{world.bb}/shares")
    assert r.status_code == 200
    assert f"/collectives/{world.bb}/shares/fix" in text(r)
    r = client.post(
        f"/collectives/{world.bb}/shares/fix",
        data={
            "total_shares": "500",
            "fixed_on": "2020-01-01",
            "source_document_id": "0",
            "reason": "固化",
        },
    )
    assert r.status_code == 302, text(r)
    r = client.post(
        f"/collectives/{world.bb}/shares/fix",
        data={
            "total_shares": "900",
            "fixed_on": "2020-01-01",
            "source_document_id": "0",
            "reason": "再次",
        },
    )
    assert r.status_code == 422
    with trail.acting(trail.AuditContext(actor="t", role="system")):
        assert conservation_check(world.bb)[2] == 500


# --- forms


def test_allocate_transfer_and_buy_back_forms(world, client, auth):
    auth.login("admin_a")
    r = client.get(f"/collectives/{world.a}/shares/allocate")
    assert r.status_code == 200 and "赵家" in text(r) and "钱七" in text(r)
    r = client.post(
        f"/collectives/{world.a}/shares/allocate",
        data={
            "holder": f"p:{world.member}",
            "shares": "30",
            "share_type": "seniority",
            "certificate_number": "GQ-A-0002",
            "source_document_id": str(world.doc),
            "reason": "配农龄股",
        },
    )
    assert r.status_code == 302, text(r)
    r = client.post(
        f"/shares/{world.holding}/transfer",
        data={
            "recipient": f"h:{world.buyer}",
            "shares": "15",
            "certificate_number": "GQ-A-0003",
            "basis": "inheritance",
            "source_document_id": str(world.doc),
            "reason": "转让",
        },
    )
    assert history.current_of(ShareHolding, world.holding).shares == 40  # until countersigned
    countersigned(client, auth, r)
    r = client.post(
        f"/shares/{world.holding}/buy-back",
        data={
            "shares": "5",
            "basis": "court_ruling",
            "source_document_id": str(world.doc),
            "reason": "回购",
        },
    )
    countersigned(client, auth, r)
    page = text(client.get(f"/collectives/{world.a}/shares"))
    assert "65" in page and "935" in page  # allocated 40 + 30 - 5, pool 935
    assert history.current_of(ShareHolding, world.holding).shares == 20
    page = text(client.get(f"/shares/{world.holding}/history"))
    assert "转让" in page and "回购" in page and "40.00" in page and "20.00" in page


def test_transfer_form_refuses_over_cap_and_shows_why(world, client, auth):
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{world.a}/shares/allocate",
        data={
            "holder": f"h:{world.buyer}",
            "shares": "45",
            "share_type": "population",
            "certificate_number": "",
            "source_document_id": str(world.doc),
            "reason": "配股",
        },
    )
    assert r.status_code == 302
    r = client.post(
        f"/shares/{world.holding}/transfer",
        data={
            "recipient": f"h:{world.buyer}",
            "shares": "10",
            "basis": "inheritance",
            "source_document_id": str(world.doc),
            "reason": "转让",
        },
    )
    assert r.status_code == 422
    assert "50" in text(r)
    assert history.current_of(ShareHolding, world.holding).shares == 40


@pytest.mark.parametrize(
    "path",
    [
        "/collectives/{a}/shares/allocate",
        "/collectives/{a}/shares/fix",
        "/shares/{holding}/transfer",
        "/shares/{holding}/buy-back",
    ],
)
@pytest.mark.parametrize("username", ["bureau", "auditor", "farmer_a", "admin_b"])
def test_share_forms_are_404_for_non_editors(world, client, auth, path, username):
    auth.login(username)
    url = path.format(a=world.a, holding=world.holding)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"shares": "1"}).status_code == 404


# --- JSON API


def test_api_register_allocate_transfer_buy_back(world, client, app):
    h = bearer(app, "admin_a")
    r = client.get(f"/api/v1/collectives/{world.a}/shares", headers=h)
    reg = r.get_json()
    # exact decimals are strings in JSON, with the columns' scale
    assert (reg["total_shares"], reg["allocated"], reg["pool"]) == (
        "1000.0000",
        "40.0000",
        "960.0000",
    )
    assert reg["cap_percent"] == "5.00" and reg["cap_shares"] == "50.0000"
    assert reg["items"][0]["shares"] == "40.0000"
    assert reg["items"][0]["percent_of_total"] == "4.0000"
    assert reg["items"][0]["holdings"][0]["holding_uid"] == world.holding
    r = client.post(
        "/api/v1/shares",
        json={
            "collective_id": world.a,
            "person_uid": world.member,
            "shares": 20,
            "share_type": "population",
            "source_document_id": world.doc,
            "reason": "配股",
        },
        headers=h,
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["percent_of_total"] == "2.0000"
    assert r.get_json()["shares"] == "20.0000"
    r = client.post(
        f"/api/v1/shares/{world.holding}/transfer",
        json={
            "to_household_uid": world.buyer,
            "shares": 40,
            "basis": "inheritance",
            "source_document_id": world.doc,
            "reason": "全部转让",
        },
        headers=h,
    )
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["state"] == "pending"
    reviewer = bearer(app, "bureau")
    r = client.post(f"/api/v1/moves/{r.get_json()['move_id']}/countersign", headers=reviewer)
    assert r.status_code == 200 and r.get_json()["state"] == "applied"
    buyer_holding = db.session.scalar(
        select(ShareHolding.uid).where(
            ShareHolding.household_uid == world.buyer, ShareHolding.end_lifespan.is_(None)
        )
    )
    r = client.post(
        f"/api/v1/shares/{buyer_holding}/buy-back",
        json={
            "shares": 10,
            "basis": "court_ruling",
            "source_document_id": world.doc,
            "reason": "回购",
        },
        headers=h,
    )
    assert r.status_code == 202
    r = client.post(f"/api/v1/moves/{r.get_json()['move_id']}/countersign", headers=reviewer)
    assert r.status_code == 200
    r = client.get(f"/api/v1/collectives/{world.a}/shares", headers=h)
    assert r.get_json()["pool"] == "950.0000"
    r = client.get(f"/api/v1/shares/{world.holding}", headers=h)
    assert r.status_code == 200 and r.get_json()["is_current"] is False
    # a transfer from the emptied holding is gone
    r = client.post(
        f"/api/v1/shares/{world.holding}/transfer",
        json={
            "to_household_uid": world.buyer,
            "shares": 1,
            "basis": "inheritance",
            "source_document_id": world.doc,
            "reason": "x",
        },
        headers=h,
    )
    assert r.status_code == 404


def test_api_transfer_to_other_collective_is_422_r10(world, client, app):
    r = client.post(
        f"/api/v1/shares/{world.holding}/transfer",
        json={
            "to_person_uid": world.member_b,
            "shares": 5,
            "basis": "inheritance",
            "source_document_id": world.doc,
            "reason": "转让给外村",
        },
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["rule"] == "R10" and err["field"] == "to_person_uid"


@pytest.mark.authz
@pytest.mark.parametrize("field", ["to_person_uid", "to_household_uid"])
def test_api_transfer_to_another_collectives_holder_equals_a_missing_one(world, client, app, field):
    """Another collective's member or household is answered like a holder who does not exist
    (R10 either way), byte for byte; a document of another collective like a missing one."""
    headers = bearer(app, "admin_a")
    theirs = world.member_b if field == "to_person_uid" else world.hh_b

    def transfer(uid: int, doc: int):
        return client.post(
            f"/api/v1/shares/{world.holding}/transfer",
            json={
                field: uid,
                "shares": 5,
                "basis": "inheritance",
                "source_document_id": doc,
                "reason": "转让",
            },
            headers=headers,
        )

    other, nowhere = transfer(theirs, world.doc), transfer(2**31 - 2, world.doc)
    assert (other.status_code, other.get_data()) == (nowhere.status_code, nowhere.get_data())
    assert other.status_code == 422 and other.get_json()["error"]["rule"] == "R10"
    mine = world.member if field == "to_person_uid" else world.buyer
    other, nowhere = transfer(mine, world.doc_b), transfer(mine, 2**31 - 2)
    assert (other.status_code, other.get_data()) == (nowhere.status_code, nowhere.get_data())
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "source_unknown"


def test_api_fix_register_twice_is_refused(world, client, app):
    h = bearer(app, "admin_b")
    body = {"total_shares": 300, "fixed_on": "2020-06-30", "reason": "固化"}
    r = client.post(f"/api/v1/collectives/{world.bb}/share-register", json=body, headers=h)
    assert r.status_code == 201 and r.get_json()["total_shares"] == "300.0000"
    r = client.post(
        f"/api/v1/collectives/{world.bb}/share-register",
        json={**body, "total_shares": 301},
        headers=h,
    )
    assert r.status_code == 422 and r.get_json()["error"]["rule"] == "R10"
    r = client.post(f"/api/v1/collectives/{world.a}/share-register", json=body, headers=h)
    assert r.status_code == 404


@pytest.mark.parametrize(
    "over",
    [
        {"collective_id": "1"},
        {"shares": "abc"},
        {"shares": "20.00001"},
        {"shares": "NaN"},
        {"shares": 12345678901234.5678},
        {"shares": [20]},
        {"shares": None},
        {"shares": 1e309},
        {"household_uid": 1, "person_uid": None},
        {"person_uid": True},
        {"share_type": 3},
        {"certificate_number": 5},
        {"source_document_id": 10**12},
        {"reason": None},
    ],
)
def test_api_allocate_bad_input_is_422_never_500(world, client, app, over):
    body = {
        "collective_id": world.a,
        "person_uid": world.member,
        "shares": 20,
        "share_type": "population",
        "source_document_id": world.doc,
        "reason": "配股",
    }
    body.update(over)
    r = client.post("/api/v1/shares", json=body, headers=bearer(app, "admin_a"))
    assert r.status_code == 422, r.get_json()


@pytest.mark.parametrize(
    "username,status", [("farmer_a", 200), ("farmer_b", 404), ("officer", 404)]
)
def test_api_holding_read_scope(world, client, app, username, status):
    r = client.get(f"/api/v1/shares/{world.holding}", headers=bearer(app, username))
    assert r.status_code == status


@pytest.mark.hostile
def test_ids_beyond_32_bits_are_404_or_422_never_500(world, client, app, auth):
    huge = 2**31
    auth.login("admin_a")
    for url in (
        f"/shares/{huge}",
        f"/shares/{huge}/transfer",
        f"/shares/{huge}/buy-back",
        f"/collectives/{huge}/shares",
        f"/collectives/{huge}/shares/allocate",
        f"/collectives/{huge}/shares/fix",
    ):
        assert client.get(url).status_code == 404, url
    h = bearer(app, "admin_a")
    assert client.get(f"/api/v1/shares/{huge}", headers=h).status_code == 404
    assert client.get(f"/api/v1/collectives/{huge}/shares", headers=h).status_code == 404
    for body in (
        {"to_household_uid": huge, "shares": 1, "source_document_id": world.doc, "reason": "x"},
        {"to_person_uid": world.member, "shares": 1, "source_document_id": huge, "reason": "x"},
    ):
        r = client.post(f"/api/v1/shares/{world.holding}/transfer", json=body, headers=h)
        assert r.status_code == 422, body
    r = client.post("/api/v1/shares", json={"collective_id": huge}, headers=h)
    assert r.status_code == 422


def test_r11_register_counts_a_household_with_its_members_and_shows_exact_numbers(
    world, client, auth, app
):
    """The household 李大山 holds 40; its head gets 7.5 more: the household is at 47.5 of the
    cap of 50 together, shown on the page and in the API, exactly."""
    from sqlalchemy import select

    from app.extensions import db
    from app.registry.models import HouseholdMember

    member_uid = db.session.scalar(
        select(HouseholdMember.person_uid).where(
            HouseholdMember.household_uid == world.hh, HouseholdMember.end_lifespan.is_(None)
        )
    )
    allocate_shares(
        world.a,
        person_uid=member_uid,
        shares="7.5",
        share_type="seniority",
        certificate_number=None,
        source_document_id=world.doc,
        reason="农龄股",
    )
    auth.login("admin_a")
    page = text(client.get(f"/collectives/{world.a}/shares"))
    assert "47.5" in page and "7.5" in page and "1000" in page
    assert "1000.0000" not in page and "e+" not in page  # numbers as people write them
    r = client.get(f"/api/v1/collectives/{world.a}/shares", headers=bearer(app, "admin_a"))
    items = {(i["household_uid"], i["person_uid"]): i for i in r.get_json()["items"]}
    assert items[(world.hh, None)]["shares"] == "40.0000"
    assert items[(world.hh, None)]["cap_group_shares"] == "47.5000"
    assert items[(None, member_uid)]["shares"] == "7.5000"
    assert items[(None, member_uid)]["cap_group_shares"] == "47.5000"
    assert items[(None, member_uid)]["at_or_above_cap"] is False
    # 2.5 more to the household reaches the cap together: allowed, and shown at the cap
    r = client.post(
        "/api/v1/shares",
        json={
            "collective_id": world.a,
            "household_uid": world.hh,
            "shares": "2.5",
            "share_type": "contribution",
            "source_document_id": world.doc,
            "reason": "贡献股",
        },
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 201 and r.get_json()["shares"] == "2.5000"
    r = client.post(
        "/api/v1/shares",
        json={
            "collective_id": world.a,
            "person_uid": member_uid,
            "shares": "0.0001",
            "share_type": "seniority",
            "source_document_id": world.doc,
            "reason": "农龄股",
        },
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 422 and r.get_json()["error"]["rule"] == "R11"
    r = client.get(f"/api/v1/collectives/{world.a}/shares", headers=bearer(app, "admin_a"))
    items = {(i["household_uid"], i["person_uid"]): i for i in r.get_json()["items"]}
    assert items[(None, member_uid)]["at_or_above_cap"] is True


def test_api_shares_as_text_keep_every_digit(world, client, app):
    h = bearer(app, "admin_a")
    body = {
        "collective_id": world.a,
        "person_uid": world.member,
        "shares": "12.3456",
        "share_type": "population",
        "source_document_id": world.doc,
        "reason": "配股",
    }
    r = client.post("/api/v1/shares", json=body, headers=h)
    assert r.status_code == 201 and r.get_json()["shares"] == "12.3456"
    r = client.post("/api/v1/shares", json={**body, "shares": "1.23456"}, headers=h)
    assert r.status_code == 422
    assert r.get_json()["error"]["field"] == "shares"
    assert "4" in r.get_json()["error"]["message"]
    r = client.get(f"/api/v1/collectives/{world.a}/shares", headers=h)
    assert r.get_json()["allocated"] == "52.3456" and r.get_json()["pool"] == "947.6544"


def test_form_refuses_more_places_than_a_share_has(world, client, auth):
    auth.login("admin_a")
    url = f"/shares/{world.holding}/buy-back"
    r = client.post(
        url, data={"shares": "0.00001", "source_document_id": str(world.doc), "reason": "回购"}
    )
    assert r.status_code == 422
    assert conservation_check(world.a)[0] == 40


def test_r11_cap_standing_is_the_services_on_the_page_and_in_the_api(world, client, auth, app):
    """Where each holder stands against the cap (within, at, above) is decided once, by the
    service, and the page's badges and the API's cap_standing agree: 赵家 gets exactly the cap
    of 50 (at), 李大山 keeps 40 (within); then the collective's charter lowers the cap to 4 %
    (40 shares), which puts 赵家 above it and 李大山 at it."""
    from app.divisions.models import Collective

    allocate_shares(
        world.a,
        household_uid=world.buyer,
        shares=50,
        share_type="population",
        certificate_number=None,
        source_document_id=world.doc,
        reason="配股",
    )
    db.session.commit()
    auth.login("admin_a")

    def standings() -> tuple[dict, str]:
        body = client.get(
            f"/api/v1/collectives/{world.a}/shares", headers=bearer(app, "admin_a")
        ).get_json()
        page = text(client.get(f"/collectives/{world.a}/shares"))
        return {i["name"]: i["cap_standing"] for i in body["items"]}, page

    api, page = standings()
    assert api == {"赵家": "at", "李大山": "within"}
    assert "达到上限" in page and "未超上限" in page and "超过上限" not in page

    with trail.acting(trail.AuditContext(actor="county", role="system")):
        db.session.get(Collective, world.a).share_cap_percent = 4
        db.session.commit()
    api, page = standings()
    assert api == {"赵家": "above", "李大山": "at"}
    assert "超过上限" in page and "达到上限" in page and "未超上限" not in page
