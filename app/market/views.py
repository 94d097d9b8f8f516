"""The marketplace's HTML pages for every role (issue 12 §10): farmers on a phone first.

* Farmers: their household's listings and what waits for them (``/market/mine``), listing a right
  (``/market/new``), the declaration, consent, the offers on their listing and acceptance,
  withdrawal; members browse the collective's published listings and make offers.
* Collective administrators: the queue (``/market/queue``) and every step staff take.
* The county bureau: its review queue and the review. Auditors read. Nobody else sees the market.

Each view checks the role, loads the listing with ``queries.load_listing_or_404`` (a listing the
user may not see is a 404, never a 403), calls ONE service function, commits once, and shows a
refusal beside its field (``fail``). Prices are typed in yuan and kept in whole fen.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role, User
from app.auth.scope import farmer_household_ids, roles_required
from app.core.errors import DomainError
from app.core.inputs import page_arg
from app.divisions.models import Collective, Division
from app.extensions import db
from app.market import (
    approvals,
    attestation,
    exits,
    listings,
    offers,
    queries,
    registration,
    states,
)
from app.market.forms import (
    AcceptForm,
    BureauForm,
    ConsentForm,
    ContractForm,
    DecisionForm,
    DeclareForm,
    ExitForm,
    NewListingForm,
    OfferForm,
    PaymentForm,
    PublishForm,
    QueueFilterForm,
    RegisterForm,
    WithdrawForm,
    WitnessForm,
    fen_to_yuan,
)
from app.market.models import Deal, Listing
from app.registry import history, people
from app.registry.models import Homestead, Household, LandContract, Person, Plot, ShareHolding
from app.registry.views.common import choices, document_choices, fail

bp = Blueprint("market", __name__, url_prefix="/market")

FARMER = Role.FARMER
ADMIN = Role.COLLECTIVE_ADMIN
BUREAU = Role.BUREAU_REVIEWER
AUDITOR = Role.AUDITOR
#: Who sees the market at all (hukou officers and IT administrators do not: a 404).
READERS = (FARMER, ADMIN, BUREAU, AUDITOR)
PAGE = 50
CHOICE_LIMIT = 2000

RIGHT_KINDS = {
    "land_contract": _l("Contracted land"),
    "homestead": _l("Homestead and house"),
    "share_holding": _l("Collective income shares"),
}
DEAL_KINDS = {
    "transfer": _l("Transfer to a member household"),
    "paid_exit": _l("Paid exit to the collective"),
}
METHODS = {
    "negotiated": _l("Negotiated: the holder chooses an offer"),
    "bidding": _l("Open bidding: the highest bid wins"),
    "resolution": _l("Price set by the collective's resolution"),
}
STEP_LABELS = {
    "declare": _l("Declared voluntary by the holder"),
    "consent_complete": _l("Every co-holder consented"),
    "refuse_consent": _l("A co-holder did not consent"),
    "publish": _l("Title checked and published"),
    "reject": _l("Rejected"),
    "record_exit_resolution": _l("The collective's resolution recorded"),
    "accept_offer": _l("An offer was accepted"),
    "close_bidding": _l("Bidding closed"),
    "lapse": _l("Ended without a buyer"),
    "consent_collective": _l("The collective consented"),
    "consent_homestead": _l("The collective consented; sent to the township"),
    "approve": _l("Approved"),
    "register": _l("Registered"),
    "withdraw": _l("Withdrawn by the holder"),
}
ACTOR_LABELS = {
    states.HOLDER: _l("Holder"),
    states.CO_HOLDER: _l("Co-holder"),
    states.SYSTEM: _l("Automatic"),
}
CONSENT_LABELS = {
    "pending": _l("Waiting"),
    "given": _l("Consented"),
    "refused": _l("Did not consent"),
}
MODE_LABELS = {
    "self": _l("by themself, logged in"),
    "witnessed": _l("witnessed in person by staff, signed paper form attached"),
}
OFFER_LABELS = {
    "active": _l("Open"),
    "withdrawn": _l("Withdrawn"),
    "accepted": _l("Accepted"),
    "declined": _l("Not chosen"),
    "lost": _l("Outbid"),
    "superseded": _l("Replaced by a higher bid"),
}
PAYMENT_LABELS = {
    "confirmed": _l("Confirmed by the collective"),
    "escrow": _l("Held in escrow until registration"),
}
#: What each eligibility check was, in plain words (never the rule's number).
RULE_LABELS = {
    "R03": _l("Contracted land: the buyer is a member household of the same collective"),
    "R09": _l("Homestead: the buyer is a qualifying member household without a homestead"),
    "R10/R11": _l("Shares: the buyer is a member, within the cap after the deal"),
}


# --- small helpers


def _today() -> date:
    return history.county_today()


def _load(listing_id: int) -> Listing:
    return queries.load_listing_or_404(current_user, listing_id)


def _role() -> Role:
    return Role(current_user.role)


def _commit_and_show(message: str, listing_id: int):
    db.session.commit()
    flash(message)
    return redirect(url_for("market.listing", listing_id=listing_id))


def _page(template: str, form: Any, listing: Listing | None, status: int, **extra: Any):
    return (
        render_template(
            template,
            form=form,
            listing=listing,
            view=_summary(listing) if listing else None,
            **extra,
        ),
        status,
    )


def _name_of_person(uid: int | None) -> str:
    if uid is None:
        return ""
    person = history.current_of(Person, uid)
    return person.name if person is not None else _("(no longer on record)")


def _name_of_household(uid: int | None) -> str:
    if uid is None:
        return ""
    household = history.current_of(Household, uid)
    return household.name if household is not None else _("(no longer on record)")


def _right_text(listing: Listing) -> str:
    """What is listed, in words: "Contracted land (3 of its plots)", "10 shares", …"""
    kind = str(RIGHT_KINDS.get(listing.right_kind, listing.right_kind))
    if listing.plot_uids:
        return _("%(kind)s: %(n)s of its plots", kind=kind, n=len(json.loads(listing.plot_uids)))
    if listing.shares is not None:
        return _("%(kind)s: %(n)s shares", kind=kind, n=_plain(listing.shares))
    return _("%(kind)s: the whole right", kind=kind)


def _plain(value: Any) -> str:
    from app.core.numbers import plain

    return plain(value)


def _summary(listing: Listing) -> dict[str, Any]:
    """What every listing page shows of the listing (no codes, no ids of people)."""
    collective = db.session.get(Collective, listing.collective_id)
    return {
        "id": listing.id,
        "right": _right_text(listing),
        "right_kind": str(RIGHT_KINDS.get(listing.right_kind, listing.right_kind)),
        "deal_kind": str(DEAL_KINDS.get(listing.deal_kind, listing.deal_kind)),
        "method": str(METHODS.get(listing.method, listing.method)),
        "state": listing.state,
        "state_label": states.state_label(listing.state),
        "price": fen_to_yuan(listing.asking_price_fen) if listing.asking_price_fen else None,
        "description": listing.description,
        "holder": _name_of_household(listing.household_uid)
        if listing.household_uid
        else _name_of_person(listing.person_uid),
        "collective": collective.name if collective else "",
        "due_on": queries.due_on(listing),
        "cooling_off_ends_on": listing.cooling_off_ends_on,
        "published_on": listing.published_on,
        "notice_ends_on": listing.notice_ends_on,
        "own": queries.is_own(current_user, listing),
    }


def _cards(rows: list[Listing]) -> list[dict[str, Any]]:
    counts = queries.offer_counts([r.id for r in rows])
    staff = _role() != FARMER
    out = []
    for r in rows:
        view = _summary(r)
        view["offers"] = counts.get(r.id, 0)
        view["show_offers"] = staff or view["own"]  # a member never learns of others' offers
        out.append(view)
    return out


def _display_names(usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    return dict(
        db.session.execute(
            select(User.username, User.display_name).where(User.username.in_(sorted(usernames)))
        ).all()
    )


def _steps(listing: Listing) -> list[dict[str, Any]]:
    """Each step: what happened, who (name and role), when, why."""
    rows = listings.steps_of(listing.id)
    names = _display_names({s.actor for s in rows})
    out = []
    for s in rows:
        if s.actor_role in ACTOR_LABELS:
            role = str(ACTOR_LABELS[s.actor_role])
        else:
            try:
                role = Role(s.actor_role).label
            except ValueError:
                role = ""
        out.append(
            {
                "what": str(STEP_LABELS.get(s.action, s.action)),
                "to": states.state_label(s.to_state),
                "who": names.get(s.actor) or s.actor,
                "role": role,
                "at": s.at,
                "why": s.reason,
            }
        )
    return out


def _consents(listing: Listing) -> list[dict[str, Any]]:
    out = []
    for c in listings.consents_of(listing.id):
        out.append(
            {
                "person_uid": c.person_uid,
                "name": _name_of_person(c.person_uid),
                "role": str(ACTOR_LABELS.get(c.role, c.role)),
                "decision": c.decision,
                "decision_label": str(CONSENT_LABELS.get(c.decision, c.decision)),
                "mode": str(MODE_LABELS.get(c.mode, "")) if c.mode else "",
                "by": _name_of_person(c.decided_by_person_uid)
                if c.decided_by_person_uid not in (None, c.person_uid)
                else "",
                "at": c.decided_at,
            }
        )
    return out


def _sees_every_offer(listing: Listing) -> bool:
    """The holder, the collective's staff, the bureau and auditors see every offer; a member
    only their own household's (never others' amounts)."""
    return _role() in (ADMIN, BUREAU, AUDITOR) or queries.is_own(current_user, listing)


def _offers(listing: Listing) -> list[dict[str, Any]]:
    rows = offers.offers_of(listing.id)
    if not _sees_every_offer(listing):
        mine = farmer_household_ids(current_user)
        rows = [
            o
            for o in rows
            if (o.household_uid is not None and o.household_uid in mine)
            or (o.person_uid is not None and o.person_uid == current_user.person_uid)
        ]
    return [
        {
            "id": o.id,
            "buyer": _name_of_household(o.household_uid)
            if o.household_uid
            else _name_of_person(o.person_uid),
            "amount": fen_to_yuan(o.amount_fen),
            "state": o.state,
            "state_label": str(OFFER_LABELS.get(o.state, o.state)),
            "at": o.made_at,
            "at_office": o.made_by != current_user.username and _role() != FARMER,
        }
        for o in rows
    ]


def _deal(listing: Listing) -> Deal | None:
    return db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))


def _evidence(deal: Deal) -> list[tuple[str, Any]]:
    """The day-of-deal eligibility check (``Deal.evidence``), as (label, value) lines."""
    try:
        data = json.loads(deal.evidence or "{}")
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    lines: list[tuple[str, Any]] = []
    if data.get("rule") in RULE_LABELS:
        lines.append((_("What was checked"), str(RULE_LABELS[data["rule"]])))
    if data.get("checked_on"):
        lines.append((_("Checked on"), data["checked_on"]))
    buyer = data.get("household_uid") or data.get("to_household_uid")
    if buyer:
        lines.append((_("Buying household"), _name_of_household(buyer)))
    if data.get("person_uid"):
        lines.append((_("Buying member"), _name_of_person(data["person_uid"])))
    roll = data.get("roll") or []
    if roll:
        lines.append(
            (
                _("On the membership roll that day"),
                [
                    _(
                        "%(name)s: member since %(since)s (record version %(v)s)",
                        name=_name_of_person(r.get("person_uid")),
                        since=r.get("since"),
                        v=r.get("version"),
                    )
                    for r in roll
                    if isinstance(r, dict)
                ],
            )
        )
    if data.get("votes_cast"):
        lines.append(
            (
                _("Members’ meeting"),
                _(
                    "%(yes)s of %(cast)s votes for",
                    yes=data.get("votes_for"),
                    cast=data.get("votes_cast"),
                ),
            )
        )
    if data.get("return_possible_on"):
        lines.append((_("Land returned from"), data["return_possible_on"]))
    if "shares_before" in data:
        lines.append((_("Shares the buyer held before"), data["shares_before"]))
    if "shares_bought" in data:
        lines.append((_("Shares bought"), data["shares_bought"]))
    return lines


def _deal_view(listing: Listing) -> dict[str, Any] | None:
    deal = _deal(listing)
    if deal is None:
        return None
    staff = _role() in (ADMIN, BUREAU, AUDITOR)
    return {
        "price": fen_to_yuan(deal.price_fen),
        "buyer": _name_of_household(deal.buyer_household_uid)
        if deal.buyer_household_uid
        else (_name_of_person(deal.buyer_person_uid) if deal.buyer_person_uid else None),
        "contract_signed_on": deal.contract_signed_on,
        "payment_terms": deal.payment_terms,
        "payment": str(PAYMENT_LABELS.get(deal.payment, "")) if deal.payment else None,
        "payment_reference": deal.payment_reference if staff else None,
        "paid_on": deal.paid_on,
        "registered_on": deal.registered_on,
        "attestation_number": deal.attestation_number,
        "votes": (deal.votes_for, deal.votes_cast) if deal.votes_cast else None,
        "notice_given_on": deal.notice_given_on,
        "improvements": fen_to_yuan(deal.improvements_fen)
        if deal.improvements_fen is not None
        else None,
        "evidence": _evidence(deal) if staff else [],
        "flags": approvals.flags_of(listing, deal) if staff else [],
    }


def _actions(listing: Listing) -> list[tuple[str, str]]:
    """(label, url) of the steps the current user may take now (never a link to a 404)."""
    role, state, lid = _role(), listing.state, listing.id
    out: list[tuple[str, str]] = []

    def add(label: str, endpoint: str) -> None:
        out.append((label, url_for(endpoint, listing_id=lid)))

    if role == FARMER:
        own = queries.is_own(current_user, listing)
        if own and state == "draft":
            add(_("Declare and submit"), "market.declare")
        if state == "awaiting_consent" and _my_pending_consents(listing):
            add(_("Give or refuse my consent"), "market.consent")
        if not own and state == "published" and listing.deal_kind == "transfer":
            add(_("Make an offer"), "market.offer")
        if own and state in states.WITHDRAWABLE:
            deal = _deal(listing)
            if deal is None or deal.contract_signed_on is None:
                add(_("Withdraw"), "market.withdraw")
    elif role == ADMIN:
        if state in ("draft", "awaiting_consent"):
            add(_("Record a witnessed declaration or consent"), "market.witness")
        if state == "ready" and listing.deal_kind == "transfer":
            add(_("Check title and publish"), "market.publish")
        if state == "ready" and listing.deal_kind == "paid_exit":
            add(_("Record the collective's resolution"), "market.exit_resolution")
        if state == "published":
            add(_("Record an offer made at the office"), "market.offer")
        if state == "collective_consent":
            add(_("Collective consent"), "market.collective_consent")
        if state == "township_approval":
            add(_("Township approval"), "market.township")
        if state == "contracting":
            add(_("Record the contract"), "market.contract")
            deal = _deal(listing)
            if deal is not None and deal.contract_signed_on is not None:
                add(_("Record the payment"), "market.payment")
                if deal.payment:
                    add(_("Register the transfer"), "market.register")
    elif role == BUREAU and state == "bureau_review":
        add(_("Review"), "market.review")
    return out


def _my_pending_consents(listing: Listing) -> list[tuple[int, str]]:
    """(person uid, label) of the pending consents the farmer decides: their own, or a minor's
    for whom they are the guardian."""
    if current_user.person_uid is None:
        return []
    out = []
    for c in listings.consents_of(listing.id):
        if c.decision != "pending":
            continue
        try:
            decider = people.consenting_person(c.person_uid, _today())
        except DomainError:
            continue
        if decider.uid == current_user.person_uid:
            name = _name_of_person(c.person_uid)
            label = (
                _("Myself (%(name)s)", name=name)
                if c.person_uid == current_user.person_uid
                else _("%(name)s (I am the guardian)", name=name)
            )
            out.append((c.person_uid, label))
    return out


# --- lists


def _filter_form(*, staff_states: bool) -> QueueFilterForm:
    form = QueueFilterForm(request.args)
    state_keys = sorted(queries.ADMIN_STEPS) if staff_states else list(states.STATES)
    form.state.choices = choices(
        [("", _("Any step"))] + [(s, states.state_label(s)) for s in state_keys]
    )
    form.right_kind.choices = choices([("", _("Any right")), *RIGHT_KINDS.items()])
    towns = db.session.execute(
        select(Division.code, Division.name).where(Division.level == "town").order_by(Division.code)
    ).all()
    form.township.choices = choices([("", _("Any township")), *towns])
    village_q = select(Division.code, Division.name).where(Division.level == "village")
    if form.township.data:
        village_q = village_q.where(Division.parent_code == form.township.data)
    villages = db.session.execute(village_q.order_by(Division.code).limit(CHOICE_LIMIT)).all()
    form.village.choices = choices([("", _("Any village")), *villages])
    for field in (form.state, form.right_kind, form.township, form.village):
        if field.data not in {c.value for c in field.choices}:
            field.data = ""
    return form


def _narrow(q, form: QueueFilterForm):
    if form.state.data:
        q = q.where(Listing.state == form.state.data)
    if form.right_kind.data:
        q = q.where(Listing.right_kind == form.right_kind.data)
    if form.village.data:
        q = q.where(
            Listing.collective_id.in_(
                select(Collective.id).where(Collective.village_code == form.village.data)
            )
        )
    elif form.township.data:
        in_town = select(Division.code).where(Division.parent_code == form.township.data)
        q = q.where(
            Listing.collective_id.in_(
                select(Collective.id).where(
                    (Collective.village_code == form.township.data)
                    | Collective.village_code.in_(in_town)
                )
            )
        )
    return q


def _paged(q, form: QueueFilterForm) -> tuple[list[Listing], dict[str, str | None]]:
    """One page of the query, with the previous and next pages' URLs (filters kept)."""
    page = page_arg()
    rows = list(db.session.scalars(q.limit(PAGE + 1).offset((page - 1) * PAGE)))
    kept = {k: v for k, v in form.data.items() if v}
    pager = {
        "prev": url_for(request.endpoint, page=page - 1, **kept) if page > 1 else None,
        "next": url_for(request.endpoint, page=page + 1, **kept) if len(rows) > PAGE else None,
    }
    return rows[:PAGE], pager


