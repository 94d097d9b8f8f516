"""Registration: the deal changes the registry in one transaction (issue 12 §7, "Done when")."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.services import verify_database
from app.core.errors import DomainError
from app.extensions import db
from app.market import approvals, exits, listings, registration
from app.registry import certificates, history, land
from app.registry.history import county_today
from app.registry.models import Certificate, LandContract, LandReturn, Plot
from tests.market import walk


def _certify(contract_uid: int) -> Certificate:
    return certificates.issue_certificate(
        "land_contract", contract_uid, issued_on=date(2026, 1, 20), reason="确权颁证"
    )


def _valid_certificates(right_uid: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate).where(
                Certificate.right_uid == right_uid, Certificate.status == "valid"
            )
        )
    )


def test_r03_registration_ends_the_sellers_contract_and_begins_the_buyers(family, buyers):
    """The whole contract to 赵家 (no contract of its own): on the registration day the seller's
    contract ends and its certificate is cancelled; the buyer's new contract (confirmed, for the
    rest of the seller's term) begins with the plots and its own certificate; escrow is released;
    the attestation has its number; the audit chain verifies."""
    old_certificate = _certify(family["contract"])
    lid = walk.contracted(family, buyers, payment="escrow")
    deal = registration.register(lid, walk.user("admin_a"))
    today = county_today()

    assert listings._listing(lid).state == "completed"
    assert deal.registered_on == today
    assert deal.attestation_number.startswith("JZ") and str(today.year) in deal.attestation_number
    assert deal.escrow_released_at is not None

    seller_versions = history.versions(LandContract, family["contract"])
    assert seller_versions[-1].end_lifespan is not None
    assert seller_versions[-1].valid_to == today
    assert history.current_of(LandContract, family["contract"]) is None

    bought = land.contract_of_household(buyers["member"])
    assert bought is not None and bought.status == "confirmed"
    assert bought.valid_from == today and bought.version == 1
    seller_term = seller_versions[-1].term_end
    assert (bought.term_start, bought.term_end) == (today, seller_term)
    for uid in family["plots"]:
        plot = history.current_of(Plot, uid)
        assert plot.contract_uid == bought.uid and plot.household_uid == buyers["member"]
        assert plot.valid_from == today

    db.session.refresh(old_certificate)
    assert old_certificate.status == "cancelled"
    issued = _valid_certificates(bought.uid)
    assert len(issued) == 1 and issued[0].number == bought.cbhtbm

    done = json.loads(deal.registration)
    assert {"kind": "land_contract", "uid": family["contract"]} == {
        k: done["ended"][0][k] for k in ("kind", "uid")
    }
    assert done["eligibility"]["rule"] == "R03"
    assert [s.action for s in listings.steps_of(lid)][-1] == "register"
    count, problem = verify_database()
    assert problem is None and count > 0


def test_registration_is_safe_to_retry(family, buyers):
    """A second call returns the registered deal and writes nothing more."""
    lid = walk.contracted(family, buyers)
    first = registration.register(lid, walk.user("admin_a"))
    bought = land.contract_of_household(buyers["member"])
    versions = len(history.versions(LandContract, bought.uid))
    again = registration.register(lid, walk.user("admin_a"))
    assert again.id == first.id and again.attestation_number == first.attestation_number
    assert len(history.versions(LandContract, bought.uid)) == versions
    assert [s.action for s in listings.steps_of(lid)].count("register") == 1


def test_registration_waits_for_contract_and_payment(family, buyers):
    lid = walk.approved(family, buyers)
    with pytest.raises(DomainError) as refused:
        registration.register(lid, walk.user("admin_a"))
    assert refused.value.code == "contract_first"
    assert history.current_of(LandContract, family["contract"]) is not None


def test_r03_part_of_a_contract_moves_and_the_sellers_certificate_is_replaced(family, buyers):
    """One of the two plots is listed: the seller keeps the other, his certificate is replaced
    to show what he now holds; the buyer's contract gets the one plot."""
    _certify(family["contract"])
    sold, kept = family["plots"]
    lid = walk.ready(family, plot_uids=[sold])
    listings.publish(lid, walk.user("admin_a"))
    from app.market import offers

    offer = offers.make_offer(
        lid, walk.user("admin_a"), amount_fen=1_500_000, household_uid=buyers["member"]
    )
    offers.accept_offer(
        lid, offer.id, walk.user("farmer_a"), today=listings._listing(lid).cooling_off_ends_on
    )
    approvals.collective_consent(lid, walk.user("admin_a"), approve=True)
    approvals.bureau_review(lid, walk.user("bureau"), approve=True, reason="材料齐全")
    today = county_today()
    approvals.record_contract(
        lid,
        walk.user("admin_a"),
        signed_on=today,
        contract_document_id=family["paper"],
        payment_terms="一次性付清",
    )
    approvals.record_payment(
        lid, walk.user("admin_a"), how="confirmed", reference="B-2", paid_on=today
    )
    registration.register(lid, walk.user("admin_a"))

    seller = history.current_of(LandContract, family["contract"])
    assert seller is not None
    assert history.current_of(Plot, kept).contract_uid == seller.uid
    bought = land.contract_of_household(buyers["member"])
    assert history.current_of(Plot, sold).contract_uid == bought.uid
    [valid] = _valid_certificates(family["contract"])
    assert valid.issue_kind == "replace"
    shown = json.dumps(json.loads(valid.snapshot), ensure_ascii=False)
    assert history.current_of(Plot, kept).dkbm in shown
    assert history.current_of(Plot, sold).dkbm not in shown
    assert len(_valid_certificates(bought.uid)) == 1


