"""Leasing the land-management right through the marketplace (R05, issue 14 part 3): a lease
listing asks its terms; members and outsiders offer; an outsider's chosen terms are first shown
to the collective's members, one of whom may match them in the priority period and take the
lease; otherwise the outsider is confirmed; registration records the lease, the contract stays."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import trail
from app.auth.models import User
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.extensions import db
from app.leases import services as leases
from app.leases.models import Lease
from app.market import approvals, attestation, leasing, listings, offers, priority, registration
from app.market.lease_terms import Outsider, Terms
from app.market.models import Deal, MembersPriority, Offer
from app.notify.models import Notification
from app.registry import encumbrances, history
from app.registry.models import LandContract
from tests.market import walk
from tests.market.walk import user

COMPANY = Outsider("company", "始兴绿源农业有限公司", uscc="91440222MA4W8PT07N")
COURT = "始兴县人民法院"


def terms(**kw) -> Terms:
    start = county_today() + timedelta(days=40)
    base = {"starts_on": start, "ends_on": start.replace(year=start.year + 6), "use": "grain"}
    base.update(kw)
    return Terms(**base)


def lease_published(family: dict) -> int:
    t = terms()
    return walk.published(
        family,
        deal_kind="lease",
        asking_price_fen=None,
        plot_uids=[family["plots"][0]],
        lease_method="lease",
        lease_use=t.use,
        lease_starts_on=t.starts_on,
        lease_ends_on=t.ends_on,
        rent_fen_per_mu_year=80_000,
        payment_schedule="annual",
    )


def outsider_chosen(family: dict, *, rent: int = 90_000) -> tuple[int, Offer]:
    """A company's offer recorded by admin_a; the holder chose it after the cooling-off."""
    lid = lease_published(family)
    offer = offers.make_offer(
        lid, user("admin_a"), amount_fen=rent, terms=terms(), outsider=COMPANY
    )
    day = listings._listing(lid).cooling_off_ends_on
    assert offers.accept_offer(lid, offer.id, user("farmer_a"), today=day) is None
    return lid, offer


def test_r05_a_lease_listing_asks_its_terms_and_says_the_contract_stays(family):
    lid = lease_published(family)
    listing = listings._listing(lid)
    assert (listing.deal_kind, listing.lease_use, listing.rent_fen_per_mu_year) == (
        "lease",
        "grain",
        80_000,
    )
    assert listing.asking_price_fen is None
    words = listings.statement(listing)
    assert "承包合同仍属于您家" in words or "stays your household's" in words


def test_r05_a_lease_past_the_contracts_term_or_for_building_is_not_listed(family):
    contract = history.current_of(LandContract, family["contract"])
    for bad, code in (
        ({"lease_ends_on": contract.term_end + timedelta(days=1)}, None),
        ({"lease_use": "factory"}, "use_not_agricultural"),
    ):
        t = terms()
        args = {
            "deal_kind": "lease",
            "asking_price_fen": None,
            "lease_method": "lease",
            "lease_use": t.use,
            "lease_starts_on": t.starts_on,
            "lease_ends_on": t.ends_on,
            "rent_fen_per_mu_year": 80_000,
            "payment_schedule": "annual",
            **bad,
        }
        with pytest.raises(DomainError) as refused:
            walk.draft(family, **args)
        if code:
            assert refused.value.code == code
        else:
            assert refused.value.rule == "R02"


def lease_args(**kw) -> dict:
    t = terms()
    return {
        "deal_kind": "lease",
        "asking_price_fen": None,
        "plot_uids": kw.pop("plot_uids", None),
        "lease_method": "lease",
        "lease_use": t.use,
        "lease_starts_on": t.starts_on,
        "lease_ends_on": t.ends_on,
        "rent_fen_per_mu_year": 80_000,
        "payment_schedule": "annual",
        **kw,
    }