@bp.route("/")
@roles_required(*READERS)
def index():
    """The market: a farmer browses their collective's listings open for offers; staff, the
    bureau and auditors see every listing they may read, with filters."""
    farmer = _role() == FARMER
    form = _filter_form(staff_states=False)
    if farmer:
        q = queries.listings_query(current_user, queries.Filters(state="published"))
    else:
        q = _narrow(queries.listings_query(current_user), form)
    rows, pager = _paged(q, form)
    return render_template(
        "market/index.html", cards=_cards(rows), form=form, farmer=farmer, pager=pager
    )


@bp.route("/mine")
@roles_required(FARMER)
def mine():
    """My household's listings at every step, and what waits for me first."""
    waiting = list(db.session.scalars(queries.queue_query(current_user).limit(PAGE)))
    own = list(
        db.session.scalars(
            queries.listings_query(current_user, queries.Filters(mine=True)).limit(PAGE)
        )
    )
    waiting_ids = {w.id for w in waiting}
    return render_template(
        "market/mine.html",
        waiting=_cards(waiting),
        own=_cards([o for o in own if o.id not in waiting_ids]),
        can_list=bool(_right_choices()),
    )


@bp.route("/queue")
@roles_required(ADMIN, BUREAU)
def queue():
    """What waits for staff (the collective's steps) or the bureau (reviews), oldest first,
    with the day each step is due."""
    form = _filter_form(staff_states=_role() == ADMIN)
    rows, pager = _paged(_narrow(queries.queue_query(current_user), form), form)
    return render_template(
        "market/queue.html", cards=_cards(rows), form=form, bureau=_role() == BUREAU, pager=pager
    )


