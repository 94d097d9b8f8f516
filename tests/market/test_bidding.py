"""Open bidding among eligible members (the highest valid bid wins, ties to the earliest, the
winner's eligibility checked again on the day) and listings that end without a buyer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError
from app.core.models import utcnow
from app.extensions import db
from app.market import bidding, eligibility, listings, offers
from app.market.models import Deal, Listing, Offer
from app.registry import documents, people
from app.registry.history import county_today
from app.registry.models import Membership
from tests.factories import documents as fx
from tests.factories import people as pf
from tests.market import walk

ASKING = 3_000_000  # 30 000 yuan: the reserve
STEP = 10_000  # 100 yuan
DEPOSIT = 50_000  # 500 yuan


def _deadline() -> datetime:
    """The earliest deadline allowed (cooling-off 15 days, notice 10) plus a day."""
    return utcnow() + timedelta(days=16)


def _bidding(family: dict, **kw) -> int:
    """李家's contract published for bidding (the asking price is the reserve)."""
    args = {
        "method": "bidding",
        "bid_deadline": _deadline(),
        "bid_step_fen": STEP,
        "deposit_fen": None,
    }
    args.update(kw)
    return walk.published(family, **args)


def _after(lid: int) -> datetime:
    return listings._listing(lid).bid_deadline + timedelta(minutes=1)


def _bid(lid: int, household: int, amount: int, **kw) -> Offer:
    """A bid made in person at the office, recorded by the collective's administrator."""
    return offers.make_offer(
        lid, walk.user("admin_a"), amount_fen=amount, household_uid=household, **kw
    )


@pytest.fixture
def bidders(ctx, baseline, buyers):
    """Two more member households of collective A."""
    _h1, qian = pf.household(baseline.collective_a, "钱二")
    head, sun = pf.household(baseline.collective_a, "孙三")
    return {"zhao": buyers["member"], "qian": qian.uid, "sun": sun.uid, "sun_head": head.uid}


def test_the_highest_valid_bid_wins_and_the_others_lose(family, bidders):
    lid = _bidding(family, deposit_fen=DEPOSIT)
    first = _bid(lid, bidders["zhao"], ASKING, deposit_reference="BANK-Z")
    qian = _bid(lid, bidders["qian"], ASKING + STEP, deposit_reference="BANK-Q")
    # 赵家 raises its own bid: the new one replaces the old, the deposit paid moves to it
    raised = _bid(lid, bidders["zhao"], ASKING + 3 * STEP)
    assert (first.state, first.deposit_state) == ("superseded", "moved")
    assert (raised.deposit_fen, raised.deposit_reference, raised.deposit_state) == (
        DEPOSIT,
        "BANK-Z",
        "held",
    )

    deal = bidding.close_bidding(lid, None, now=_after(lid))

    assert (deal.offer_id, deal.buyer_household_uid, deal.price_fen) == (
        raised.id,
        bidders["zhao"],
        ASKING + 3 * STEP,
    )
    assert listings._listing(lid).state == "collective_consent"
    assert (raised.state, raised.deposit_state) == ("accepted", "applied")
    assert (qian.state, qian.deposit_state) == ("lost", "refund")
    evidence = json.loads(deal.evidence)
    assert evidence["rule"] == "R03"
    assert evidence["bidding"]["winning_offer_id"] == raised.id
    last = listings.steps_of(lid)[-1]
    assert (last.action, last.actor, last.to_state) == (
        "close_bidding",
        "system",
        "collective_consent",
    )
    with pytest.raises(DomainError) as again:  # closed once, for good
        bidding.close_bidding(lid, walk.user("admin_a"), now=_after(lid))
    assert again.value.code == "market_step"


def test_the_holder_cannot_pick_a_bid(family, bidders):
    """In a bidding the highest valid bid wins at the close: the holder chooses none, not even
    after the cooling-off."""
    lid = _bidding(family)
    low = _bid(lid, bidders["zhao"], ASKING)
    _bid(lid, bidders["qian"], ASKING + STEP)
    day = listings._listing(lid).cooling_off_ends_on
    with pytest.raises(DomainError) as refused:
        offers.accept_offer(lid, low.id, walk.user("farmer_a"), today=day)
    assert refused.value.code == "bidding_listing"
    assert (listings._listing(lid).state, low.state) == ("published", "active")


