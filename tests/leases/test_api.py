"""The leases' JSON API: record, read, pay, end, review; every answer checked against the
OpenAPI document by the test client; another collective's lease is a 404; hostile input is a
clear 422 with nothing written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.core.calendar import county_today
from app.extensions import db
from app.leases.models import Lease
from tests.conftest import token_for
from tests.factories import encumbrances as ef
from tests.factories import land as lf
from tests.factories import people as pf
from tests.factories.people import id_number


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(app, baseline) -> W:
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        a = baseline.collective_a
        doc = lf.make_document(a, "出租合同")
        holder = ef.contract_with_plots(a, "甲户", doc)
        member = ef.contract_with_plots(a, "乙户", doc, plots=1)
        pf.link_farmer("farmer_a", holder["head_uid"])
        db.session.commit()
    return W(a=a, doc=doc, holder=holder, member=member)


def body(w: W, **kw) -> dict:
    today = county_today()
    out = {
        "collective_id": w.a,
        "contract_uid": w.holder["contract_uid"],
        "plot_uids": w.holder["plot_uids"],
        "lessee": {"kind": "member_household", "household_uid": w.member["household_uid"]},
        "method": "lease",
        "use": "vegetables",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=3 * 365)).isoformat(),
        "rent_fen_per_mu_year": 60000,
        "payment_schedule": "annual",
        "contract_document_id": w.doc,
    }
    out.update(kw)
    return out


def headers(app, user: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, user)}"}


def count() -> int:
    return db.session.scalar(select(func.count(Lease.id)))


def test_the_api_records_reads_pays_and_ends_a_lease(app, client, world):
    admin = headers(app, "admin_a")
    r = client.post("/api/v1/leases", json=body(world), headers=admin)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["state"] == "in_force" and made["lessee"]["name"] == "乙户"
    assert made["rent_fen_per_year"] == 189000  # 3.15 亩 × 600 yuan
    assert made["arrears_fen"] == 189000
    url = r.headers["Location"]
    r = client.post(
        url + "/payments",
        json={"paid_on": county_today().isoformat(), "amount_fen": 189000, "reference": "现金"},
        headers=admin,
    )
    assert r.status_code == 201 and r.get_json()["arrears_fen"] == 0
    listed = client.get("/api/v1/leases", headers=admin).get_json()
    assert [x["number"] for x in listed["items"]] == [made["number"]]
    # the holder's farmer reads it; another collective's administrator does not see it
    farmer = headers(app, "farmer_a")
    assert client.get(url, headers=farmer).status_code == 200
    assert client.post(url + "/payments", json={}, headers=farmer).status_code == 404
    other = headers(app, "admin_b")
    assert client.get(url, headers=other).status_code == 404
    assert client.get("/api/v1/leases", headers=other).get_json()["items"] == []
    r = client.post(
        url + "/end",
        json={"kind": "agreement", "ended_on": county_today().isoformat(), "reason": "协商解除"},
        headers=other,
    )
    assert r.status_code == 404
    r = client.post(
        url + "/end",
        json={
            "kind": "agreement",
            "ended_on": county_today().isoformat(),
            "reason": "协商解除",
            "document_id": world.doc,
        },
        headers=admin,
    )
    assert r.status_code == 200 and r.get_json()["ending"]["kind"] == "agreement"


def test_an_outsiders_id_number_is_masked_for_the_bureau(app, client, world):
    admin = headers(app, "admin_a")
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        notice = lf.make_document(world.a, "流转公告")
        db.session.commit()
    number = id_number(date(1975, 3, 3))
    r = client.post(
        "/api/v1/leases",
        json=body(
            world,
            lessee={"kind": "outside_person", "name": "外村王五", "id_number": number},
            priority_notice={
                "notice_document_id": notice,
                "notice_from": (county_today() - timedelta(days=30)).isoformat(),
            },
        ),
        headers=admin,
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["lessee"]["id_number"] == number
    seen = client.get(r.headers["Location"], headers=headers(app, "bureau")).get_json()
    assert seen["lessee"]["id_number_masked"] is True and seen["lessee"]["id_number"] != number


@pytest.mark.hostile
@pytest.mark.parametrize(
    "change",
    [
        {"rent_fen_per_mu_year": -1},
        {"rent_fen_per_mu_year": 10**30},
        {"rent_fen_per_mu_year": "600"},
        {"rent_fen_per_mu_year": 1.5},
        {"plot_uids": "all"},
        {"plot_uids": []},
        {"plot_uids": [2**40]},
        {"starts_on": "tomorrow"},
        {"use": "factory"},
        {"lessee": {"kind": "king"}},
        {"lessee": {"kind": "company", "name": "某公司", "uscc": "123"}},
        {"ends_on": "2099-01-01"},
        {"unexpected": 1},
        {"registration": "yes"},
    ],
)
def test_hostile_lease_bodies_are_refused_in_words(app, client, world, change):
    before = count()
    r = client.post("/api/v1/leases", json=body(world, **change), headers=headers(app, "admin_a"))
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["message"]
    assert count() == before


@pytest.mark.hostile
def test_hostile_payments_are_refused(app, client, world):
    admin = headers(app, "admin_a")
    url = client.post("/api/v1/leases", json=body(world), headers=admin).headers["Location"]
    for bad in (
        {"paid_on": county_today().isoformat(), "amount_fen": 10**20},
        {"paid_on": county_today().isoformat(), "amount_fen": "1"},
        {"paid_on": "2999-01-01", "amount_fen": 100},
        {"paid_on": county_today().isoformat(), "amount_fen": 0},
    ):
        r = client.post(url + "/payments", json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.get_json())


@pytest.mark.authz
def test_only_the_bureau_decides_a_review_and_a_farmer_cannot_record(app, client, world):
    admin = headers(app, "admin_a")
    url = client.post("/api/v1/leases", json=body(world), headers=admin).headers["Location"]
    decision = {"decision": "approve", "reason": "准予"}
    assert client.post(url + "/qualification", json=decision, headers=admin).status_code == 404
    r = client.post(url + "/qualification", json=decision, headers=headers(app, "bureau"))
    assert r.status_code == 422  # not waiting for a review
    farmer = headers(app, "farmer_a")
    assert client.post("/api/v1/leases", json=body(world), headers=farmer).status_code == 404