# --- one listing


@bp.route("/<int:listing_id>")
@roles_required(*READERS)
def listing(listing_id: int):
    obj = _load(listing_id)
    today = _today()
    view = _summary(obj)
    can_accept = (
        view["own"]
        and obj.state == "published"
        and obj.method == "negotiated"
        and (obj.cooling_off_ends_on is None or today >= obj.cooling_off_ends_on)
    )
    return render_template(
        "market/listing.html",
        listing=obj,
        view=view,
        steps=_steps(obj),
        # Who consented is the household's and the office's business, not the neighbours'.
        consents=_consents(obj) if _sees_every_offer(obj) else [],
        offers=_offers(obj),
        all_offers=_sees_every_offer(obj),
        deal=_deal_view(obj) if (_role() != FARMER or view["own"]) else None,
        actions=_actions(obj),
        can_accept=can_accept,
        accept_form=AcceptForm(),
        today=today,
    )


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


@bp.route("/new", methods=["GET", "POST"])
@roles_required(FARMER)
def new():
    """List one of my household's current rights (a draft: declaring comes next)."""
    form = NewListingForm()
    form.right.choices = choices([("", _("— choose —")), *_right_choices()])
    form.plots.choices = choices(_plot_choices())
    status = 200
    if form.validate_on_submit():
        kind, _sep, uid = (form.right.data or "").partition(":")
        deal_kind = form.deal_kind.data
        method = "resolution" if deal_kind == "paid_exit" else (form.method.data or "negotiated")
        try:
            created = listings.create_listing(
                current_user,
                kind,
                int(uid) if uid.isdigit() else 0,
                deal_kind=deal_kind,
                method=method,
                plot_uids=[int(p) for p in form.plots.data or [] if str(p).isdigit()] or None,
                shares=form.shares.data,
                asking_price_fen=form.price.data,
                description=form.description.data,
            )
        except DomainError as err:
            err.field = {"right_uid": "right", "right_kind": "right", "plot_uids": "plots"}.get(
                err.field or "", err.field
            )
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("Your listing is saved as a draft. Read the statement and declare it."))
            return redirect(url_for("market.declare", listing_id=created.id))
    elif request.method == "POST":
        status = 422
    return render_template("market/new.html", form=form), status