def test_a_tie_goes_to_the_earliest_bid(family, bidders):
    """Equal bids go to the earliest: by the time it was made, then by its number. (Bids made one
    at a time never tie, each beating the highest by the step, so the equal ones are written here
    directly, as recorded side by side.)"""
    lid = _bidding(family)
    listing = listings._listing(lid)
    zhao = _bid(lid, bidders["zhao"], ASKING + STEP)
    day = county_today()
    crossed = []
    for household, made_at in (
        (bidders["qian"], zhao.made_at - timedelta(seconds=1)),
        (bidders["sun"], zhao.made_at - timedelta(seconds=1)),
    ):
        evidence = eligibility.check_buyer(
            listing, household_uid=household, person_uid=None, day=day
        )
        with trail.because("market.bid"):
            bid = Offer(
                listing_id=lid,
                collective_id=listing.collective_id,
                household_uid=household,
                amount_fen=ASKING + STEP,
                eligibility=json.dumps(evidence),
                made_by="admin_a",
                made_at=made_at,
            )
            db.session.add(bid)
            db.session.flush()
        crossed.append(bid)
    assert [b.id for b in bidding.ranked_bids(lid)] == [crossed[0].id, crossed[1].id, zhao.id]

    deal = bidding.close_bidding(lid, walk.user("admin_a"), now=_after(lid))

    assert deal.buyer_household_uid == bidders["qian"]
    assert (zhao.state, crossed[1].state) == ("lost", "lost")
    assert listings.steps_of(lid)[-1].actor == "admin_a"


def test_a_bid_below_the_reserve_or_the_step_is_refused(family, bidders):
    lid = _bidding(family)
    with pytest.raises(DomainError) as low:
        _bid(lid, bidders["zhao"], ASKING - 1)
    assert (low.value.code, low.value.field) == ("bid_too_low", "amount")
    assert "30000.00" in low.value.message
    _bid(lid, bidders["zhao"], ASKING)
    with pytest.raises(DomainError) as short:
        _bid(lid, bidders["qian"], ASKING + STEP - 1)
    assert short.value.code == "bid_too_low"
    assert "30100.00" in short.value.message  # the least bid that counts, in yuan
    assert _bid(lid, bidders["qian"], ASKING + STEP).state == "active"
    assert len(offers.offers_of(lid)) == 2


def test_a_bid_after_the_deadline_is_refused(family, bidders):
    lid = _bidding(family)
    deadline = listings._listing(lid).bid_deadline
    _bid(lid, bidders["zhao"], ASKING, now=deadline - timedelta(minutes=1))
    with pytest.raises(DomainError) as late:
        _bid(lid, bidders["qian"], ASKING + STEP, now=deadline)
    assert late.value.code == "bidding_over"
    with pytest.raises(DomainError) as early:  # and the bidding does not close before it
        bidding.close_bidding(lid, None, now=deadline - timedelta(minutes=1))
    assert early.value.code == "bidding_open"
    assert listings._listing(lid).state == "published"


def test_a_bid_without_the_deposit_is_refused_when_one_is_asked(family, bidders):
    lid = _bidding(family, deposit_fen=DEPOSIT)
    with pytest.raises(DomainError) as refused:
        _bid(lid, bidders["zhao"], ASKING)
    assert (refused.value.code, refused.value.field) == ("deposit_required", "deposit_reference")
    assert "500.00" in refused.value.message
    assert offers.offers_of(lid) == []
    bid = _bid(lid, bidders["zhao"], ASKING, deposit_reference="  BANK-2026-1  ")
    assert (bid.deposit_fen, bid.deposit_reference, bid.deposit_state) == (
        DEPOSIT,
        "BANK-2026-1",
        "held",
    )


def test_r03_r15_an_outsiders_bid_is_refused(family, buyers):
    """A household of another collective cannot bid, whatever it offers; the reason is given."""
    lid = _bidding(family)
    with pytest.raises(DomainError) as refused:
        _bid(lid, buyers["outsider"], ASKING * 2)
    assert (refused.value.code, refused.value.rule) == ("not_a_member", "R15")
    assert offers.offers_of(lid) == []
    # an accepted member's bid stores the roll it was checked against (R15 evidence)
    bid = _bid(lid, buyers["member"], ASKING)
    evidence = json.loads(bid.eligibility)
    assert evidence["rule"] == "R03"
    assert [r["person_uid"] for r in evidence["roll"]] == [buyers["member_head"]]