# --- paid exit of contracted land (R06)


def _exit_ready(family, **kw) -> int:
    return walk.ready(family, deal_kind="paid_exit", method="resolution", **kw)


def _resolution(family, lid, *, notice_given_on: date, votes=(30, 40)):
    return exits.record_exit_resolution(
        lid,
        walk.user("admin_a"),
        price_fen=4_000_000,
        improvements_fen=500_000,
        resolution_document_id=family["paper"],
        votes_for=votes[0],
        votes_cast=votes[1],
        notice_given_on=notice_given_on,
        today=listings._listing(lid).cooling_off_ends_on,
    )


def _to_contracting(family, lid):
    approvals.collective_consent(lid, walk.user("admin_a"), approve=True)
    approvals.bureau_review(lid, walk.user("bureau"), approve=True, reason="补偿合理")
    today = county_today()
    approvals.record_contract(
        lid,
        walk.user("admin_a"),
        signed_on=today,
        contract_document_id=family["paper"],
        payment_terms="一次性付清",
    )
    approvals.record_payment(
        lid, walk.user("admin_a"), how="confirmed", reference="B-3", paid_on=today
    )


def test_r06_land_is_returned_only_six_months_after_written_notice(family):
    lid = _exit_ready(family)
    _resolution(family, lid, notice_given_on=county_today() - timedelta(days=60))
    _to_contracting(family, lid)
    with pytest.raises(DomainError) as refused:
        registration.register(lid, walk.user("admin_a"))
    assert refused.value.code == "notice_too_short"
    assert "六个月" in refused.value.message or "six months" in refused.value.message
    assert history.current_of(LandContract, family["contract"]) is not None


