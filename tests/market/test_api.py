"""The marketplace in /api/v1: listings, offers and transactions, as API clients use them.

Every answer is checked against the OpenAPI document by the test client (tests/api_contract.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.extensions import db
from app.market import approvals, offers
from app.market.models import Deal, Listing, Offer
from app.registry import history, land
from app.registry.models import LandContract
from tests.conftest import token_for
from tests.factories import people as pf
from tests.market import walk

API = "/api/v1"


def bearer(app, username: str, lang: str = "zh") -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}", "Accept-Language": lang}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def error(r) -> dict:
    return r.get_json()["error"]


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def cooling_off_over(listing_id: int) -> None:
    """Fifteen days pass: the listing's cooling-off period is over (its stored end is moved to
    today, as if the holder had declared fifteen days ago)."""
    with trail.acting(trail.AuditContext(actor="test-clock", role="system")):
        listing = db.session.get(Listing, listing_id)
        listing.cooling_off_ends_on = history.county_today()
        db.session.commit()


def test_r03_a_negotiated_transfer_through_the_api_to_registration(app, client, family, buyers):
    """The holder lists and declares, the wife's consent is witnessed, the collective publishes,
    a member household offers, the holder accepts after the cooling-off, the collective and the
    bureau approve, the contract and the payment are recorded: all through /api/v1."""
    holder, admin = bearer(app, "farmer_a"), bearer(app, "admin_a")
    buyer, bureau = bearer(app, "buyer_a"), bearer(app, "bureau")

    r = client.post(
        f"{API}/listings",
        headers=holder,
        json={
            "right_kind": "land_contract",
            "right_uid": family["contract"],
            "deal_kind": "transfer",
            "method": "negotiated",
            "asking_price_fen": 3_000_000,
            "description": "水田两亩，靠近水渠",
        },
    )
    assert r.status_code == 201, r.get_json()
    listing = r.get_json()
    lid = listing["listing_id"]
    assert r.headers["Location"].endswith(f"/listings/{lid}")
    assert (listing["state"], listing["asking_price_fen"]) == ("draft", 3_000_000)
    assert "15" in listing["statement"]  # what the holder reads before declaring

    r = client.post(f"{API}/listings/{lid}/declaration", headers=holder)
    assert r.status_code == 200, r.get_json()
    listing = r.get_json()
    assert listing["state"] == "awaiting_consent"
    assert listing["due_on"] == listing["cooling_off_ends_on"]
    consents = {c["person_uid"]: c for c in listing["consents"]}
    assert consents[family["head"]]["decision"] == "given"
    assert consents[family["head"]]["mode"] == "self"
    assert consents[family["wife"]]["decision"] == "pending"
    assert consents[family["wife"]]["name"] == "王秀英"

    # The wife has no account: her consent is witnessed at the office with the signed paper.
    r = client.post(
        f"{API}/listings/{lid}/consents/{family['wife']}",
        headers=admin,
        json={"give": True, "paper_document_id": family["paper"]},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "ready"
    wife = {c["person_uid"]: c for c in r.get_json()["consents"]}[family["wife"]]
    assert (wife["mode"], wife["witnessed_by"]) == ("witnessed", "admin_a")

    queue = client.get(f"{API}/listings/queue", headers=admin).get_json()
    assert lid in [x["listing_id"] for x in queue["items"]]

    r = client.post(f"{API}/listings/{lid}/publication", headers=admin)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "published"
    assert r.get_json()["notice_ends_on"] is not None

    # The member sees the published listing in the collective's market and offers.
    seen = client.get(f"{API}/listings", headers=buyer, query_string={"state": "published"})
    assert lid in [x["listing_id"] for x in seen.get_json()["items"]]
    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=buyer,
        json={"amount_fen": 2_950_000, "household_uid": buyers["member"]},
    )
    assert r.status_code == 201, r.get_json()
    offer = r.get_json()
    assert (offer["amount_fen"], offer["state"]) == (2_950_000, "active")
    assert offer["eligibility"]["rule"] == "R03"
    assert client.get(f"{API}/listings/{lid}", headers=buyer).get_json()["offer_count"] == 1

    # In the cooling-off period the holder cannot accept yet: said in Chinese, nothing written.
    r = client.post(f"{API}/offers/{offer['offer_id']}/acceptance", headers=holder)
    assert r.status_code == 422
    assert error(r)["code"] == "cooling_off" and "冷静期" in error(r)["message"]
    assert count(Deal) == 0

    cooling_off_over(lid)
    r = client.post(f"{API}/offers/{offer['offer_id']}/acceptance", headers=holder)
    assert r.status_code == 201, r.get_json()
    deal = r.get_json()
    tid = deal["transaction_id"]
    assert r.headers["Location"].endswith(f"/transactions/{tid}")
    assert (deal["state"], deal["price_fen"], deal["listing_id"]) == (
        "collective_consent",
        2_950_000,
        lid,
    )
    assert deal["buyer_household_uid"] == buyers["member"]
    assert deal["evidence"]["rule"] == "R03"  # the day-of-deal check, as an object (R15)
    assert deal["evidence"]["checked_on"] == history.county_today().isoformat()
    assert deal["contract"] is None and deal["payment"] is None
    detail = client.get(f"{API}/listings/{lid}", headers=holder).get_json()
    assert detail["transaction_id"] == tid

    # Both parties see the transaction; the collective and the bureau approve it.
    assert client.get(f"{API}/transactions/{tid}", headers=buyer).status_code == 200
    r = client.post(
        f"{API}/transactions/{tid}/collective-consent", headers=admin, json={"approve": True}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "bureau_review"
    bureau_queue = client.get(f"{API}/listings/queue", headers=bureau).get_json()
    assert lid in [x["listing_id"] for x in bureau_queue["items"]]
    r = client.post(
        f"{API}/transactions/{tid}/bureau-review",
        headers=bureau,
        json={"approve": True, "reason": "材料齐全"},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "contracting"

    today = history.county_today().isoformat()
    r = client.post(
        f"{API}/transactions/{tid}/contract",
        headers=admin,
        json={
            "signed_on": today,
            "contract_document_id": family["paper"],
            "payment_terms": "签约后三日内一次性付清",
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["contract"] == {
        "signed_on": today,
        "document_id": family["paper"],
        "payment_terms": "签约后三日内一次性付清",
    }
    r = client.post(
        f"{API}/transactions/{tid}/payment",
        headers=admin,
        json={"how": "confirmed", "reference": "BANK-2026-001", "paid_on": today},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["payment"]["how"] == "confirmed"
    assert r.get_json()["payment"]["reference"] == "BANK-2026-001"

    # Once the contract is signed the holder can no longer withdraw.
    r = client.post(f"{API}/listings/{lid}/withdrawal", headers=holder)
    assert r.status_code == 422
    assert error(r)["code"] == "contract_signed" and has_chinese(error(r)["message"])

    # Not registered yet: no attestation.
    r = client.get(f"{API}/transactions/{tid}/attestation", headers=holder)
    assert r.status_code == 422 and error(r)["code"] == "not_registered"

    # Registration: the right changes hands in the registry; running it again changes nothing.
    r = client.post(f"{API}/transactions/{tid}/registration", headers=admin)
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert (done["state"], done["registered_on"]) == ("completed", today)
    assert done["attestation_number"].startswith("JZ")
    assert done["registration"]["ended"][0]["uid"] == family["contract"]
    assert history.current_of(LandContract, family["contract"]) is None
    bought = land.contract_of_household(buyers["member"])
    assert bought is not None and bought.valid_from.isoformat() == today
    versions = len(history.versions(LandContract, family["contract"]))
    again = client.post(f"{API}/transactions/{tid}/registration", headers=admin)
    assert again.status_code == 200
    assert again.get_json()["attestation_number"] == done["attestation_number"]
    assert len(history.versions(LandContract, family["contract"])) == versions

    paper = client.get(f"{API}/transactions/{tid}/attestation", headers=buyer).get_json()
    assert paper["number"] == done["attestation_number"]
    assert paper["price"] == "29,500.00"
    assert "李家" in paper["seller"] and "赵大" in paper["buyer"]

    steps = client.get(f"{API}/listings/{lid}", headers=admin).get_json()["steps"]
    assert [s["to_state"] for s in steps] == [
        "awaiting_consent",
        "ready",
        "published",
        "collective_consent",
        "bureau_review",
        "contracting",
        "completed",
    ]
    mine = client.get(f"{API}/transactions", headers=holder).get_json()["items"]
    assert [t["transaction_id"] for t in mine] == [tid]


def test_r15_an_outsiders_offer_is_refused_in_chinese(app, client, family, buyers):
    """Staff record an offer of a household of collective B: refused in plain Chinese, named by
    field, no rule id in the words, nothing written. The outsider's own farmer does not even
    see the listing."""
    lid = walk.published(family)
    before = count(Offer)
    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=bearer(app, "admin_a"),
        json={"amount_fen": 2_000_000, "household_uid": buyers["outsider"]},
    )
    assert r.status_code == 422
    err = error(r)
    assert err["field"] == "household_uid"
    assert (
        err["message"] == "只有本集体经济组织的成员户才能受让这项权利：受让方在当日不在成员名册上。"
    )
    assert "R15" not in err["message"] and "not_a_member" not in err["message"]
    assert count(Offer) == before

    r = client.post(
        f"{API}/listings/{lid}/offers",
        headers=bearer(app, "farmer_b"),
        json={"amount_fen": 2_000_000, "household_uid": buyers["outsider"]},
    )
    assert r.status_code == 404
    assert count(Offer) == before


@pytest.mark.authz
def test_another_collectives_listing_offers_and_transaction_are_404(app, client, family, buyers):
    """admin_b (collective B) gets a 404 on collective A's listing, its offers, its offer's
    acceptance and its transaction, whatever the body says; B's lists show none of it."""
    lid = walk.accepted(family, buyers)
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    deal_id, offer_id = deal.id, deal.offer_id
    other = bearer(app, "admin_b")
    gets = [
        f"{API}/listings/{lid}",
        f"{API}/listings/{lid}/offers",
        f"{API}/transactions/{deal_id}",
    ]
    for url in gets:
        r = client.get(url, headers=other)
        assert r.status_code == 404, url
        assert "listing" not in error(r)["message"].lower()
    posts = {
        f"{API}/listings/{lid}/declaration": {},
        f"{API}/listings/{lid}/consents/{family['wife']}": {"give": True},
        f"{API}/listings/{lid}/publication": None,
        f"{API}/listings/{lid}/withdrawal": None,
        f"{API}/listings/{lid}/rejection": {"reason": "不符合条件"},
        f"{API}/listings/{lid}/offers": {"amount_fen": 1, "household_uid": buyers["outsider"]},
        f"{API}/offers/{offer_id}/acceptance": None,
        f"{API}/transactions/{deal_id}/collective-consent": {"approve": False, "reason": "x"},
        f"{API}/transactions/{deal_id}/township-approval": {"approve": True},
        f"{API}/transactions/{deal_id}/contract": {"bogus": "body"},
        f"{API}/transactions/{deal_id}/payment": "not an object",
    }
    for url, body in posts.items():
        r = client.post(url, headers=other, json=body)
        assert r.status_code == 404, (url, r.status_code, r.get_json())
    for url in (f"{API}/listings", f"{API}/transactions", f"{API}/listings/queue"):
        items = client.get(url, headers=other).get_json()["items"]
        assert items == [], url
    assert db.session.get(Listing, lid).state == "collective_consent"
    assert db.session.get(Deal, deal_id).contract_signed_on is None


