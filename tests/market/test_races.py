"""Exactly once (issue 12 §8): each race of the marketplace run 100 times on real commits.

Every round starts from committed data (a fresh listing of the same right), releases two real
connections at once (``tests.concurrency``: threads, own sessions, a barrier) and lets the
database decide; the round's outcome is then read back from the database and must be exactly one
of the outcomes the two calls could have had one after the other. Between rounds the right is
freed the way users free it (the holder withdraws before the contract is signed; after a
registration, the buyer lists it back), never by deleting rows, so the audit chain stays whole
and is verified at the end of each test. Each test has its own database (``fresh_app``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit import trail
from app.audit.services import verify_database
from app.core.calendar import county_today
from app.extensions import db
from app.market import approvals, listings, offers, registration, states
from app.market.models import Consent, Deal, Listing, Offer
from app.registry import documents, history, land
from app.registry.models import LandContract, Plot
from tests.concurrency import ACTOR, race_outcomes
from tests.factories import documents as fx
from tests.factories import land as land_fx
from tests.factories import people as pf
from tests.market import walk

pytestmark = pytest.mark.concurrency

ROUNDS = 100


@contextmanager
def committed(app: Flask) -> Iterator[None]:
    """A request's worth of work on its own connection, committed for real at the end."""
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        try:
            yield
            db.session.commit()
        finally:
            db.session.remove()


@dataclass(frozen=True)
class World:
    """李家 (the farmer_a account heads it, his wife co-holds) and its confirmed contract; two
    member households of the same collective that may buy it."""

    family: dict
    buyers: list[int]

    @property
    def right(self) -> int:
        return self.family["contract"]


def build_world(app: Flask) -> World:
    """The same world as tests/market_world.py's ``family`` and ``buyers``, committed."""
    a = app.extensions["sanquan_baseline"].collective_a
    with committed(app):
        doc = documents.store_document(a, "survey", "测绘成果", "s.pdf", fx.minimal_pdf("survey"))
        household = fx.make_household(a, "李家")
        head = fx.make_holder(household, "李大山", relation="02")
        wife = fx.make_holder(household, "王秀英", relation="10")
        contract = fx.make_contract(a, doc.id, household=household)
        pf.link_farmer("farmer_a", head.uid)
        paper = documents.store_document(a, "other", "同意书", "c.pdf", fx.minimal_pdf("consent"))
        buyers = [pf.household(a, name)[1].uid for name in ("赵大", "钱二")]
        family = {
            "household": household.uid,
            "contract": contract.uid,
            "head": head.uid,
            "wife": wife.uid,
            "paper": paper.id,
            "doc": doc.id,
        }
    return World(family=family, buyers=buyers)


def published_with_offers(app: Flask, world: World, n: int) -> tuple[int, list[int], date]:
    """A new published listing of the right with ``n`` offers of member households, committed;
    (listing id, offer ids, the first day an offer may be accepted)."""
    with committed(app):
        lid = walk.published(world.family)
        made = [
            offers.make_offer(
                lid,
                walk.user("admin_a"),
                amount_fen=2_900_000 + 10_000 * i,
                household_uid=world.buyers[i],
            ).id
            for i in range(n)
        ]
        day = listings._listing(lid).cooling_off_ends_on
    return lid, made, day


def withdraw(app: Flask, lid: int) -> None:
    """The holder withdraws (allowed until the contract is signed): the right is free again."""
    with committed(app):
        listings.withdraw(lid, walk.user("farmer_a"))


def open_listings(right_uid: int) -> list[Listing]:
    return list(
        db.session.scalars(
            select(Listing).where(Listing.right_uid == right_uid, Listing.state.in_(states.OPEN))
        )
    )


def actions(lid: int) -> list[str]:
    return [s.action for s in listings.steps_of(lid)]


def assert_chain_whole(app: Flask) -> None:
    with app.app_context():
        count, problem = verify_database()
        db.session.remove()
    assert problem is None, problem
    assert count > 0