@bp.route("/<int:listing_id>/declare", methods=["GET", "POST"])
@roles_required(FARMER)
def declare(listing_id: int):
    """R13: the holder reads what they give up and keep, and declares it their free choice."""
    obj = _load(listing_id)
    if not queries.is_own(current_user, obj):
        abort(404)
    form = DeclareForm()
    status = 200
    if form.validate_on_submit():
        try:
            listings.declare(obj.id, current_user)
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(
                _(
                    "Your declaration is recorded. No offer can be accepted before %(day)s.",
                    day=obj.cooling_off_ends_on,
                ),
                obj.id,
            )
    elif request.method == "POST":
        status = 422
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
    status = 200
    if form.validate_on_submit():
        give = form.decision.data == "give"
        try:
            listings.decide_consent(
                obj.id,
                form.person.data or 0,
                current_user,
                give=give,
                reason=form.reason.data or None,
            )
        except DomainError as err:
            if err.field == "person_uid":
                err.field = "person"
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(
                _("Your consent is recorded.") if give else _("Your refusal is recorded."), obj.id
            )
    elif request.method == "POST":
        status = 422
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
        offers.accept_offer(obj.id, offer_id if offer_id < 2**31 else 0, current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("market.listing", listing_id=obj.id), 303)
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
    status = 200
    if form.validate_on_submit():
        try:
            listings.withdraw(obj.id, current_user)
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The listing is withdrawn. Your right is free again, from now on."))
            return redirect(url_for("market.mine"))
    elif request.method == "POST":
        status = 422
    return _page("market/withdraw.html", form, obj, status)


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
    status = 200
    if form.validate_on_submit():
        try:
            offers.make_offer(
                obj.id, current_user, amount_fen=form.amount.data, household_uid=form.household.data
            )
        except DomainError as err:
            err.field = {"household_uid": "household", "person_uid": "household"}.get(
                err.field or "", err.field
            )
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(
                _("The offer is recorded. The holder sees it and decides."), obj.id
            )
    elif request.method == "POST":
        status = 422
    mine = [o for o in _offers(obj) if _role() == FARMER]
    return _page("market/offer.html", form, obj, status, my_offers=mine)