@pytest.mark.authz
def test_a_member_sees_only_their_own_offer(app, client, family, buyers):
    """On a negotiated listing the holder, staff and the bureau see every offer; a member sees
    only their household's, and not who consented nor a transaction they are no party to."""
    lid = walk.published(family)
    _head, sun = pf.household(family_collective(lid), "孙家")
    sun_uid = sun.uid
    admin = bearer(app, "admin_a")
    own = client.post(
        f"{API}/listings/{lid}/offers",
        headers=bearer(app, "buyer_a"),
        json={"amount_fen": 2_800_000, "household_uid": buyers["member"]},
    ).get_json()
    theirs = client.post(
        f"{API}/listings/{lid}/offers",
        headers=admin,
        json={"amount_fen": 3_100_000, "household_uid": sun_uid},
    ).get_json()

    def offer_ids(username: str) -> list[int]:
        r = client.get(f"{API}/listings/{lid}/offers", headers=bearer(app, username))
        assert r.status_code == 200, r.get_json()
        return [o["offer_id"] for o in r.get_json()["items"]]

    both = [own["offer_id"], theirs["offer_id"]]
    assert offer_ids("buyer_a") == [own["offer_id"]]
    assert offer_ids("farmer_a") == both
    assert offer_ids("admin_a") == both
    assert offer_ids("bureau") == both

    member = bearer(app, "buyer_a")
    detail = client.get(f"{API}/listings/{lid}", headers=member).get_json()
    assert detail["consents"] == []  # who consented is the family's and the staff's business
    assert client.get(f"{API}/listings/{lid}", headers=bearer(app, "farmer_a")).get_json()[
        "consents"
    ]
    # Another member's offer cannot be accepted by a member (not theirs to see: 404).
    r = client.post(f"{API}/offers/{theirs['offer_id']}/acceptance", headers=member)
    assert r.status_code == 404

    # 孙家's offer is accepted: 赵家 (buyer_a) is no party to the transaction.
    deal_day = db.session.get(Listing, lid).cooling_off_ends_on
    with trail.acting(trail.AuditContext(actor="farmer_a", role="farmer")):
        accepted = offers.accept_offer(
            lid, theirs["offer_id"], walk.user("farmer_a"), today=deal_day
        )
        deal_id = accepted.id
    assert client.get(f"{API}/transactions/{deal_id}", headers=member).status_code == 404
    assert client.get(f"{API}/transactions", headers=member).get_json()["items"] == []
    assert client.get(f"{API}/transactions/{deal_id}", headers=admin).status_code == 200


