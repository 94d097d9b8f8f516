"""A marketplace deal in a given collective, for scope tests over the whole URL map: a listing
walked by the collective's administrator (witnessed declaration) through publication, an offer
of a member household, and its acceptance (the transaction)."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role, User
from app.extensions import db
from app.registry import documents
from tests.factories import documents as fx
from tests.factories import people as pf


def _admin(collective_id: int) -> User:
    admins = db.session.scalars(select(User).where(User.role == Role.COLLECTIVE_ADMIN.value))
    return next(u for u in admins if collective_id in u.collective_ids)


def make(collective_id: int, ctx: dict) -> dict:
    from app.market import listings, offers

    admin = _admin(collective_id)
    household = fx.make_household(collective_id, "出让户")
    holder = fx.make_holder(household, "出让人")
    survey = documents.store_document(
        collective_id, "survey", "测绘成果", "s.pdf", fx.minimal_pdf("survey")
    )
    contract = fx.make_contract(collective_id, survey.id, household=household)
    paper = documents.store_document(
        collective_id, "other", "自愿声明", "d.pdf", fx.minimal_pdf("declaration")
    )
    listing = listings.create_listing(
        admin,
        "land_contract",
        contract.uid,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=1_000_000,
    )
    listings.declare(listing.id, admin, person_uid=holder.uid, witnessed_paper_id=paper.id)
    listings.publish(listing.id, admin)
    _head, buyer = pf.household(collective_id, "受让人")
    offer = offers.make_offer(listing.id, admin, amount_fen=990_000, household_uid=buyer.uid)
    deal = offers.accept_offer(listing.id, offer.id, admin, today=listing.cooling_off_ends_on)
    return {"listing_id": listing.id, "offer_id": offer.id, "transaction_id": deal.id}