def test_r05_a_frozen_plot_cannot_be_listed_for_lease(family):
    plot = family["plots"][0]
    ready = walk.ready(family, **lease_args(plot_uids=[plot]))
    with trail.acting(trail.AuditContext(actor="county", actor_id=9100, role="bureau_reviewer")):
        encumbrances.record_encumbrance(
            "freeze",
            "plot",
            plot,
            party_name=COURT,
            case_number="（2026）粤0222执保12号",
            starts_on=county_today(),
            source_document_id=family["doc"],
        )
    with pytest.raises(DomainError) as refused:  # the title check before publishing
        listings.publish(ready, user("admin_a"))
    assert refused.value.code == "encumbered_freeze"
    assert "始兴县人民法院" in refused.value.message
    listings.withdraw(ready, user("farmer_a"))
    with pytest.raises(DomainError) as refused:  # and a new listing of the plot
        walk.draft(family, **lease_args(plot_uids=[plot]))
    assert refused.value.code == "encumbered_freeze"


def test_r15_outsider_offers_are_refused_on_transfer_listings(family):
    lid = walk.published(family)
    with pytest.raises(DomainError) as refused:
        offers.make_offer(
            lid, user("admin_a"), amount_fen=3_000_000, terms=terms(), outsider=COMPANY
        )
    assert refused.value.code == "outsider_not_allowed"
    assert db.session.scalar(select(Offer.id).where(Offer.listing_id == lid)) is None


def test_r05_an_outsiders_offer_names_them_by_a_valid_code_and_is_recorded_by_staff(family):
    lid = lease_published(family)
    bad = Outsider("company", "某公司", uscc="91440222MA4W8PT070")
    with pytest.raises(DomainError) as refused:
        offers.make_offer(lid, user("admin_a"), amount_fen=90_000, terms=terms(), outsider=bad)
    assert refused.value.field == "lessee_uscc"
    with pytest.raises(DomainError) as refused:
        offers.make_offer(lid, user("farmer_a"), amount_fen=90_000, terms=terms(), outsider=COMPANY)
    assert refused.value.code == "outsider_by_staff"


def test_r05_choosing_an_outsider_opens_the_members_priority_and_tells_members(family, buyers, app):
    lid, offer = outsider_chosen(family)
    listing = listings._listing(lid)
    assert listing.state == "members_priority"
    record = db.session.scalar(select(MembersPriority).where(MembersPriority.listing_id == lid))
    assert record.offer_id == offer.id and record.decision is None
    assert (record.ends_on - record.opened_on).days == app.config["LEASE_PRIORITY_DAYS"]
    assert buyers["member"] in json.loads(record.told)
    assert family["household"] not in json.loads(record.told)
    buyer = db.session.scalar(select(User).where(User.username == "buyer_a"))
    told = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == buyer.id)
    ).all()
    assert "market.priority" in told
    assert db.session.scalar(select(Deal.id).where(Deal.listing_id == lid)) is None


def test_r05_a_member_matching_an_outsiders_terms_in_the_priority_period_takes_the_lease(
    family, buyers
):
    lid, offer = outsider_chosen(family)
    day = listings._listing(lid).priority_ends_on
    deal = leasing.match(
        lid,
        user("buyer_a"),
        household_uid=buyers["member"],
        amount_fen=90_000,
        terms=terms(),
        today=day,
    )
    assert deal.buyer_household_uid == buyers["member"]
    assert listings._listing(lid).state == "collective_consent"
    assert db.session.get(Offer, offer.id).state == "declined"
    evidence = priority.evidence(listings._listing(lid))
    assert evidence["decision"] == "member_matched"
    assert evidence["offered"]["rent_fen_per_mu_year"] == 90_000
    assert [o["household_uid"] for o in evidence["offers_in_period"]] == [buyers["member"]]
    with pytest.raises(DomainError):  # the period is decided: nobody else matches
        leasing.confirm_outsider(lid, user("admin_a"), today=day + timedelta(days=1))


def test_r05_a_lower_member_offer_does_not_match(family, buyers):
    lid, _offer = outsider_chosen(family)
    for amount, t in ((89_999, terms()), (90_000, terms(use="vegetables"))):
        with pytest.raises(DomainError) as refused:
            leasing.match(
                lid, user("buyer_a"), household_uid=buyers["member"], amount_fen=amount, terms=t
            )
        assert refused.value.code == "no_match"
        assert "900.00" in refused.value.message
    assert listings._listing(lid).state == "members_priority"