def family_collective(listing_id: int) -> int:
    return db.session.get(Listing, listing_id).collective_id


@pytest.mark.hostile
@pytest.mark.parametrize(
    "change, field",
    [
        ({"price": 1}, "price"),
        ({"asking_price_fen": "3000000"}, "asking_price_fen"),
        ({"asking_price_fen": 3000000.5}, "asking_price_fen"),
        ({"asking_price_fen": 3000000.0}, "asking_price_fen"),
        ({"asking_price_fen": -1}, "asking_price_fen"),
        ({"asking_price_fen": 0}, "asking_price_fen"),
        ({"asking_price_fen": 10**15}, "asking_price_fen"),
        ({"asking_price_fen": 10**18}, "asking_price_fen"),
        ({"right_uid": "12"}, "right_uid"),
        ({"plot_uids": "1,2"}, "plot_uids"),
        ({"method": "auction"}, "method"),
    ],
)
def test_hostile_listing_bodies_are_422_by_field_and_write_nothing(
    app, client, family, change, field
):
    body = {
        "right_kind": "land_contract",
        "right_uid": family["contract"],
        "deal_kind": "transfer",
        "method": "negotiated",
        "asking_price_fen": 3_000_000,
        **change,
    }
    before = count(Listing)
    r = client.post(f"{API}/listings", headers=bearer(app, "farmer_a"), json=body)
    assert r.status_code == 422, r.get_json()
    assert error(r)["field"] == field
    assert has_chinese(error(r)["message"])
    assert count(Listing) == before


