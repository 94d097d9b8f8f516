"""The holder's steps: listing a right, the declaration, co-holders' consent, accepting an offer,
withdrawing.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.scope import farmer_household_ids, roles_required
from app.core.calendar import county_timezone
from app.core.errors import DomainError
from app.extensions import db
from app.market import (
    listings,
    offers,
    queries,
)
from app.market.forms import (
    AcceptForm,
    ConsentForm,
    DeclareForm,
    NewListingForm,
    WithdrawForm,
)
from app.market.views import bp
from app.market.views.common import (
    CHOICE_LIMIT,
    FARMER,
    LEASE_METHODS,
    _commit_and_show,
    _load,
    _my_pending_consents,
    _page,
    _plain,
    use_choices,
)
from app.registry.models import Homestead, LandContract, Plot, ShareHolding
from app.registry.views.common import choices, submit

# --- farmers: list, declare, consent, accept, withdraw


def _right_choices() -> list[tuple[str, str]]:
    """The current rights of the farmer's households, as "kind:uid" choices."""
    out: list[tuple[str, str]] = []
    households = sorted(farmer_household_ids(current_user))
    if not households:
        return out
    for c in db.session.scalars(
        select(LandContract)
        .where(LandContract.household_uid.in_(households), LandContract.end_lifespan.is_(None))
        .order_by(LandContract.uid)
    ):
        out.append(
            (
                f"land_contract:{c.uid}",
                _(
                    "Contracted land, contract %(code)s (%(area)s m²)",
                    code=c.cbhtbm,
                    area=_area(c.contract_area_m2),
                ),
            )
        )
    for h in db.session.scalars(
        select(Homestead)
        .where(Homestead.household_uid.in_(households), Homestead.end_lifespan.is_(None))
        .order_by(Homestead.uid)
    ):
        out.append(
            (
                f"homestead:{h.uid}",
                _("Homestead and house (%(area)s m²)", area=_area(h.area_m2)),
            )
        )
    for s in db.session.scalars(
        select(ShareHolding)
        .where(ShareHolding.household_uid.in_(households), ShareHolding.end_lifespan.is_(None))
        .order_by(ShareHolding.uid)
    ):
        out.append(
            (
                f"share_holding:{s.uid}",
                _("Collective income shares (%(n)s shares)", n=_plain(s.shares)),
            )
        )
    return out


def _area(m2: float | None) -> str:
    """Square metres, whole, with thousands separators."""
    return f"{(m2 or 0):,.0f}"


def _plot_choices() -> list[tuple[str, str]]:
    households = sorted(farmer_household_ids(current_user))
    if not households:
        return []
    rows = db.session.scalars(
        select(Plot)
        .join(
            LandContract,
            (LandContract.uid == Plot.contract_uid) & LandContract.end_lifespan.is_(None),
        )
        .where(LandContract.household_uid.in_(households), Plot.end_lifespan.is_(None))
        .order_by(Plot.dkbm)
        .limit(CHOICE_LIMIT)
    )
    return [
        (
            str(p.uid),
            _(
                "%(name)s (%(area)s m²)",
                name=p.name or p.dkbm,
                area=_area(p.contract_area_m2 or p.measured_area_m2),
            ),
        )
        for p in rows
    ]


def _bidding_terms(form: NewListingForm) -> dict[str, Any]:
    """The bidding's deadline (typed in the county's time, given to the service as an aware
    time: it keeps naive UTC), its least step and its deposit, in fen."""
    typed = form.bid_deadline.data
    return {
        "bid_deadline": typed.replace(tzinfo=county_timezone()) if typed else None,
        "bid_step_fen": form.bid_step.data,
        "deposit_fen": form.deposit.data,
    }


def _lease_terms(form: NewListingForm) -> dict[str, Any]:
    """A lease's asked terms (R05), the rent in fen."""
    return {
        "lease_method": form.lease_method.data or None,
        "lease_use": form.lease_use.data or None,
        "lease_starts_on": form.lease_starts_on.data,
        "lease_ends_on": form.lease_ends_on.data,
        "rent_fen_per_mu_year": form.rent.data,
        "payment_schedule": form.payment_schedule.data or None,
    }