def test_two_acceptances_at_once_make_exactly_one_deal(fresh_app):
    """The holder on two devices accepts two different offers at the same moment: one deal,
    one offer accepted, the other declined, the listing waiting for the collective's consent;
    the other device is told plainly that this cannot be done now."""
    app = fresh_app
    world = build_world(app)
    with app.test_request_context():
        plain = {
            _(
                "This cannot be done now: the listing is at the step “%(state)s”.",
                state=states.state_label("collective_consent"),
            ),
            _("An offer on this listing was already accepted."),
        }
    seen = Counter()
    for round_no in range(ROUNDS):
        lid, (first, second), day = published_with_offers(app, world, 2)

        def accept(offer_id: int, lid: int = lid, day: date = day):
            return lambda: offers.accept_offer(lid, offer_id, walk.user("farmer_a"), today=day)

        # who reaches the database first is the database's business; alternating who starts
        # makes sure both offers win some rounds
        jobs = [accept(first), accept(second)]
        outcomes = race_outcomes(app, jobs if round_no % 2 else jobs[::-1])
        if not round_no % 2:
            outcomes.reverse()
        results = [o.result for o in outcomes]
        seen["first offer won" if results[0] == "ok" else "second offer won"] += 1
        assert results.count("ok") == 1, (round_no, outcomes)
        loser = outcomes[1 - results.index("ok")]
        assert loser.result in {"market_step", "deal_exists"}, (round_no, outcomes)
        assert loser.message in plain, (round_no, loser)
        won = (first, second)[results.index("ok")]
        lost = (first, second)[1 - results.index("ok")]
        with app.app_context():
            deals = list(db.session.scalars(select(Deal).where(Deal.listing_id == lid)))
            assert [d.offer_id for d in deals] == [won], round_no
            states_of = dict(
                db.session.execute(
                    select(Offer.id, Offer.state).where(Offer.listing_id == lid)
                ).all()
            )
            assert states_of == {won: "accepted", lost: "declined"}, round_no
            assert db.session.get(Listing, lid).state == "collective_consent", round_no
            assert actions(lid).count("accept_offer") == 1, round_no
            db.session.remove()
        withdraw(app, lid)
    print(f"\ntwo acceptances, {ROUNDS} rounds: {dict(seen)}")
    assert_chain_whole(app)


def test_an_acceptance_racing_the_withdrawal_ends_one_way(fresh_app):
    """The holder accepts an offer on one device and withdraws on another at the same moment.

    The database orders the two: either the withdrawal came first (the acceptance is refused,
    no deal), or the acceptance came first and the withdrawal, still allowed before the contract
    is signed (R13), follows it. Never a half: a deal on a listing that stays open without its
    accept step, two accept steps, or a right still tied up by a withdrawn listing.
    """
    app = fresh_app
    world = build_world(app)
    seen = Counter()
    for round_no in range(ROUNDS):
        lid, (offer_id,), day = published_with_offers(app, world, 1)
        jobs = [
            lambda lid=lid, day=day, offer_id=offer_id: offers.accept_offer(
                lid, offer_id, walk.user("farmer_a"), today=day
            ),
            lambda lid=lid: listings.withdraw(lid, walk.user("farmer_a")),
        ]
        # alternate who starts, so that both orders happen on either database
        outcomes = race_outcomes(app, jobs if round_no % 2 else jobs[::-1])
        if not round_no % 2:
            outcomes.reverse()
        accepted, withdrawn = (o.result for o in outcomes)
        assert withdrawn == "ok", (round_no, outcomes)
        with app.app_context():
            listing = db.session.get(Listing, lid)
            deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
            offer = db.session.get(Offer, offer_id)
            steps = actions(lid)
            assert listing.state == "withdrawn", round_no
            assert open_listings(world.right) == [], round_no  # the right is free again
            if accepted == "ok":  # the acceptance came first; the holder then withdrew
                seen["accepted, then withdrawn"] += 1
                assert steps[-2:] == ["accept_offer", "withdraw"], (round_no, steps)
                assert deal is not None and deal.offer_id == offer_id, round_no
                assert offer.state == "declined", round_no  # the deal fell through
            else:  # the withdrawal came first: nothing left to accept
                seen["withdrawn, acceptance refused"] += 1
                assert accepted == "market_step", (round_no, outcomes)
                assert steps[-1] == "withdraw" and "accept_offer" not in steps, (round_no, steps)
                assert deal is None, round_no
                assert offer.state == "declined", round_no  # the listing ended
            assert steps.count("withdraw") == 1, (round_no, steps)
            db.session.remove()
    print(f"\nacceptance against withdrawal, {ROUNDS} rounds: {dict(seen)}")
    assert_chain_whole(app)


