"""Members' offers and bids (and staff recording one made in person at the office)."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.scope import farmer_household_ids, roles_required
from app.extensions import db
from app.market import (
    lease_terms,
    offers,
    queries,
)
from app.market.forms import (
    OfferForm,
)
from app.market.models import Listing
from app.market.views import bp
from app.market.views.common import (
    ADMIN,
    CHOICE_LIMIT,
    FARMER,
    _bidding_view,
    _commit_and_show,
    _load,
    _offers,
    _page,
    _role,
    use_choices,
)
from app.registry.models import Household
from app.registry.views.common import choices, submit

# --- members (and staff at the office): offers


def _household_choices(obj: Listing) -> list[tuple[int, str]]:
    if _role() == FARMER:
        uids = sorted(farmer_household_ids(current_user))
        rows = db.session.execute(
            select(Household.uid, Household.name).where(
                Household.uid.in_(uids or [-1]), Household.end_lifespan.is_(None)
            )
        ).all()
    else:
        rows = db.session.execute(
            select(Household.uid, Household.name)
            .where(
                Household.collective_id == obj.collective_id,
                Household.end_lifespan.is_(None),
                Household.uid != (obj.household_uid or -1),
            )
            .order_by(Household.name, Household.uid)
            .limit(CHOICE_LIMIT)
        ).all()
    return [(uid, name) for uid, name in rows]


@bp.route("/<int:listing_id>/offer", methods=["GET", "POST"])
@roles_required(FARMER, ADMIN)
def offer(listing_id: int):
    """A member household's offer (or bid); staff record one made in person at the office."""
    obj = _load(listing_id)
    if _role() == FARMER and queries.is_own(current_user, obj):
        abort(404)
    form = OfferForm()
    households = _household_choices(obj)
    form.household.choices = choices(households)
    lease = obj.deal_kind == "lease"
    form.use.choices = choices(use_choices())
    if lease and not form.is_submitted():
        form.starts_on.data, form.ends_on.data = obj.lease_starts_on, obj.lease_ends_on
        form.use.data = obj.lease_use
    outcome = submit(
        form,
        lambda: offers.make_offer(
            obj.id,
            current_user,
            amount_fen=form.amount.data,
            household_uid=form.household.data,
            deposit_reference=form.deposit_reference.data or None,
            terms=lease_terms.Terms(form.starts_on.data, form.ends_on.data, form.use.data or "")
            if lease
            else None,
        ),
        fields={
            "household_uid": "household",
            "person_uid": "household",
            "amount_fen": "amount",
            "rent": "amount",
            "starts_on": "starts_on",
            "ends_on": "ends_on",
            "end_date": "ends_on",
            "use": "use",
        },
    )
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _("Your bid is recorded. The highest bid when the bidding closes wins.")
            if obj.method == "bidding"
            else _("The offer is recorded. The holder sees it and decides."),
            obj.id,
        )
    mine = [o for o in _offers(obj) if _role() == FARMER]
    return _page(
        "market/offer.html",
        form,
        obj,
        status,
        my_offers=mine,
        bidding=_bidding_view(obj),
        lease=lease,
    )
