"""Walk a listing to a given step with the right person taking each step (shared by the
market's tests: services, pages, API, races).

Each function returns the listing's id; ``today`` values are the county's days the step needs
(acceptance waits for the end of the cooling-off period).
"""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.market import approvals, listings, offers
from app.registry.history import county_today


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def draft(family: dict, **kw) -> int:
    """A draft transfer of 李家's whole contract, by the farmer_a account."""
    args = {"deal_kind": "transfer", "method": "negotiated", "asking_price_fen": 3_000_000}
    args.update(kw)
    return listings.create_listing(user("farmer_a"), "land_contract", family["contract"], **args).id


def ready(family: dict, **kw) -> int:
    """Declared by the holder; the wife's consent witnessed by admin_a with the paper form."""
    lid = draft(family, **kw)
    listings.declare(lid, user("farmer_a"))
    listings.decide_consent(
        lid, family["wife"], user("admin_a"), give=True, witnessed_paper_id=family["paper"]
    )
    return lid


def published(family: dict, **kw) -> int:
    lid = ready(family, **kw)
    listings.publish(lid, user("admin_a"))
    return lid


def accepted(family: dict, buyers: dict, *, amount_fen: int = 2_900_000) -> int:
    """赵家 (the member household) offered, and the holder accepted after the cooling-off."""
    lid = published(family)
    offer = offers.make_offer(
        lid, user("admin_a"), amount_fen=amount_fen, household_uid=buyers["member"]
    )
    day = listings._listing(lid).cooling_off_ends_on
    offers.accept_offer(lid, offer.id, user("farmer_a"), today=day)
    return lid


def approved(family: dict, buyers: dict) -> int:
    """The collective consented and the bureau approved: the listing is at ``contracting``."""
    lid = accepted(family, buyers)
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    return lid


def contracted(family: dict, buyers: dict, *, payment: str = "confirmed") -> int:
    """Contract and payment recorded: ready to register."""
    lid = approved(family, buyers)
    today = county_today()
    approvals.record_contract(
        lid,
        user("admin_a"),
        signed_on=today,
        contract_document_id=family["paper"],
        payment_terms="一次性付清",
    )
    approvals.record_payment(lid, user("admin_a"), how=payment, reference="BANK-1", paid_on=today)
    return lid