@pytest.mark.hostile
@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount_fen": 2_000_000, "household_uid": 1, "note": "x"}, "note"),
        ({"amount_fen": "2000000"}, "amount_fen"),
        ({"amount_fen": 2_000_000.25}, "amount_fen"),
        ({"amount_fen": -100}, "amount_fen"),
        ({"amount_fen": 10**16}, "amount_fen"),
        ({"amount_fen": 2**60}, "amount_fen"),
        ({"amount_fen": True}, "amount_fen"),
        ({"amount_fen": 2_000_000, "household_uid": "7"}, "household_uid"),
        ({"amount_fen": 2_000_000, "household_uid": 2**40}, "household_uid"),
        ({}, "amount_fen"),
    ],
)
def test_hostile_offer_bodies_are_422_by_field_and_write_nothing(
    app, client, family, buyers, body, field
):
    lid = walk.published(family)
    before = count(Offer)
    r = client.post(f"{API}/listings/{lid}/offers", headers=bearer(app, "buyer_a"), json=body)
    assert r.status_code == 422, r.get_json()
    assert error(r)["field"] == field
    assert count(Offer) == before


@pytest.mark.hostile
def test_hostile_transaction_bodies_are_422_and_change_nothing(app, client, family, buyers):
    lid = walk.approved(family, buyers)
    deal_id = db.session.scalar(select(Deal.id).where(Deal.listing_id == lid))
    admin = bearer(app, "admin_a")
    for body, field in [
        ({"signed_on": "yesterday", "contract_document_id": 1, "payment_terms": "x"}, "signed_on"),
        ({"signed_on": "2026-01-01", "contract_document_id": 1.0, "payment_terms": "x"}, None),
        ({"signed_on": "2026-01-01", "contract_document_id": 1}, "payment_terms"),
    ]:
        r = client.post(f"{API}/transactions/{deal_id}/contract", headers=admin, json=body)
        assert r.status_code == 422, r.get_json()
        if field:
            assert error(r)["field"] == field
    r = client.post(
        f"{API}/transactions/{deal_id}/payment",
        headers=admin,
        json={"how": "cash", "reference": "x", "paid_on": "2026-01-01"},
    )
    assert r.status_code == 422 and error(r)["field"] == "how"
    r = client.post(
        f"{API}/transactions/{deal_id}/bureau-review",
        headers=bearer(app, "bureau"),
        json={"approve": "yes"},
    )
    assert r.status_code == 422 and error(r)["field"] == "approve"
    db.session.expire_all()
    assert db.session.get(Deal, deal_id).contract_signed_on is None
    assert db.session.get(Listing, lid).state == "contracting"