def test_two_listings_of_one_right_at_once_leave_exactly_one_open(fresh_app):
    """The holder lists and declares the same contract on two devices at the same moment: the
    database's partial unique index lets exactly one listing be open; the other device is told
    plainly the right is already in an open listing, and nothing of its attempt remains."""
    app = fresh_app
    world = build_world(app)
    with app.test_request_context():
        already = _("This right is already in an open listing: finish or withdraw that one first.")

    def list_and_declare():
        lid = walk.draft(world.family)
        listings.declare(lid, walk.user("farmer_a"))

    for round_no in range(ROUNDS):
        with app.app_context():
            before = db.session.scalar(select(func.max(Listing.id))) or 0
            db.session.remove()
        outcomes = race_outcomes(app, [list_and_declare, list_and_declare])
        results = sorted(o.result for o in outcomes)
        assert results == ["listing_open", "ok"], (round_no, outcomes)
        loser = next(o for o in outcomes if o.result != "ok")
        assert loser.message == already, (round_no, loser)
        with app.app_context():
            made = list(db.session.scalars(select(Listing).where(Listing.id > before)))
            assert len(made) == 1, (round_no, [(m.id, m.state) for m in made])
            (winner,) = made
            assert [x.id for x in open_listings(world.right)] == [winner.id], round_no
            assert winner.state == "awaiting_consent", round_no
            assert actions(winner.id) == ["declare"], round_no
            consents = db.session.scalar(
                select(func.count()).select_from(Consent).where(Consent.listing_id == winner.id)
            )
            assert consents == 2, round_no  # the holder's declaration and the wife's, awaited
            lid = winner.id
            db.session.remove()
        withdraw(app, lid)
    assert_chain_whole(app)


@dataclass(frozen=True)
class Pair:
    """Two member households of collective A that sell the same land to each other in turn:
    their heads (the only co-holders) log in as ``farmer_a`` and ``buyer_a``."""

    households: tuple[int, int]
    accounts: tuple[str, str]
    plots: list[int]
    paper: int


def build_pair(app: Flask) -> Pair:
    from app.auth.services import create_user
    from tests.conftest import PASSWORD

    a = app.extensions["sanquan_baseline"].collective_a
    with committed(app):
        doc = documents.store_document(a, "survey", "测绘成果", "s.pdf", fx.minimal_pdf("survey"))
        paper = documents.store_document(a, "other", "合同", "c.pdf", fx.minimal_pdf("contract"))
        head_x, x = pf.household(a, "李大山")
        head_y, y = pf.household(a, "赵大")
        contract = fx.make_contract(a, doc.id, household=x)
        ox, oy = land_fx.origin(a)
        plots = [
            land_fx.add(a, land_fx.square(ox + 50 * i, oy), contract_uid=contract.uid).plot.uid
            for i in range(2)
        ]
        create_user("buyer_a", PASSWORD, "farmer", collective_ids=[a])
        pf.link_farmer("farmer_a", head_x.uid)
        pf.link_farmer("buyer_a", head_y.uid)
        made = Pair(
            households=(x.uid, y.uid),
            accounts=("farmer_a", "buyer_a"),
            plots=plots,
            paper=paper.id,
        )
    return made


def contracted_between(pair: Pair, seller: int) -> tuple[int, int]:
    """The household ``seller`` (0 or 1) lists its whole contract, declares it, the collective
    publishes, the other household offers and is accepted after the cooling-off, the collective
    and the bureau approve, the contract and the payment are recorded: (listing id, contract)."""
    holder, buyer = pair.households[seller], pair.households[1 - seller]
    account = walk.user(pair.accounts[seller])
    admin = walk.user("admin_a")
    right = land.contract_of_household(holder).uid
    lid = listings.create_listing(
        account,
        "land_contract",
        right,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=3_000_000,
    ).id
    listings.declare(lid, account)  # the head is the only co-holder: ready at once
    listings.publish(lid, admin)
    offer = offers.make_offer(lid, admin, amount_fen=2_950_000, household_uid=buyer)
    offers.accept_offer(lid, offer.id, account, today=listings._listing(lid).cooling_off_ends_on)
    approvals.collective_consent(lid, admin, approve=True)
    approvals.bureau_review(lid, walk.user("bureau"), approve=True, reason="材料齐全")
    today = county_today()
    approvals.record_contract(
        lid, admin, signed_on=today, contract_document_id=pair.paper, payment_terms="一次性付清"
    )
    approvals.record_payment(lid, admin, how="confirmed", reference="BANK-1", paid_on=today)
    return lid, right


