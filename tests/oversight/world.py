"""Villages of settled households, some of which sold or gave up a right through the
marketplace: each household is made, settled and (when asked) walked through every step of a
transfer to registration, through the services (a handful of households: no bulk shortcut)."""

from __future__ import annotations

from datetime import date, timedelta

from app.market import approvals, listings, offers, registration
from app.registry import documents
from app.registry.history import county_today
from app.settlement import services as settlement
from tests.factories import documents as fx
from tests.factories import land as land_fx
from tests.factories import people as pf
from tests.market.walk import user


def document(collective_id: int) -> int:
    return documents.store_document(
        collective_id, "survey", "测绘成果", "s.pdf", fx.minimal_pdf(f"survey {collective_id}")
    ).id


def settle(person_uid: int, doc_id: int, day: date):
    return settlement.record_settlement(
        user("officer"),
        person_uid,
        settled_on=day,
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=doc_id,
    )


def household(collective_id: int, doc_id: int, name: str, *, settled_on: date | None = None):
    """A household of one co-holder (with a confirmed contract), settled in town on
    ``settled_on`` (not settled when None). Returns (household, holder, contract)."""
    hh = fx.make_household(collective_id, name)
    holder = fx.make_holder(hh, name + "主")
    contract = fx.make_contract(collective_id, doc_id, household=hh)
    x, y = land_fx.origin(collective_id)
    land_fx.add(collective_id, land_fx.square(x, y), contract_uid=contract.uid)
    if settled_on is not None:
        settle(holder.uid, doc_id, settled_on)
    return hh, holder, contract


def admin_of(collective_id: int):
    return user("admin_a") if collective_id in user("admin_a").collective_ids else user("admin_b")


def declared(collective_id: int, holder_uid: int, contract_uid: int, doc_id: int) -> int:
    """A transfer of the whole contract declared by the holder in person (witnessed by staff)."""
    admin = admin_of(collective_id)
    listing = listings.create_listing(
        admin,
        "land_contract",
        contract_uid,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=1_000_000,
    )
    listings.declare(listing.id, admin, person_uid=holder_uid, witnessed_paper_id=doc_id)
    return listing.id


def accepted(collective_id: int, listing_id: int) -> int:
    """Published, a member household offered, the holder accepted after the cooling-off."""
    admin = admin_of(collective_id)
    listings.publish(listing_id, admin)
    _head, buyer = pf.household(collective_id, "受让人")
    offer = offers.make_offer(listing_id, admin, amount_fen=990_000, household_uid=buyer.uid)
    day = listings._listing(listing_id).cooling_off_ends_on
    offers.accept_offer(listing_id, offer.id, admin, today=day)
    return listing_id


def completed(collective_id: int, listing_id: int) -> int:
    """Every step after acceptance: consent, the bureau (deciding on any flag), contract,
    payment, registration today."""
    admin = admin_of(collective_id)
    approvals.collective_consent(listing_id, admin, approve=True)
    approvals.bureau_review(
        listing_id,
        user("bureau"),
        approve=True,
        reason="材料齐全",
        flag_decision="本人当面确认自愿转让",
        interviewed=True,
    )
    today = county_today()
    doc = listings._listing(listing_id)
    approvals.record_contract(
        listing_id,
        admin,
        signed_on=today,
        contract_document_id=_paper(doc.collective_id),
        payment_terms="一次性付清",
    )
    approvals.record_payment(listing_id, admin, how="confirmed", reference="BANK-1", paid_on=today)
    registration.register(listing_id, admin)
    return listing_id


def _paper(collective_id: int) -> int:
    return documents.store_document(
        collective_id, "other", "合同", "k.pdf", fx.minimal_pdf(f"contract {collective_id}")
    ).id


def sold(collective_id: int, doc_id: int, name: str, *, settled_on: date | None) -> int:
    """A household (settled or not) that transferred its contract, registered today."""
    _hh, holder, contract = household(collective_id, doc_id, name, settled_on=settled_on)
    lid = declared(collective_id, holder.uid, contract.uid, doc_id)
    return completed(collective_id, accepted(collective_id, lid))


def long_ago() -> date:
    """A settlement day outside the R14 window of a declaration made today."""
    return county_today() - timedelta(days=400)