def test_r05_the_outsider_takes_the_lease_when_no_member_matches_in_time(family, buyers):
    lid, offer = outsider_chosen(family)
    ends = listings._listing(lid).priority_ends_on
    with pytest.raises(DomainError) as refused:
        leasing.confirm_outsider(lid, None, today=ends)
    assert refused.value.code == "priority_running"
    with pytest.raises(DomainError) as late:
        leasing.match(
            lid,
            user("buyer_a"),
            household_uid=buyers["member"],
            amount_fen=95_000,
            terms=terms(),
            today=ends + timedelta(days=1),
        )
    assert late.value.code == "priority_over"
    done = leasing.tick(ends + timedelta(days=1))
    assert list(done["confirmed"]) == [lid]
    assert leasing.tick(ends + timedelta(days=1)) == {"confirmed": {}, "failed": {}}
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    assert (deal.offer_id, deal.buyer_household_uid) == (offer.id, None)
    assert json.loads(deal.evidence)["priority"]["decision"] == "outsider_confirmed"


def test_r05_registration_records_the_lease_and_the_contract_stays(family, buyers):
    lid, offer = outsider_chosen(family)
    ends = listings._listing(lid).priority_ends_on
    today = ends + timedelta(days=1)
    leasing.confirm_outsider(lid, user("admin_a"), today=today)
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    approvals.record_contract(
        lid,
        user("admin_a"),
        signed_on=today,
        contract_document_id=family["paper"],
        payment_terms="每年一次",
        today=today,
    )
    approvals.record_payment(
        lid, user("admin_a"), how="confirmed", reference="B-1", paid_on=today, today=today
    )
    before = history.current_of(LandContract, family["contract"])
    deal = registration.register(lid, user("admin_a"), today=today)
    record = json.loads(deal.registration)
    assert record["lease_id"] and record["lease_number"]
    assert record["plot_uids"] == [family["plots"][0]]
    after = history.current_of(LandContract, family["contract"])
    assert (after.id, after.household_uid) == (before.id, family["household"])
    assert listings._listing(lid).state == "completed"
    lease = db.session.get(Lease, record["lease_id"])
    assert (lease.channel, lease.lessee_kind, lease.lessee_uscc) == (
        "market",
        "company",
        COMPANY.uscc,
    )
    assert (lease.rent_fen_per_mu_year, lease.use) == (90_000, "grain")
    stored = json.loads(lease.priority_evidence)
    assert stored["member_matched"] is False and stored["listing_id"] == lid
    assert leases.leases_of_plots([family["plots"][0]]) == [lease]
    sheet = attestation.attestation_of(listings._listing(lid))
    assert sheet.buyer == COMPANY.name and sheet.number == deal.attestation_number
    again = registration.register(lid, user("admin_a"), today=today)  # a retry changes nothing
    assert again.id == deal.id


def member_lease(family: dict, buyers: dict) -> Lease:
    """赵家 matched a company's terms in the priority period; the deal is registered."""
    lid, _offer = outsider_chosen(family)
    day = listings._listing(lid).priority_ends_on
    leasing.match(
        lid,
        user("admin_a"),
        household_uid=buyers["member"],
        amount_fen=95_000,
        terms=terms(),
        today=day,
    )
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    approvals.record_contract(
        lid,
        user("admin_a"),
        signed_on=day,
        contract_document_id=family["paper"],
        payment_terms="每年一次",
        today=day,
    )
    approvals.record_payment(
        lid, user("admin_a"), how="confirmed", reference="B-2", paid_on=day, today=day
    )
    deal = registration.register(lid, user("admin_a"), today=day)
    return db.session.get(Lease, json.loads(deal.registration)["lease_id"])


def test_r05_a_member_who_matched_is_recorded_as_the_lessee(family, buyers):
    lease = member_lease(family, buyers)
    assert (lease.lessee_kind, lease.lessee_household_uid) == ("member_household", buyers["member"])
    assert lease.rent_fen_per_mu_year == 95_000