def test_a_registration_run_twice_at_once_registers_once(fresh_app):
    """Staff press "register" twice (two tabs, or a retry while the first is still running): the
    land changes hands once. One new contract version for the buyer, the seller's contract ended
    once, each plot one new version, one attestation number, one register step; the second call
    either returns the same registered deal or is refused in plain words, never a crash.

    The two households sell the land to each other in turn, so every round is a real
    registration of a right that is free (the buyer of one round lists it in the next)."""
    app = fresh_app
    pair = build_pair(app)
    seen = Counter()
    for round_no in range(ROUNDS):
        seller = round_no % 2
        buyer = pair.households[1 - seller]
        with committed(app):
            lid, right = contracted_between(pair, seller)
        with app.app_context():
            plot_versions = {uid: len(history.versions(Plot, uid)) for uid in pair.plots}
            seller_versions = len(history.versions(LandContract, right))
            db.session.remove()
        returned: list[tuple[int, str | None]] = []

        def register(lid: int = lid, returned: list = returned) -> None:
            deal = registration.register(lid, walk.user("admin_a"))
            returned.append((deal.id, deal.attestation_number))

        outcomes = race_outcomes(app, [register, register])
        results = sorted(o.result for o in outcomes)
        seen[tuple(results)] += 1
        assert "ok" in results and not any(r.startswith("crash") for r in results), (
            round_no,
            outcomes,
        )
        with app.app_context():
            listing = db.session.get(Listing, lid)
            deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
            assert listing.state == "completed", round_no
            assert actions(lid).count("register") == 1, (round_no, actions(lid))
            assert deal.registered_on == county_today(), round_no
            assert deal.attestation_number, round_no
            # a call that succeeded returned this very deal, with its one number
            assert returned and set(returned) == {(deal.id, deal.attestation_number)}, round_no
            numbered = db.session.scalar(
                select(func.count())
                .select_from(Deal)
                .where(Deal.attestation_number == deal.attestation_number)
            )
            assert numbered == 1, round_no
            # the seller's contract ended once: no version added, the last one closed
            versions = history.versions(LandContract, right)
            assert len(versions) == seller_versions, round_no
            assert history.current_of(LandContract, right) is None, round_no
            assert versions[-1].valid_to == county_today(), round_no
            # the buyer: one new contract, in one version, holding both plots, each moved once
            bought = land.contract_of_household(buyer)
            assert bought is not None and bought.version == 1, round_no
            assert len(history.versions(LandContract, bought.uid)) == 1, round_no
            current = db.session.scalar(
                select(func.count())
                .select_from(LandContract)
                .where(LandContract.household_uid == buyer, LandContract.end_lifespan.is_(None))
            )
            assert current == 1, round_no
            for uid in pair.plots:
                assert len(history.versions(Plot, uid)) == plot_versions[uid] + 1, round_no
                assert history.current_of(Plot, uid).contract_uid == bought.uid, round_no
            db.session.remove()
    print(f"\nregistration twice, {ROUNDS} rounds: {dict(seen)}")
    assert_chain_whole(app)


def test_two_members_bidding_at_once_leave_one_standing_bid(fresh_app):
    """Two member households bid the same amount (the reserve) on a bidding listing at the same
    moment: the listing row is locked for a bid, so one bid stands and the other is refused in
    plain words as below the step; never two bids at the same standing amount."""
    from datetime import UTC, datetime, timedelta

    from app.market.models import Offer

    app = fresh_app
    world = build_world(app)
    for round_no in range(ROUNDS):
        with committed(app):
            lid = walk.published(
                world.family,
                method="bidding",
                bid_deadline=datetime.now(UTC) + timedelta(days=30),
                bid_step_fen=10_000,
                deposit_fen=None,
            )
        jobs = [
            lambda lid=lid, household=household: offers.make_offer(
                lid, walk.user("admin_a"), amount_fen=3_000_000, household_uid=household
            )
            for household in world.buyers
        ]
        outcomes = race_outcomes(app, jobs if round_no % 2 else jobs[::-1])
        assert sorted(o.result for o in outcomes) == ["bid_too_low", "ok"], (round_no, outcomes)
        with app.app_context():
            bids = list(db.session.scalars(select(Offer).where(Offer.listing_id == lid)))
            assert [(b.amount_fen, b.state) for b in bids] == [(3_000_000, "active")], round_no
            db.session.remove()
        withdraw(app, lid)
    assert_chain_whole(app)