def test_r15_a_winner_no_longer_a_member_on_the_day_loses_to_the_next_bidder(family, bidders):
    lid = _bidding(family, deposit_fen=DEPOSIT)
    zhao = _bid(lid, bidders["zhao"], ASKING, deposit_reference="Z-1")
    sun = _bid(lid, bidders["sun"], ASKING + 5 * STEP, deposit_reference="S-1")
    membership = db.session.scalar(
        select(Membership).where(
            Membership.person_uid == bidders["sun_head"], Membership.end_lifespan.is_(None)
        )
    )
    people.end_membership(
        membership.uid, county_today(), "other_collective", "迁入外村", today=county_today()
    )

    deal = bidding.close_bidding(lid, None, now=_after(lid))

    assert (deal.offer_id, deal.price_fen) == (zhao.id, ASKING)
    assert (sun.state, sun.deposit_state) == ("lost", "refund")
    assert (zhao.state, zhao.deposit_state) == ("accepted", "applied")
    passed = json.loads(deal.evidence)["bidding"]["passed_over"]
    assert passed == [
        {"offer_id": sun.id, "amount_fen": ASKING + 5 * STEP, "code": "not_a_member", "rule": "R15"}
    ]


def test_no_bid_lapses_the_listing_and_the_right_can_be_listed_again(family, bidders):
    lid = _bidding(family)
    assert bidding.close_bidding(lid, None, now=_after(lid)) is None
    listing = listings._listing(lid)
    assert listing.state == "lapsed"
    last = listings.steps_of(lid)[-1]
    assert (last.action, last.actor_role) == ("lapse", "system")
    assert db.session.scalar(select(Deal).where(Deal.listing_id == lid)) is None
    again = walk.draft(family)  # the right is free
    assert listings._listing(again).state == "draft"


def test_r15_no_valid_bid_left_lapses_and_refunds_every_deposit(family, bidders):
    lid = _bidding(family, deposit_fen=DEPOSIT)
    sun = _bid(lid, bidders["sun"], ASKING, deposit_reference="S-1")
    membership = db.session.scalar(
        select(Membership).where(
            Membership.person_uid == bidders["sun_head"], Membership.end_lifespan.is_(None)
        )
    )
    people.end_membership(
        membership.uid, county_today(), "renounced", "书面放弃", today=county_today()
    )
    assert bidding.close_bidding(lid, None, now=_after(lid)) is None
    assert listings._listing(lid).state == "lapsed"
    assert (sun.state, sun.deposit_state) == ("lost", "refund")


def test_r13_bidding_closes_only_after_the_cooling_off(family, bidders):
    """Declared five days after it was drafted, the listing's cooling-off outlasts the deadline:
    the bidding waits for it, and the tick leaves the listing alone until then."""
    lid = walk.draft(
        family, method="bidding", bid_deadline=_deadline(), bid_step_fen=STEP, deposit_fen=0
    )
    later = county_today() + timedelta(days=5)
    listings.declare(lid, walk.user("farmer_a"), today=later)
    listings.decide_consent(
        lid, family["wife"], walk.user("admin_a"), give=True, witnessed_paper_id=family["paper"]
    )
    listings.publish(lid, walk.user("admin_a"))
    _bid(lid, bidders["zhao"], ASKING)
    with pytest.raises(DomainError) as waiting:
        bidding.close_bidding(lid, None, now=_after(lid))
    assert waiting.value.code == "cooling_off"
    assert bidding.tick(now=_after(lid)) == {"sold": {}, "lapsed": [], "failed": {}}
    ends = listings._listing(lid).cooling_off_ends_on
    at = datetime(ends.year, ends.month, ends.day, 12)  # noon UTC: that day in the county too
    deal = bidding.close_bidding(lid, None, now=at)
    assert deal.buyer_household_uid == bidders["zhao"]


def _negotiated_elsewhere(baseline, *, published_days_ago: int) -> int:
    """Another household's contract, its sole holder's declaration witnessed, published
    ``published_days_ago`` days ago (negotiated)."""
    a = baseline.collective_a
    doc = documents.store_document(a, "survey", "测绘成果", "s2.pdf", fx.minimal_pdf("s2"))
    household = fx.make_household(a, "周家")
    holder = fx.make_holder(household, "周大", relation="02")
    contract = fx.make_contract(a, doc.id, household=household)
    admin = walk.user("admin_a")
    paper = documents.store_document(a, "other", "声明", "d.pdf", fx.minimal_pdf("d"))
    lid = listings.create_listing(
        admin,
        "land_contract",
        contract.uid,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=ASKING,
    ).id
    day = county_today() - timedelta(days=published_days_ago)
    listings.declare(lid, admin, person_uid=holder.uid, witnessed_paper_id=paper.id, today=day)
    listings.publish(lid, admin, today=day)
    return lid


