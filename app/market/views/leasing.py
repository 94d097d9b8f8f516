"""Leases through the marketplace (R05): an outsider's offer recorded by staff, a member
household matching the chosen outsider's terms in the priority period, and the outsider's
confirmation after it."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.scope import roles_required
from app.extensions import db
from app.market import lease_terms, leasing, offers, priority, queries
from app.market.forms import ConfirmForm, MatchForm, OutsiderOfferForm
from app.market.models import Listing, Offer
from app.market.views import bp
from app.market.views.buyers import _household_choices
from app.market.views.common import (
    ADMIN,
    FARMER,
    _commit_and_show,
    _load,
    _page,
    _role,
    use_choices,
)
from app.registry.views.common import choices, submit

TERM_FIELDS = {"starts_on": "starts_on", "ends_on": "ends_on", "use": "use"}


def _terms(form: Any) -> lease_terms.Terms:
    return lease_terms.Terms(form.starts_on.data, form.ends_on.data, form.use.data or "")


def _lease_or_404(listing_id: int) -> Listing:
    obj = _load(listing_id)
    if obj.deal_kind != "lease":
        abort(404)
    return obj


@bp.route("/<int:listing_id>/outsider-offer", methods=["GET", "POST"])
@roles_required(ADMIN)
def outsider_offer(listing_id: int):
    """Staff record the offer of someone outside the collective (they have no login), with
    their ID number or credit code and their terms."""
    obj = _lease_or_404(listing_id)
    form = OutsiderOfferForm()
    form.use.choices = choices(use_choices())
    if not form.is_submitted():
        form.starts_on.data, form.ends_on.data = obj.lease_starts_on, obj.lease_ends_on
        form.use.data = obj.lease_use
    outcome = submit(
        form,
        lambda: offers.make_offer(
            obj.id,
            current_user,
            amount_fen=form.amount.data,
            terms=_terms(form),
            outsider=lease_terms.Outsider(
                form.lessee_kind.data or "",
                form.lessee_name.data or "",
                form.lessee_id_number.data or None,
                form.lessee_uscc.data or None,
                form.lessee_contact.data or None,
            ),
        ),
        fields={**TERM_FIELDS, "amount_fen": "amount", "rent": "amount"},
    )
    if outcome.done:
        return _commit_and_show(
            _("The offer is recorded. If the holder chooses it, members may match it first."),
            obj.id,
        )
    return _page(
        "market/staff_form.html",
        form,
        obj,
        outcome.status,
        title=_("Record an offer from outside the collective"),
        fields=[
            "lessee_kind",
            "lessee_name",
            "lessee_id_number",
            "lessee_uscc",
            "lessee_contact",
            "amount",
            "starts_on",
            "ends_on",
            "use",
        ],
        deal=None,
        note=_(
            "A person or household of another collective, a cooperative or a company offers "
            "to lease the land. Name them by the resident ID number or the credit code."
        ),
    )


@bp.route("/<int:listing_id>/match", methods=["GET", "POST"])
@roles_required(FARMER, ADMIN)
def priority_match(listing_id: int):
    """R05: a member household matches the outsider's chosen terms in the priority period and
    takes the lease (staff record a match made at the office)."""
    obj = _lease_or_404(listing_id)
    if _role() == FARMER and queries.is_own(current_user, obj):
        abort(404)
    record = priority.of_listing(obj.id)
    if record is None:
        abort(404)
    chosen = db.session.get(Offer, record.offer_id)
    form = MatchForm()
    form.household.choices = choices(_household_choices(obj))
    form.use.choices = choices(use_choices())
    if not form.is_submitted() and chosen is not None:
        form.starts_on.data, form.ends_on.data = chosen.lease_starts_on, chosen.lease_ends_on
        form.use.data = chosen.lease_use
        form.amount.data = chosen.amount_fen
    outcome = submit(
        form,
        lambda: leasing.match(
            obj.id,
            current_user,
            household_uid=form.household.data,
            amount_fen=form.amount.data,
            terms=_terms(form),
        ),
        fields={**TERM_FIELDS, "household_uid": "household", "amount_fen": "amount"},
    )
    if outcome.done:
        return _commit_and_show(
            _("You matched the terms: your household takes the lease. The collective checks next."),
            obj.id,
        )
    return _page(
        "market/staff_form.html",
        form,
        obj,
        outcome.status,
        title=_("Match these terms (members' priority)"),
        fields=["household", "amount", "starts_on", "ends_on", "use"],
        deal=None,
        note=_(
            "The holder chose an offer from outside the collective. A member household that "
            "offers the same rent or more, for the same term and use, by %(day)s takes the "
            "lease instead: the first to match.",
            day=record.ends_on,
        ),
    )


@bp.route("/<int:listing_id>/confirm-outsider", methods=["GET", "POST"])
@roles_required(ADMIN)
def confirm_outsider(listing_id: int):
    """After the priority period without a match, the outsider takes the lease."""
    obj = _lease_or_404(listing_id)
    form = ConfirmForm()
    outcome = submit(form, lambda: leasing.confirm_outsider(obj.id, current_user))
    if outcome.done:
        return _commit_and_show(
            _(
                "No member matched in time: the outsider takes the lease. The collective "
                "checks next."
            ),
            obj.id,
        )
    return _page(
        "market/staff_form.html",
        form,
        obj,
        outcome.status,
        title=_("Confirm the outsider"),
        fields=[],
        deal=None,
        note=_(
            "The members' priority period is over and no member household matched the terms: "
            "the offer the holder chose from outside the collective takes the lease."
        ),
    )
