"""Listings: what a holder may list, R13's declaration and consents, withdrawal."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.extensions import db
from app.market import listings, states
from app.registry import documents
from tests.factories import documents as fx
from tests.market import walk


def _user(name: str) -> User:
    return walk.user(name)


def _draft(family) -> int:
    return walk.draft(family)


def test_r13_a_listing_waits_for_every_co_holders_consent(family):
    """The holder's declaration alone does not make a listing ready: the wife's consent is
    awaited, and the collective cannot publish it meanwhile."""
    lid = _draft(family)
    listing = listings.declare(lid, _user("farmer_a"))
    assert listing.state == "awaiting_consent"
    assert listing.cooling_off_ends_on is not None
    consents = {c.person_uid: c for c in listings.consents_of(lid)}
    assert consents[family["head"]].decision == "given"
    assert consents[family["head"]].mode == "self"
    shown = consents[family["head"]].statement
    assert "15" in shown  # the cooling-off days are stated before declaring
    assert consents[family["head"]].statement_sha256 == hashlib.sha256(shown.encode()).hexdigest()
    assert consents[family["wife"]].decision == "pending"
    with pytest.raises(DomainError) as refused:
        states.step(listing.state, "publish", "collective_admin")
    assert refused.value.code == "market_step"

    # Staff may record her consent only as witnessed in person, with the signed paper.
    with pytest.raises(DomainError) as refused:
        listings.decide_consent(lid, family["wife"], _user("admin_a"), give=True)
    assert refused.value.code == "paper_required"
    listing = listings.decide_consent(
        lid, family["wife"], _user("admin_a"), give=True, witnessed_paper_id=family["paper"]
    )
    assert listing.state == "ready"
    wife = {c.person_uid: c for c in listings.consents_of(lid)}[family["wife"]]
    assert (wife.mode, wife.witnessed_by) == ("witnessed", "admin_a")
    assert [s.action for s in listings.steps_of(lid)] == ["declare", "consent_complete"]


def test_r13_a_co_holders_refusal_ends_the_listing(family):
    lid = _draft(family)
    listings.declare(lid, _user("farmer_a"))
    listing = listings.decide_consent(
        lid,
        family["wife"],
        _user("admin_a"),
        give=False,
        reason="不同意出让",
        witnessed_paper_id=family["paper"],
    )
    assert listing.state == "rejected"


def test_r13_staff_cannot_declare_for_the_holder_unwitnessed(family):
    lid = _draft(family)
    with pytest.raises(DomainError) as refused:
        listings.declare(lid, _user("admin_a"), person_uid=family["head"])
    assert refused.value.code == "paper_required"
    assert listings._listing(lid).state == "draft"


def test_r13_withdrawal_in_the_cooling_off_frees_the_right(family):
    """One open listing per right: a second is refused while the first is open; after the
    holder withdraws (no reason needed) the right can be listed again at once."""
    lid = _draft(family)
    listings.declare(lid, _user("farmer_a"))
    with pytest.raises(DomainError) as refused:
        _draft(family)
    assert refused.value.code == "listing_open"
    listing = listings.withdraw(lid, _user("farmer_a"))
    assert listing.state == "withdrawn"
    assert _draft(family) != lid
    events = set(
        db.session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("market.%")))
    )
    assert {"market.create", "market.declare", "market.withdraw"} <= events


def test_a_farmer_lists_only_his_own_households_right(family, baseline):
    other = fx.make_contract(
        baseline.collective_a,
        documents.store_document(
            baseline.collective_a, "survey", "测绘", "t.pdf", fx.minimal_pdf("t")
        ).id,
    )
    with pytest.raises(DomainError) as refused:
        listings.create_listing(
            _user("farmer_a"),
            "land_contract",
            other.uid,
            deal_kind="transfer",
            method="negotiated",
        )
    assert refused.value.status == 404


# --- publishing, offers and acceptance


def _ready(family) -> int:
    return walk.ready(family)


def test_r03_an_outsiders_offer_for_contracted_land_is_refused(family, buyers):
    from app.market import offers

    lid = _ready(family)
    listings.publish(lid, _user("admin_a"))
    with pytest.raises(DomainError) as refused:
        offers.make_offer(
            lid, _user("admin_a"), amount_fen=2_900_000, household_uid=buyers["outsider"]
        )
    assert refused.value.code == "not_a_member"
    assert "成员" in refused.value.message or "member" in refused.value.message
    offer = offers.make_offer(
        lid, _user("admin_a"), amount_fen=2_900_000, household_uid=buyers["member"]
    )
    evidence = json.loads(offer.eligibility)
    assert evidence["rule"] == "R03" and evidence["roll"], evidence


def test_r13_no_offer_is_accepted_during_the_cooling_off(family, buyers):
    from datetime import timedelta

    from app.market import offers

    lid = _ready(family)
    listing = listings.publish(lid, _user("admin_a"))
    offer = offers.make_offer(
        lid, _user("admin_a"), amount_fen=2_900_000, household_uid=buyers["member"]
    )
    with pytest.raises(DomainError) as refused:
        offers.accept_offer(lid, offer.id, _user("farmer_a"))
    assert refused.value.code == "cooling_off"
    deal = offers.accept_offer(
        lid, offer.id, _user("farmer_a"), today=listing.cooling_off_ends_on + timedelta(days=0)
    )
    assert deal.price_fen == 2_900_000
    assert listings._listing(lid).state == "collective_consent"
    with pytest.raises(DomainError):
        offers.accept_offer(lid, offer.id, _user("farmer_a"), today=listing.cooling_off_ends_on)


def test_a_disputed_right_cannot_be_published(family):
    """A right on public notice (an objection may be lodged) is not offered to anyone."""

    from app.registry import notices

    lid = _ready(family)
    # the contract goes back on notice (e.g. a correction) while the listing waits
    from app.registry import history as h
    from app.registry.models import LandContract

    contract = h.current_of(LandContract, family["contract"])
    h.revise(contract, reason="更正四至", status="pending", source_document_id=family["doc"])
    notices.open_notice("land_contract", family["contract"], county_today())
    with pytest.raises(DomainError) as refused:
        listings.publish(lid, _user("admin_a"))
    assert refused.value.code == "title_disputed"
    assert listings._listing(lid).state == "ready"


def test_approvals_contract_and_money_after_acceptance(family, buyers, app):
    """发包方 consent, the bureau's review (a flagged deal needs a reasoned decision, R14), then
    the contract (after which the holder cannot withdraw) and the payment."""
    from datetime import timedelta

    from app.market import approvals, offers
    from app.registry.history import county_today

    lid = _ready(family)
    listing = listings.publish(lid, _user("admin_a"))
    offer = offers.make_offer(
        lid, _user("admin_a"), amount_fen=2_900_000, household_uid=buyers["member"]
    )
    offers.accept_offer(lid, offer.id, _user("farmer_a"), today=listing.cooling_off_ends_on)
    with pytest.raises(DomainError) as refused:
        approvals.bureau_review(lid, _user("bureau"), approve=True)
    assert refused.value.code == "market_step"  # the collective consents first
    approvals.collective_consent(lid, _user("admin_a"), approve=True)
    assert listings._listing(lid).state == "bureau_review"

    def flag(listing, deal):
        return ["落户后 30 天内出让"]

    approvals.register_flagger(flag)
    try:
        with pytest.raises(DomainError) as refused:
            approvals.bureau_review(lid, _user("bureau"), approve=True, reason="材料齐全")
        assert refused.value.code == "flag_decision_required"
        approvals.bureau_review(
            lid,
            _user("bureau"),
            approve=True,
            reason="材料齐全",
            flag_decision="本人到场说明系自愿，与落户无关",
            interviewed=True,
        )
    finally:
        approvals.FLAGGERS.remove(flag)
    assert listings._listing(lid).state == "contracting"
    review = listings.steps_of(lid)[-1]
    assert review.actor == "bureau" and "本人到场" in review.reason

    today = county_today()
    approvals.record_contract(
        lid,
        _user("admin_a"),
        signed_on=today,
        contract_document_id=family["paper"],
        payment_terms="一次性付清",
    )
    with pytest.raises(DomainError) as refused:
        listings.withdraw(lid, _user("farmer_a"))
    assert refused.value.code == "contract_signed"
    with pytest.raises(DomainError):
        approvals.record_payment(
            lid,
            _user("admin_a"),
            how="confirmed",
            reference="BANK-1",
            paid_on=today + timedelta(days=1),
        )
    deal = approvals.record_payment(
        lid, _user("admin_a"), how="confirmed", reference="BANK-1", paid_on=today
    )
    assert deal.payment == "confirmed" and deal.price_fen == 2_900_000


def test_the_notice_period_counts_working_days_where_the_county_says_so(family, app):
    """Published on Friday 2 October 2026 with ten working days: the weekends do not count."""
    from datetime import date

    lid = _ready(family)
    app.config["MARKET_NOTICE_WORKING_DAYS"] = True
    try:
        listing = listings.publish(lid, _user("admin_a"), today=date(2026, 10, 2))
    finally:
        app.config["MARKET_NOTICE_WORKING_DAYS"] = False
    assert listing.notice_ends_on == date(2026, 10, 16)