# --- collective administrators


def _witness_people(obj: Listing) -> list[tuple[int, str]]:
    if obj.state == "draft":
        if obj.household_uid is None:
            uids = [obj.person_uid] if obj.person_uid else []
        else:
            uids = [p.uid for p in people.co_holders(obj.household_uid)]
    else:
        uids = [c.person_uid for c in listings.consents_of(obj.id) if c.decision == "pending"]
    return [(uid, _name_of_person(uid)) for uid in uids]


@bp.route("/<int:listing_id>/witness", methods=["GET", "POST"])
@roles_required(ADMIN)
def witness(listing_id: int):
    """Staff record a declaration (draft) or a co-holder's consent witnessed in person, with the
    signed paper form attached."""
    obj = _load(listing_id)
    form = WitnessForm()
    form.person.choices = choices(_witness_people(obj))
    form.paper.choices = document_choices(obj.collective_id, none=_("— choose —"))
    status = 200
    if form.validate_on_submit():
        paper = form.paper.data or None
        try:
            if obj.state == "draft":
                listings.declare(
                    obj.id, current_user, person_uid=form.person.data, witnessed_paper_id=paper
                )
            else:
                listings.decide_consent(
                    obj.id,
                    form.person.data or 0,
                    current_user,
                    give=form.decision.data != "refuse",
                    reason=form.reason.data or None,
                    witnessed_paper_id=paper,
                )
        except DomainError as err:
            err.field = {"person_uid": "person", "paper_document_id": "paper"}.get(
                err.field or "", err.field
            )
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(_("The witnessed decision is recorded."), obj.id)
    elif request.method == "POST":
        status = 422
    return _page(
        "market/witness.html",
        form,
        obj,
        status,
        declaring=obj.state == "draft",
        statement=listings.statement(obj).split("\n"),
    )


