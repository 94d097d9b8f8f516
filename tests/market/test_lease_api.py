"""Leases through the marketplace in /api/v1 (R05): a lease listing's terms, an outsider's offer
recorded by staff, the holder's choice, the members' priority, a member's match, the outsider's
confirmation. Every answer is checked against the OpenAPI document (tests/api_contract.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit import trail
from app.core.calendar import county_today
from app.extensions import db
from app.market.models import Listing, MembersPriority
from tests.market import walk
from tests.market.test_api import API, bearer, cooling_off_over, error, has_chinese

START = county_today() + timedelta(days=40)
END = START.replace(year=START.year + 6)
TERMS = {"starts_on": START.isoformat(), "ends_on": END.isoformat(), "use": "grain"}
COMPANY = {"kind": "company", "name": "始兴绿源农业有限公司", "uscc": "91440222MA4W8PT07N"}
PERSON = {"kind": "outside_person", "name": "周外村", "id_number": "11010519491231002X"}


def lease_listing(client, app, family) -> int:
    holder = bearer(app, "farmer_a")
    r = client.post(
        f"{API}/listings",
        headers=holder,
        json={
            "right_kind": "land_contract",
            "right_uid": family["contract"],
            "deal_kind": "lease",
            "method": "negotiated",
            "plot_uids": [family["plots"][0]],
            "lease": {
                "method": "lease",
                "use": "grain",
                "starts_on": START.isoformat(),
                "ends_on": END.isoformat(),
                "rent_fen_per_mu_year": 80_000,
                "payment_schedule": "annual",
            },
        },
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["lease"]["rent_fen_per_mu_year"] == 80_000
    assert body["lease"]["priority_ends_on"] is None
    assert "承包" in body["statement"]  # the words say the contract stays theirs
    lid = body["listing_id"]
    r = client.post(f"{API}/listings/{lid}/declaration", headers=holder)
    assert r.status_code == 200, r.get_json()
    r = client.post(
        f"{API}/listings/{lid}/consents/{family['wife']}",
        headers=bearer(app, "admin_a"),
        json={"give": True, "paper_document_id": family["paper"]},
    )
    assert r.status_code == 200, r.get_json()
    r = client.post(f"{API}/listings/{lid}/publication", headers=bearer(app, "admin_a"))
    assert r.status_code == 200, r.get_json()
    return lid


def test_r05_members_priority_through_the_api(app, client, family, buyers):
    admin, holder, buyer = bearer(app, "admin_a"), bearer(app, "farmer_a"), bearer(app, "buyer_a")
    lid = lease_listing(client, app, family)
    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=admin,
        json={"amount_fen": 90_000, "terms": TERMS, "lessee": PERSON},
    )
    assert r.status_code == 201, r.get_json()
    offer = r.get_json()
    assert offer["lease"]["lessee_id_number"] == PERSON["id_number"]  # staff see it whole
    r = client.get(f"{API}/listings/{lid}/offers", headers=holder)
    seen = r.get_json()["items"][0]["lease"]["lessee_id_number"]
    assert seen != PERSON["id_number"] and seen.endswith("002X")  # the holder sees it masked
    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=holder,
        json={"amount_fen": 90_000, "terms": TERMS, "lessee": COMPANY},
    )
    assert r.status_code == 422 and error(r)["code"] == "outsider_by_staff"
    cooling_off_over(lid)
    r = client.post(f"{API}/offers/{offer['offer_id']}/acceptance", headers=holder)
    assert r.status_code == 422 and has_chinese(error(r)["message"])
    r = client.post(f"{API}/offers/{offer['offer_id']}/choice", headers=holder)
    assert r.status_code == 200, r.get_json()
    listing = r.get_json()
    assert listing["state"] == "members_priority"
    assert listing["lease"]["priority_ends_on"]
    assert listing["priority"]["offered"]["rent_fen_per_mu_year"] == 90_000

    match = {"household_uid": buyers["member"], "rent_fen_per_mu_year": 89_000, "terms": TERMS}
    r = client.post(f"{API}/listings/{lid}/priority-match", headers=buyer, json=match)
    assert r.status_code == 422
    assert error(r)["code"] == "no_match" and has_chinese(error(r)["message"])
    r = client.post(
        f"{API}/listings/{lid}/priority-match",
        headers=buyer,
        json={**match, "rent_fen_per_mu_year": 90_000},
    )
    assert r.status_code == 201, r.get_json()
    deal = r.get_json()
    assert (deal["buyer_household_uid"], deal["state"]) == (buyers["member"], "collective_consent")
    assert deal["evidence"]["priority"]["decision"] == "member_matched"


def test_r05_the_outsider_is_confirmed_through_the_api_after_the_period(
    app, client, family, buyers
):
    admin, holder = bearer(app, "admin_a"), bearer(app, "farmer_a")
    lid = lease_listing(client, app, family)
    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=admin,
        json={"amount_fen": 90_000, "terms": TERMS, "lessee": COMPANY},
    )
    offer_id = r.get_json()["offer_id"]
    cooling_off_over(lid)
    assert client.post(f"{API}/offers/{offer_id}/choice", headers=holder).status_code == 200
    r = client.post(f"{API}/listings/{lid}/outsider-confirmation", headers=admin)
    assert r.status_code == 422 and error(r)["code"] == "priority_running"
    with trail.acting(trail.AuditContext(actor="test-clock", role="system")):
        yesterday = county_today() - timedelta(days=1)
        db.session.get(Listing, lid).priority_ends_on = yesterday
        record = db.session.scalar(select(MembersPriority).where(MembersPriority.listing_id == lid))
        record.ends_on = yesterday
        db.session.commit()
    r = client.post(f"{API}/listings/{lid}/outsider-confirmation", headers=admin)
    assert r.status_code == 201, r.get_json()
    deal = r.get_json()
    assert deal["buyer_household_uid"] is None and deal["offer_id"] == offer_id
    assert deal["evidence"]["priority"]["decision"] == "outsider_confirmed"


def test_r15_the_api_refuses_an_outsiders_offer_on_a_transfer(app, client, family, buyers):
    lid = walk.published(family)
    db.session.commit()
    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=bearer(app, "admin_a"),
        json={"amount_fen": 3_000_000, "terms": TERMS, "lessee": COMPANY},
    )
    assert r.status_code == 422
    assert error(r)["code"] == "outsider_not_allowed" and has_chinese(error(r)["message"])