def test_r06_after_a_paid_exit_the_household_gets_no_new_land_in_the_term(family):
    """The whole contract goes back to the collective; its plots are the collective's again;
    the return is recorded; a new contract for the household in the same term is refused in
    plain words, and so is giving one of the collective's plots to its contract."""
    lid = _exit_ready(family)
    deal = _resolution(family, lid, notice_given_on=county_today() - timedelta(days=200))
    assert deal.price_fen == 4_000_000 and deal.improvements_fen == 500_000
    assert (deal.votes_for, deal.votes_cast) == (30, 40)
    _to_contracting(family, lid)
    registration.register(lid, walk.user("admin_a"))

    assert history.current_of(LandContract, family["contract"]) is None
    for uid in family["plots"]:
        assert history.current_of(Plot, uid).contract_uid is None
    returned = db.session.scalar(
        select(LandReturn).where(LandReturn.household_uid == family["household"])
    )
    assert returned is not None and sorted(json.loads(returned.plot_uids)) == sorted(
        family["plots"]
    )
    with pytest.raises(DomainError) as refused:
        land.create_contract(
            family["household"],
            county_today(),
            returned.term_end,
            source_document_id=family["doc"],
            reason="重新发包",
        )
    assert refused.value.code == "returned_in_term" and refused.value.rule == "R06"


def test_r06_a_resolution_that_did_not_pass_is_refused(family):
    lid = _exit_ready(family)
    with pytest.raises(DomainError) as refused:
        _resolution(family, lid, notice_given_on=county_today(), votes=(20, 40))
    assert refused.value.code == "resolution_not_passed"
    assert listings._listing(lid).state == "ready"


# --- homesteads (R09) and shares (R10, R11)


@pytest.fixture
def seller(ctx, baseline):
    """孙家 of collective A: one member on the roll (the farmer_a account), a homestead and 40
    of the collective's 1000 shares."""
    from tests.factories import homesteads as homestead_fx
    from tests.factories import people as pf
    from tests.factories import shares as share_fx
    from tests.factories.people import link_farmer

    a = baseline.collective_a
    head, hh = pf.household(a, "孙大")
    link_farmer("farmer_a", head.uid)
    made = homestead_fx.make(a, {"household_uid": hh.uid})
    holding = share_fx.make(a, {"household_uid": hh.uid})
    from app.registry import documents
    from tests.factories import documents as fx

    paper = documents.store_document(a, "other", "合同", "c.pdf", fx.minimal_pdf("deal"))
    return {
        "household": hh.uid,
        "homestead": made["homestead_uid"],
        "holding": holding["holding_uid"],
        "paper": paper.id,
    }


def _sell(seller, right_kind, right_uid, buyer_household, **kw) -> int:
    """List, declare (the sole co-holder), publish, offer, accept, approve, contract, pay."""
    from app.market import offers

    admin = walk.user("admin_a")
    lid = listings.create_listing(
        walk.user("farmer_a"),
        right_kind,
        right_uid,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=5_000_000,
        **kw,
    ).id
    listings.declare(lid, walk.user("farmer_a"))
    listings.publish(lid, admin)
    offer = offers.make_offer(lid, admin, amount_fen=4_800_000, household_uid=buyer_household)
    offers.accept_offer(
        lid, offer.id, walk.user("farmer_a"), today=listings._listing(lid).cooling_off_ends_on
    )
    approvals.collective_consent(lid, admin, approve=True)
    if right_kind == "homestead":
        approvals.township_approval(lid, admin, approve=True, document_id=seller["paper"])
    approvals.bureau_review(lid, walk.user("bureau"), approve=True, reason="符合条件")
    today = county_today()
    approvals.record_contract(
        lid, admin, signed_on=today, contract_document_id=seller["paper"], payment_terms="一次付清"
    )
    approvals.record_payment(lid, admin, how="confirmed", reference="B-9", paid_on=today)
    return lid


def test_r09_a_registered_homestead_transfer_moves_house_and_land_together(seller, buyers):
    from app.registry.models import Homestead

    lid = _sell(seller, "homestead", seller["homestead"], buyers["member"])
    registration.register(lid, walk.user("admin_a"))
    versions = history.versions(Homestead, seller["homestead"])
    before, after = versions[-2], versions[-1]
    assert before.household_uid == seller["household"] and before.disposal == "transferred"
    assert before.valid_to == county_today() == after.valid_from
    assert after.household_uid == buyers["member"] and after.end_lifespan is None
    assert after.floor_area_m2 == before.floor_area_m2  # the house goes with the land