@bp.route("/<int:listing_id>/publish", methods=["GET", "POST"])
@roles_required(ADMIN)
def publish(listing_id: int):
    """The title check's finding first, then publishing to the collective's members."""
    obj = _load(listing_id)
    form = PublishForm()
    status = 200
    if form.validate_on_submit():
        try:
            listings.publish(obj.id, current_user)
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(
                _("The listing is published to the collective's members."), obj.id
            )
    elif request.method == "POST":
        status = 422
    problem = listings.title_problem(obj) if obj.state == "ready" else None
    return _page("market/publish.html", form, obj, status, problem=problem)


def _decision_page(obj: Listing, *, township: bool):
    form = DecisionForm()
    form.document.choices = document_choices(obj.collective_id, none=_("— choose —"))
    status = 200
    if form.validate_on_submit():
        approve = form.decision.data == "approve"
        try:
            if township:
                approvals.township_approval(
                    obj.id,
                    current_user,
                    approve=approve,
                    reason=form.reason.data or None,
                    document_id=form.document.data or None,
                )
            else:
                approvals.collective_consent(
                    obj.id, current_user, approve=approve, reason=form.reason.data or None
                )
        except DomainError as err:
            if err.field in ("source_document_id", "document_id"):
                err.field = "document"
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(
                _("The decision is recorded.") if approve else _("The listing is rejected."),
                obj.id,
            )
    elif request.method == "POST":
        status = 422
    return _page(
        "market/decision.html",
        form,
        obj,
        status,
        township=township,
        deal=_deal_view(obj),
    )