def test_r05_a_plot_already_leased_cannot_be_listed_for_lease_again(family, buyers):
    member_lease(family, buyers)
    with pytest.raises(DomainError) as refused:
        walk.draft(family, **lease_args(plot_uids=[family["plots"][0]]))
    assert refused.value.code == "plot_already_leased"
    walk.draft(family, **lease_args(plot_uids=[family["plots"][1]]))  # the other plot is free


def test_r05_flask_market_tick_confirms_the_outsider_after_the_period(app, family, buyers):
    lid, offer = outsider_chosen(family)
    with trail.acting(trail.AuditContext(actor="test-clock", role="system")):
        yesterday = county_today() - timedelta(days=1)
        listings._listing(lid).priority_ends_on = yesterday
        priority.of_listing(lid).ends_on = yesterday
        db.session.flush()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["market", "tick"])
    assert first.exit_code == 0, first.output
    assert f"listing {lid}: no member matched" in first.output
    assert listings._listing(lid).state == "collective_consent"
    second = runner.invoke(args=["market", "tick"])
    assert "nothing was due" in second.output


def one_year() -> Terms:
    """A lease of exactly one year (its last day the day before the anniversary)."""
    start = county_today() + timedelta(days=40)
    return Terms(start, start.replace(year=start.year + 1) - timedelta(days=1), "grain")


def member_lease_at_contracting(family: dict, buyers: dict, t: Terms) -> int:
    """A lease listing of one plot on terms ``t``; 赵家 (a member) offered, the holder accepted,
    the collective and the bureau approved: the listing is at the contract step."""
    lid = walk.published(
        family,
        deal_kind="lease",
        asking_price_fen=None,
        plot_uids=[family["plots"][0]],
        lease_method="lease",
        lease_use=t.use,
        lease_starts_on=t.starts_on,
        lease_ends_on=t.ends_on,
        rent_fen_per_mu_year=80_000,
        payment_schedule="once",
    )
    offer = offers.make_offer(
        lid, user("admin_a"), amount_fen=85_000, terms=t, household_uid=buyers["member"]
    )
    day = listings._listing(lid).cooling_off_ends_on
    offers.accept_offer(lid, offer.id, user("farmer_a"), today=day)
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    assert listings._listing(lid).state == "contracting"
    return lid


def test_r05_a_market_lease_of_one_year_or_less_registers_without_a_written_contract(
    family, buyers
):
    lid = member_lease_at_contracting(family, buyers, one_year())
    today = county_today()
    approvals.record_contract(
        lid, user("admin_a"), signed_on=today, contract_document_id=None, payment_terms="一次付清"
    )
    approvals.record_payment(lid, user("admin_a"), how="confirmed", reference="B-3", paid_on=today)
    deal = registration.register(lid, user("admin_a"))
    assert deal.contract_document_id is None
    lease = db.session.get(Lease, json.loads(deal.registration)["lease_id"])
    assert (lease.contract_document_id, lease.lessee_household_uid) == (None, buyers["member"])
    assert listings._listing(lid).state == "completed"
    assert leases.leases_of_plots([family["plots"][0]]) == [lease]


def test_r05_a_market_lease_of_more_than_one_year_is_refused_without_a_written_contract(
    family, buyers
):
    t = one_year()
    lid = member_lease_at_contracting(
        family, buyers, Terms(t.starts_on, t.ends_on + timedelta(1), t.use)
    )
    with pytest.raises(DomainError) as refused:
        approvals.record_contract(
            lid,
            user("admin_a"),
            signed_on=county_today(),
            contract_document_id=None,
            payment_terms="一次付清",
        )
    assert refused.value.code == "written_contract_required"
    assert "书面合同" in refused.value.message
    assert db.session.scalar(select(Deal).where(Deal.listing_id == lid)).contract_signed_on is None
    approvals.record_contract(  # with the signed contract it is recorded
        lid,
        user("admin_a"),
        signed_on=county_today(),
        contract_document_id=family["paper"],
        payment_terms="一次付清",
    )