def test_r09_a_homestead_offer_from_a_household_that_has_one_is_refused(seller, buyers, baseline):
    from app.market import offers
    from tests.factories import homesteads as homestead_fx

    homestead_fx.make(baseline.collective_a, {"household_uid": buyers["member"]})
    lid = listings.create_listing(
        walk.user("farmer_a"),
        "homestead",
        seller["homestead"],
        deal_kind="transfer",
        method="negotiated",
    ).id
    listings.declare(lid, walk.user("farmer_a"))
    listings.publish(lid, walk.user("admin_a"))
    with pytest.raises(DomainError) as refused:
        offers.make_offer(
            lid, walk.user("admin_a"), amount_fen=100_000, household_uid=buyers["member"]
        )
    assert refused.value.rule == "R09"
    assert offers.offers_of(lid) == []


def test_r10_registered_shares_move_and_the_collectives_total_is_conserved(seller, buyers):
    from app.registry import shares
    from app.registry.models import ShareHolding

    collective = history.current_of(ShareHolding, seller["holding"]).collective_id
    before = shares.allocated_total(collective)
    lid = _sell(seller, "share_holding", seller["holding"], buyers["member"], shares="15")
    deal = registration.register(lid, walk.user("admin_a"))
    assert history.current_of(ShareHolding, seller["holding"]).shares == 25
    bought = db.session.scalar(
        select(ShareHolding).where(
            ShareHolding.household_uid == buyers["member"], ShareHolding.end_lifespan.is_(None)
        )
    )
    assert bought.shares == 15 and bought.certificate_number == "GQ" + deal.attestation_number[2:]
    assert shares.allocated_total(collective) == before


def test_r11_a_share_purchase_past_the_cap_is_refused(seller, buyers, baseline):
    """The cap is 5 % of 1000 = 50 shares; 赵家 holds 20 already and 40 more would pass it."""
    from app.market import offers
    from app.registry.shares import allocate_shares

    allocate_shares(
        baseline.collective_a,
        household_uid=buyers["member"],
        shares=20,
        share_type="population",
        certificate_number="GQ-ZHAO-1",
        source_document_id=seller["paper"],
        reason="配股",
    )
    lid = listings.create_listing(
        walk.user("farmer_a"),
        "share_holding",
        seller["holding"],
        deal_kind="transfer",
        method="negotiated",
    ).id
    listings.declare(lid, walk.user("farmer_a"))
    listings.publish(lid, walk.user("admin_a"))
    with pytest.raises(DomainError) as refused:
        offers.make_offer(
            lid, walk.user("admin_a"), amount_fen=100_000, household_uid=buyers["member"]
        )
    assert refused.value.rule == "R11"


def test_the_attestation_states_the_deal_as_registered(family, buyers):
    """What the printed attestation says comes from the registered deal: number, the plots as
    they were in the seller's contract, price in yuan to the fen, payment, approvals."""
    from app.market.attestation import attestation_of

    lid = walk.contracted(family, buyers, payment="escrow")
    listing = listings._listing(lid)
    with pytest.raises(DomainError) as refused:
        attestation_of(listing)
    assert refused.value.code == "not_registered"
    deal = registration.register(lid, walk.user("admin_a"))
    paper = attestation_of(listing)
    assert paper.number == deal.attestation_number
    assert paper.price == "29,000.00"
    assert "李家" in paper.seller and "赵大" in paper.buyer
    codes = [history.current_of(Plot, uid).dkbm for uid in family["plots"]]
    assert all(any(code in part for part in paper.parts) for code in codes)
    assert "BANK-1" in paper.payment
    assert [a.by for a in paper.approvals if a.by == "bureau"] == ["bureau"]