@bp.route("/new", methods=["GET", "POST"])
@roles_required(FARMER)
def new():
    """List one of my household's current rights (a draft: declaring comes next)."""
    form = NewListingForm()
    form.right.choices = choices([("", _("— choose —")), *_right_choices()])
    form.plots.choices = choices(_plot_choices())
    form.lease_method.choices = choices([(k, str(v)) for k, v in LEASE_METHODS.items()])
    form.lease_use.choices = choices(use_choices())

    def create() -> Any:
        kind, _sep, uid = (form.right.data or "").partition(":")
        deal_kind = form.deal_kind.data
        method = "resolution" if deal_kind == "paid_exit" else (form.method.data or "negotiated")
        if deal_kind == "lease":
            method = "negotiated"
        return listings.create_listing(
            current_user,
            kind,
            int(uid) if uid.isdigit() else 0,
            deal_kind=deal_kind,
            method=method,
            plot_uids=[int(p) for p in form.plots.data or [] if str(p).isdigit()] or None,
            shares=form.shares.data,
            asking_price_fen=form.price.data,
            description=form.description.data,
            **(_bidding_terms(form) if method == "bidding" else {}),
            **(_lease_terms(form) if deal_kind == "lease" else {}),
        )

    outcome = submit(
        form,
        create,
        fields={
            "right_uid": "right",
            "right_kind": "right",
            "plot_uids": "plots",
            "plots": "plots",
            "lease_method": "lease_method",
            "use": "lease_use",
            "starts_on": "lease_starts_on",
            "ends_on": "lease_ends_on",
            "end_date": "lease_ends_on",
            "contract_uid": "right",
            "rent": "rent",
            "payment_schedule": "payment_schedule",
        },
    )
    if outcome.done:
        db.session.commit()
        flash(_("Your listing is saved as a draft. Read the statement and declare it."))
        return redirect(url_for("market.declare", listing_id=outcome.value.id))
    status = outcome.status
    return render_template("market/new.html", form=form), status


@bp.route("/<int:listing_id>/declare", methods=["GET", "POST"])
@roles_required(FARMER)
def declare(listing_id: int):
    """R13: the holder reads what they give up and keep, and declares it their free choice."""
    obj = _load(listing_id)
    if not queries.is_own(current_user, obj):
        abort(404)
    form = DeclareForm()
    outcome = submit(form, lambda: listings.declare(obj.id, current_user))
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _(
                "Your declaration is recorded. No offer can be accepted before %(day)s.",
                day=obj.cooling_off_ends_on,
            ),
            obj.id,
        )
    return _page(
        "market/declare.html", form, obj, status, statement=listings.statement(obj).split("\n")
    )


@bp.route("/<int:listing_id>/consent", methods=["GET", "POST"])
@roles_required(FARMER)
def consent(listing_id: int):
    """R13: a co-holder (or a minor's guardian) gives or refuses consent, logged in."""
    obj = _load(listing_id)
    pending = _my_pending_consents(obj)
    if not pending and request.method == "GET":
        flash(_("No consent of yours is awaited for this listing."))
        return redirect(url_for("market.listing", listing_id=obj.id))
    form = ConsentForm()
    form.person.choices = choices(pending)
    if request.method == "GET" and pending:
        form.person.data = pending[0][0]
    give = form.decision.data == "give"
    outcome = submit(
        form,
        lambda: listings.decide_consent(
            obj.id,
            form.person.data or 0,
            current_user,
            give=give,
            reason=form.reason.data or None,
        ),
        fields={"person_uid": "person"},
    )
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _("Your consent is recorded.") if give else _("Your refusal is recorded."), obj.id
        )
    return _page(
        "market/consent.html", form, obj, status, statement=listings.statement(obj).split("\n")
    )


@bp.route("/<int:listing_id>/accept", methods=["POST"])
@roles_required(FARMER)
def accept(listing_id: int):
    """The holder accepts one offer (after the cooling-off period)."""
    obj = _load(listing_id)
    form = AcceptForm()
    if not form.validate_on_submit() or not str(form.offer_id.data or "").isdigit():
        flash(_("Choose an offer to accept."), "error")
        return redirect(url_for("market.listing", listing_id=obj.id))
    offer_id = int(form.offer_id.data)
    try:
        deal = offers.accept_offer(obj.id, offer_id if offer_id < 2**31 else 0, current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("market.listing", listing_id=obj.id), 303)
    if deal is None:  # an outsider's offer for a lease: members may match it first (R05)
        return _commit_and_show(
            _(
                "You chose the offer. The collective's members may match its terms until "
                "%(day)s; if none does, it takes the lease.",
                day=obj.priority_ends_on,
            ),
            obj.id,
        )
    return _commit_and_show(
        _("You accepted the offer. The collective now checks and consents."), obj.id
    )


@bp.route("/<int:listing_id>/withdraw", methods=["GET", "POST"])
@roles_required(FARMER)
def withdraw(listing_id: int):
    """R13: withdraw without giving a reason, until the contract is signed."""
    obj = _load(listing_id)
    if not queries.is_own(current_user, obj):
        abort(404)
    form = WithdrawForm()
    outcome = submit(form, lambda: listings.withdraw(obj.id, current_user))
    status = outcome.status
    if outcome.done:
        db.session.commit()
        flash(_("The listing is withdrawn. Your right is free again, from now on."))
        return redirect(url_for("market.mine"))
    return _page("market/withdraw.html", form, obj, status)