def test_rejection_and_withdrawal_free_the_right(app, client, family):
    """The collective rejects a ready listing with a reason (none: refused in Chinese); the
    right is free and the holder lists it again and withdraws it without a reason."""
    lid = walk.ready(family)
    admin, holder = bearer(app, "admin_a"), bearer(app, "farmer_a")
    r = client.post(f"{API}/listings/{lid}/rejection", headers=admin, json={"reason": "  "})
    assert r.status_code == 422 and error(r)["field"] == "reason"
    assert has_chinese(error(r)["message"])
    r = client.post(
        f"{API}/listings/{lid}/rejection", headers=admin, json={"reason": "权属材料不全"}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "rejected"
    assert r.get_json()["steps"][-1]["reason"] == "权属材料不全"

    again = {
        "right_kind": "land_contract",
        "right_uid": family["contract"],
        "deal_kind": "transfer",
        "method": "negotiated",
    }
    r = client.post(f"{API}/listings", headers=holder, json=again)
    assert r.status_code == 201, r.get_json()
    second = r.get_json()["listing_id"]
    r = client.post(f"{API}/listings", headers=holder, json=again)
    assert r.status_code == 422 and error(r)["code"] == "listing_open"
    r = client.post(f"{API}/listings/{second}/withdrawal", headers=holder)
    assert r.status_code == 200 and r.get_json()["state"] == "withdrawn"
    mine = client.get(f"{API}/listings", headers=holder, query_string={"mine": "true"})
    states = {x["listing_id"]: x["state"] for x in mine.get_json()["items"]}
    assert states == {lid: "rejected", second: "withdrawn"}


def test_lists_are_paged_and_filtered(app, client, family, buyers):
    lid = walk.ready(family)
    approvals.collective_consent(lid, walk.user("admin_a"), approve=False, reason="重新挂牌")
    second = walk.draft(family)
    admin = bearer(app, "admin_a")
    page = client.get(f"{API}/listings", headers=admin, query_string={"limit": 1}).get_json()
    assert [x["listing_id"] for x in page["items"]] == [second]
    assert page["next"] == str(second)
    rest = client.get(
        f"{API}/listings", headers=admin, query_string={"limit": 1, "cursor": page["next"]}
    ).get_json()
    assert [x["listing_id"] for x in rest["items"]] == [lid]
    drafts = client.get(f"{API}/listings", headers=admin, query_string={"state": "draft"})
    assert [x["listing_id"] for x in drafts.get_json()["items"]] == [second]
    r = client.get(f"{API}/listings", headers=admin, query_string={"state": "sold"})
    assert r.status_code == 422 and error(r)["field"] == "state"
    # A neighbour's draft does not exist for another member.
    assert client.get(f"{API}/listings/{second}", headers=bearer(app, "buyer_a")).status_code == 404


def test_r13_staff_declare_only_as_witnessed_with_the_paper_form(app, client, family):
    """Staff may record the holder's declaration only as witnessed in person: without the
    signed paper form it is refused, named by the body's field, in Chinese."""
    lid = walk.draft(family)
    admin = bearer(app, "admin_a")
    r = client.post(
        f"{API}/listings/{lid}/declaration", headers=admin, json={"person_uid": family["head"]}
    )
    assert r.status_code == 422
    assert error(r)["field"] == "paper_document_id" and has_chinese(error(r)["message"])
    assert db.session.get(Listing, lid).state == "draft"
    r = client.post(
        f"{API}/listings/{lid}/declaration",
        headers=admin,
        json={"person_uid": family["head"], "paper_document_id": family["paper"]},
    )
    assert r.status_code == 200, r.get_json()
    head = {c["person_uid"]: c for c in r.get_json()["consents"]}[family["head"]]
    assert (head["mode"], head["paper_document_id"]) == ("witnessed", family["paper"])


def test_r14_a_flagged_transaction_needs_the_reviewers_decision(
    app, client, family, buyers, monkeypatch
):
    """A flag (the settlement package's, here a stand-in) shows on the transaction; the bureau
    cannot approve without a reasoned decision and whether the holder was interviewed."""
    monkeypatch.setattr(approvals, "FLAGGERS", [lambda listing, deal: ["落户日期与声明相隔30天"]])
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, walk.user("admin_a"), approve=True)
    deal_id = db.session.scalar(select(Deal.id).where(Deal.listing_id == lid))
    bureau = bearer(app, "bureau")
    shown = client.get(f"{API}/transactions/{deal_id}", headers=bureau).get_json()
    assert shown["flags"] == ["落户日期与声明相隔30天"]
    url = f"{API}/transactions/{deal_id}/bureau-review"
    r = client.post(url, headers=bureau, json={"approve": True, "reason": "材料齐全"})
    assert r.status_code == 422 and error(r)["field"] == "flag_decision"
    assert has_chinese(error(r)["message"])
    r = client.post(
        url,
        headers=bureau,
        json={
            "approve": True,
            "reason": "材料齐全",
            "flag_decision": "当面核实：出让与落户无关",
            "interviewed": True,
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "contracting"
    steps = client.get(f"{API}/listings/{lid}", headers=bureau).get_json()["steps"]
    assert "当面核实：出让与落户无关" in steps[-1]["reason"]
    (review,) = client.get(f"{API}/transactions/{deal_id}", headers=bureau).get_json()[
        "flag_reviews"
    ]
    assert review["flags"] == ["落户日期与声明相隔30天"]
    assert (review["approved"], review["interviewed"], review["reviewer"]) == (True, True, "bureau")
    assert review["decision"] == "当面核实：出让与落户无关"


def test_r06_a_paid_exit_through_the_api(app, client, family):
    """A paid exit of the contract: the holder declares, the wife consents, and after the
    cooling-off the collective records the members' resolution with the price, the written
    notice and the improvements; a vote that did not pass and a float for fen are refused."""
    holder, admin = bearer(app, "farmer_a"), bearer(app, "admin_a")
    r = client.post(
        f"{API}/listings",
        headers=holder,
        json={
            "right_kind": "land_contract",
            "right_uid": family["contract"],
            "deal_kind": "paid_exit",
            "method": "resolution",
        },
    )
    assert r.status_code == 201, r.get_json()
    lid = r.get_json()["listing_id"]
    assert "不再" in r.get_json()["statement"] or "no new" in r.get_json()["statement"]
    assert client.post(f"{API}/listings/{lid}/declaration", headers=holder).status_code == 200
    r = client.post(
        f"{API}/listings/{lid}/consents/{family['wife']}",
        headers=admin,
        json={"give": True, "paper_document_id": family["paper"]},
    )
    assert r.get_json()["state"] == "ready"
    notice = (history.county_today() - timedelta(days=200)).isoformat()
    body = {
        "price_fen": 1_200_000,
        "resolution_document_id": family["doc"],
        "votes_for": 30,
        "votes_cast": 40,
        "notice_given_on": notice,
        "improvements_fen": 200_000,
    }
    url = f"{API}/listings/{lid}/exit-resolution"
    r = client.post(url, headers=admin, json=body)
    assert r.status_code == 422 and error(r)["code"] == "cooling_off"

    cooling_off_over(lid)
    for bad, field in [
        ({"price_fen": 1_200_000.0}, "price_fen"),
        ({"improvements_fen": -1}, "improvements_fen"),
        ({"votes_for": "30"}, "votes_for"),
    ]:
        r = client.post(url, headers=admin, json={**body, **bad})
        assert r.status_code == 422, r.get_json()
        assert error(r)["field"] == field and has_chinese(error(r)["message"])
    r = client.post(url, headers=admin, json={**body, "votes_for": 20})  # not more than half
    assert r.status_code == 422 and error(r)["code"] == "resolution_not_passed"
    assert count(Deal) == 0

    r = client.post(url, headers=admin, json=body)
    assert r.status_code == 201, r.get_json()
    deal = r.get_json()
    assert r.headers["Location"].endswith(f"/transactions/{deal['transaction_id']}")
    assert deal["state"] == "collective_consent"
    assert (deal["price_fen"], deal["improvements_fen"]) == (1_200_000, 200_000)
    assert (deal["votes_for"], deal["votes_cast"], deal["notice_given_on"]) == (30, 40, notice)
    assert deal["buyer_household_uid"] is None and deal["offer_id"] is None
    assert deal["evidence"]["votes_for"] == 30
    # The holder follows the transaction too.
    r = client.get(f"{API}/transactions/{deal['transaction_id']}", headers=holder)
    assert r.status_code == 200


def test_open_bidding_through_the_api(app, client, family, buyers):
    """A bidding listing with a deposit: a bid without the deposit's reference and a bid below
    the step are refused by field; closing before the deadline is refused; after it, the
    highest bid's household is the buyer."""
    from datetime import UTC, datetime

    admin, member = bearer(app, "admin_a"), bearer(app, "buyer_a")
    deadline = datetime.now(UTC) + timedelta(days=30)
    with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
        lid = walk.ready(
            family,
            method="bidding",
            bid_deadline=deadline,
            bid_step_fen=50_000,
            deposit_fen=100_000,
        )
        db.session.commit()
    assert client.post(f"{API}/listings/{lid}/publication", headers=admin).status_code == 200
    url = f"{API}/listings/{lid}/offers"
    bid = {"amount_fen": 3_000_000, "household_uid": buyers["member"]}
    r = client.post(url, headers=member, json=bid)
    assert r.status_code == 422 and error(r)["field"] == "deposit_reference", r.get_json()
    r = client.post(url, headers=member, json={**bid, "deposit_reference": "BZJ-001"})
    assert r.status_code == 201 and r.get_json()["deposit_state"] == "held", r.get_json()
    r = client.post(url, headers=member, json={**bid, "amount_fen": 3_010_000})
    assert r.status_code == 422 and error(r)["code"] == "bid_too_low"
    r = client.post(f"{API}/listings/{lid}/bidding-close", headers=admin)
    assert r.status_code == 422
    with trail.acting(trail.AuditContext(actor="test-clock", role="system")):
        listing = db.session.get(Listing, lid)
        listing.bid_deadline = datetime(2020, 1, 1)  # the deadline has passed
        listing.cooling_off_ends_on = history.county_today()
        db.session.commit()
    r = client.post(f"{API}/listings/{lid}/bidding-close", headers=admin)
    assert r.status_code == 200 and r.get_json()["state"] == "collective_consent", r.get_json()
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    assert (deal.buyer_household_uid, deal.price_fen) == (buyers["member"], 3_000_000)