@bp.route("/<int:listing_id>/collective-consent", methods=["GET", "POST"])
@roles_required(ADMIN)
def collective_consent(listing_id: int):
    """发包方 consent: approve or reject with a reason."""
    return _decision_page(_load(listing_id), township=False)


@bp.route("/<int:listing_id>/township", methods=["GET", "POST"])
@roles_required(ADMIN)
def township(listing_id: int):
    """The township's approval of a homestead transfer, with its written approval."""
    return _decision_page(_load(listing_id), township=True)


@bp.route("/<int:listing_id>/contract", methods=["GET", "POST"])
@roles_required(ADMIN)
def contract(listing_id: int):
    obj = _load(listing_id)
    form = ContractForm()
    form.document.choices = document_choices(obj.collective_id, none=_("— choose —"))
    status = 200
    if form.validate_on_submit():
        try:
            approvals.record_contract(
                obj.id,
                current_user,
                signed_on=form.signed_on.data,
                contract_document_id=form.document.data or 0,
                payment_terms=form.payment_terms.data,
            )
        except DomainError as err:
            if err.field in ("source_document_id", "contract_document_id"):
                err.field = "document"
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(_("The signed contract is recorded."), obj.id)
    elif request.method == "POST":
        status = 422
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Record the contract"),
        fields=["signed_on", "document", "payment_terms"],
        deal=_deal_view(obj),
    )