def test_tick_closes_the_due_bidding_and_ends_unsold_listings_once(baseline, family, bidders):
    bid_lid = _bidding(family)
    bid = _bid(bid_lid, bidders["zhao"], ASKING)
    unsold_lid = _negotiated_elsewhere(baseline, published_days_ago=30)
    now = _after(bid_lid)

    done = bidding.tick(now=now)

    deal = db.session.scalar(select(Deal).where(Deal.listing_id == bid_lid))
    assert deal.offer_id == bid.id
    assert done == {"sold": {bid_lid: deal.id}, "lapsed": [unsold_lid], "failed": {}}
    assert listings._listing(unsold_lid).state == "lapsed"
    steps = len(listings.steps_of(bid_lid)) + len(listings.steps_of(unsold_lid))
    assert bidding.tick(now=now) == {"sold": {}, "lapsed": [], "failed": {}}
    assert len(listings.steps_of(bid_lid)) + len(listings.steps_of(unsold_lid)) == steps


def test_an_unsold_listing_lapses_only_after_its_notice_with_no_open_offer(baseline, buyers):
    lid = _negotiated_elsewhere(baseline, published_days_ago=3)
    admin = walk.user("admin_a")
    with pytest.raises(DomainError) as running:
        bidding.lapse_if_unsold(lid, admin)
    assert running.value.code == "notice_running"
    offer = offers.make_offer(lid, admin, amount_fen=ASKING, household_uid=buyers["member"])
    after = listings._listing(lid).notice_ends_on + timedelta(days=1)
    with pytest.raises(DomainError) as open_offer:
        bidding.lapse_if_unsold(lid, admin, today=after)
    assert open_offer.value.code == "offers_open"
    assert bidding.tick(now=utcnow() + timedelta(days=30))["lapsed"] == []
    with pytest.raises(DomainError) as not_theirs:  # a member sees it, but does not end it
        bidding.lapse_if_unsold(lid, walk.user("buyer_a"), today=after)
    assert not_theirs.value.code == "market_actor"
    with pytest.raises(DomainError) as hidden:  # another collective's admin: no such listing
        bidding.lapse_if_unsold(lid, walk.user("admin_b"), today=after)
    assert hidden.value.status == 404
    assert offer.state == "active"
    quiet = _negotiated_elsewhere(baseline, published_days_ago=3)
    listing = bidding.lapse_if_unsold(quiet, admin, today=after)
    assert listing.state == "lapsed"
    last = listings.steps_of(quiet)[-1]
    assert (last.action, last.actor, last.to_state) == ("lapse", "admin_a", "lapsed")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bid_deadline": None}, "bid_deadline"),
        ({"bid_deadline": "2030-01-01"}, "bid_deadline"),
        ({"bid_deadline": utcnow() - timedelta(hours=1)}, "bid_deadline"),
        ({"bid_deadline": utcnow() + timedelta(days=12)}, "bid_deadline"),  # in the cooling-off
        ({"bid_step_fen": 0}, "bid_step"),
        ({"bid_step_fen": 10.5}, "bid_step"),
        ({"deposit_fen": -1}, "deposit"),
        ({"asking_price_fen": None}, "price"),
    ],
)
def test_a_bidding_listing_needs_a_deadline_a_step_and_a_reserve(family, change, field):
    args = {"bid_deadline": _deadline(), "bid_step_fen": STEP, "deposit_fen": DEPOSIT}
    args.update(change)
    with pytest.raises(DomainError) as refused:
        walk.draft(family, method="bidding", **args)
    assert refused.value.field == field
    assert (
        db.session.scalar(select(Listing.id).where(Listing.right_uid == family["contract"])) is None
    )


def test_a_bidding_listing_keeps_its_terms(family):
    """An aware deadline is stored in UTC; a deposit of zero asks for none; a negotiated
    listing keeps no bidding terms."""
    deadline = datetime.now(UTC) + timedelta(days=20)
    lid = walk.draft(
        family, method="bidding", bid_deadline=deadline, bid_step_fen=STEP, deposit_fen=0
    )
    listing = listings._listing(lid)
    assert listing.bid_deadline == deadline.astimezone(UTC).replace(tzinfo=None)
    assert (listing.asking_price_fen, listing.bid_step_fen, listing.deposit_fen) == (
        ASKING,
        STEP,
        None,
    )
    listings.withdraw(lid, walk.user("farmer_a"))
    negotiated = listings._listing(walk.draft(family, bid_deadline=deadline, bid_step_fen=STEP))
    assert (negotiated.bid_deadline, negotiated.bid_step_fen) == (None, None)


def test_flask_market_tick_ends_what_is_due_and_says_so(app, baseline, family):
    lid = _negotiated_elsewhere(baseline, published_days_ago=30)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["market", "tick"])
    assert first.exit_code == 0, first.output
    assert f"listing {lid}: ended without a buyer" in first.output
    assert listings._listing(lid).state == "lapsed"
    second = runner.invoke(args=["market", "tick"])
    assert second.exit_code == 0, second.output
    assert "nothing was due" in second.output