@bp.route("/<int:listing_id>/payment", methods=["GET", "POST"])
@roles_required(ADMIN)
def payment(listing_id: int):
    obj = _load(listing_id)
    form = PaymentForm()
    status = 200
    if form.validate_on_submit():
        try:
            approvals.record_payment(
                obj.id,
                current_user,
                how=form.how.data,
                reference=form.reference.data,
                paid_on=form.paid_on.data,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(_("The payment is recorded."), obj.id)
    elif request.method == "POST":
        status = 422
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Record the payment"),
        fields=["how", "reference", "paid_on"],
        deal=_deal_view(obj),
    )


@bp.route("/<int:listing_id>/register", methods=["GET", "POST"])
@roles_required(ADMIN)
def register(listing_id: int):
    """Registration: the seller's right ends, the buyer's begins, in one transaction."""
    obj = _load(listing_id)
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            registration.register(obj.id, current_user)
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(
                _("The transfer is registered and the attestation is issued."), obj.id
            )
    elif request.method == "POST":
        status = 422
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Register the transfer"),
        fields=[],
        deal=_deal_view(obj),
        note=_(
            "The seller's right ends and the buyer's begins today; the old "
            "certificate is cancelled and a new one issued."
        ),
    )


@bp.route("/<int:listing_id>/exit", methods=["GET", "POST"])
@roles_required(ADMIN)
def exit_resolution(listing_id: int):
    """A paid exit: the members' meeting's resolution sets the compensation."""
    obj = _load(listing_id)
    form = ExitForm()
    form.document.choices = document_choices(obj.collective_id, none=_("— choose —"))
    status = 200
    if form.validate_on_submit():
        try:
            exits.record_exit_resolution(
                obj.id,
                current_user,
                price_fen=form.price.data,
                resolution_document_id=form.document.data or 0,
                votes_for=form.votes_for.data,
                votes_cast=form.votes_cast.data,
                notice_given_on=form.notice_given_on.data,
                improvements_fen=form.improvements.data,
            )
        except DomainError as err:
            err.field = {
                "price_fen": "price",
                "improvements_fen": "improvements",
                "resolution_document_id": "document",
                "source_document_id": "document",
            }.get(err.field or "", err.field)
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(_("The collective's resolution is recorded."), obj.id)
    elif request.method == "POST":
        status = 422
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Record the collective's resolution"),
        fields=["price", "improvements", "document", "votes_for", "votes_cast", "notice_given_on"],
        deal=None,
    )


@bp.route("/<int:listing_id>/attestation")
@roles_required(*READERS)
def attestation_page(listing_id: int):
    """The transaction attestation (鉴证书) of a registered deal, printable: the published result
    the collective's members may read."""
    obj = _load(listing_id)
    try:
        sheet = attestation.attestation_of(obj)
    except DomainError as err:
        flash(err.message, "warn")
        return redirect(url_for("market.listing", listing_id=obj.id))
    return render_template("market/attestation.html", listing=obj, a=sheet)


# --- the county bureau


@bp.route("/<int:listing_id>/review", methods=["GET", "POST"])
@roles_required(BUREAU)
def review(listing_id: int):
    """Approve or reject, with a reason; a flagged deal needs the decision on its flag and
    whether the holder was interviewed in person."""
    obj = _load(listing_id)
    form = BureauForm()
    deal = _deal_view(obj)
    status = 200
    if form.validate_on_submit():
        interviewed = {"yes": True, "no": False}.get(form.interviewed.data or "")
        try:
            approvals.bureau_review(
                obj.id,
                current_user,
                approve=form.decision.data == "approve",
                reason=form.reason.data or None,
                flag_decision=form.flag_decision.data or None,
                interviewed=interviewed,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(_("Your review is recorded."), obj.id)
    elif request.method == "POST":
        status = 422
    return _page("market/review.html", form, obj, status, deal=deal)
