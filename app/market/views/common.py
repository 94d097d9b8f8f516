"""What every marketplace page shares: the roles, the plain-word labels, loading a listing, and
what a listing page shows of it (summary, steps, consents, offers, the deal, the actions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role, User
from app.auth.scope import farmer_household_ids
from app.core.errors import DomainError
from app.core.i18n import local_time
from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db
from app.leases import services as leases
from app.market import (
    approvals,
    listings,
    offers,
    priority,
    queries,
    states,
)
from app.market.forms import (
    fen_to_yuan,
)
from app.market.models import Deal, Listing, Offer
from app.registry import history, people
from app.registry.models import Household, Person, SourceDocument

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
    "lease": _l("Lease of the right to farm the land (the contract stays)"),
}
#: A lease's words, as the leases name them.
LEASE_METHODS = leases.METHOD_LABELS
SCHEDULES = leases.SCHEDULES
LESSEE_KINDS = leases.LESSEE_KIND_LABELS
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
    "choose_outsider": _l("An outsider's offer was chosen: members' priority began"),
    "priority_match": _l("A member household matched the terms and takes the lease"),
    "confirm_outsider": _l("No member matched in time: the outsider takes the lease"),
}
#: The township's approval of a homestead transfer ("approve" is also the bureau's word).
TOWNSHIP_APPROVED = _l("The township approved")
#: Who may open a step's document (the source documents' readers).
DOCUMENT_READERS = frozenset({ADMIN, BUREAU, AUDITOR})
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
#: A bid's state, in the bidder's words (a bidding's accepted bid is the one that won).
BID_LABELS = {
    "active": _l("Standing"),
    "accepted": _l("Won"),
    "lost": _l("Outbid"),
    "superseded": _l("Replaced by the same bidder's higher bid"),
    "declined": _l("Ended without a sale"),
    "withdrawn": _l("Withdrawn"),
}
#: What became of a bidder's deposit.
DEPOSIT_LABELS = {
    "held": _l("Deposit held by the collective"),
    "moved": _l("Deposit moved to the higher bid"),
    "applied": _l("Deposit counts toward the price"),
    "refund": _l("Deposit to be refunded"),
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
    "R05": _l("Lease: who leases the land, and the members' priority on equal terms"),
}


def use_choices() -> list[tuple[str, str]]:
    """The agricultural uses a lease may have (the leases' list), in words."""
    return [(k, str(v)) for k, v in leases.USES.items()]


def use_label(use: str | None) -> str:
    return dict(use_choices()).get(use or "", use or "")


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


@dataclass(frozen=True)
class _Names:
    """The names a list of listings shows (collectives, holding households and persons), read
    with one query per kind for the whole page instead of per listing."""

    collectives: dict[int, str]
    households: dict[int, str]
    persons: dict[int, str]

    @classmethod
    def of(cls, rows: list[Listing]) -> _Names:
        def read(query, keys: set[int]) -> dict[int, str]:
            return dict(db.session.execute(query).all()) if keys else {}

        cids = {r.collective_id for r in rows}
        huids = {r.household_uid for r in rows if r.household_uid is not None}
        puids = {r.person_uid for r in rows if r.person_uid is not None}
        return cls(
            collectives=read(
                select(Collective.id, Collective.name).where(Collective.id.in_(cids)), cids
            ),
            households=read(
                select(Household.uid, Household.name).where(
                    Household.uid.in_(huids), Household.end_lifespan.is_(None)
                ),
                huids,
            ),
            persons=read(
                select(Person.uid, Person.name).where(
                    Person.uid.in_(puids), Person.end_lifespan.is_(None)
                ),
                puids,
            ),
        )

    def holder(self, listing: Listing) -> str:
        if listing.household_uid is not None:
            name = self.households.get(listing.household_uid)
        elif listing.person_uid is not None:
            name = self.persons.get(listing.person_uid)
        else:
            return ""
        return name if name is not None else _("(no longer on record)")


def _summary(listing: Listing, names: _Names | None = None) -> dict[str, Any]:
    """What every listing page shows of the listing (no codes, no ids of people)."""
    names = names or _Names.of([listing])
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
        "holder": names.holder(listing),
        "collective": names.collectives.get(listing.collective_id, ""),
        "due_on": queries.due_on(listing),
        "cooling_off_ends_on": listing.cooling_off_ends_on,
        "published_on": listing.published_on,
        "notice_ends_on": listing.notice_ends_on,
        "own": queries.is_own(current_user, listing),
        "lease": _lease_view(listing),
    }


def _lease_view(listing: Listing) -> dict[str, Any] | None:
    """A lease listing's asked terms and, in its priority period, the chosen outsider's terms
    members may match (never the outsider's ID number or code)."""
    if listing.deal_kind != "lease":
        return None
    chosen = None
    record = priority.of_listing(listing.id)
    if record is not None:
        offer = db.session.get(Offer, record.offer_id)
        if offer is not None:
            chosen = {
                "kind": str(LESSEE_KINDS.get(offer.lessee_kind or "", "")),
                "rent": fen_to_yuan(offer.amount_fen),
                "starts_on": offer.lease_starts_on,
                "ends_on": offer.lease_ends_on,
                "use": use_label(offer.lease_use),
                "ends": record.ends_on,
                "decision": record.decision,
            }
    return {
        "method": str(LEASE_METHODS.get(listing.lease_method or "", listing.lease_method or "")),
        "use": use_label(listing.lease_use),
        "starts_on": listing.lease_starts_on,
        "ends_on": listing.lease_ends_on,
        "rent": fen_to_yuan(listing.rent_fen_per_mu_year),
        "schedule": str(SCHEDULES.get(listing.payment_schedule or "", "")),
        "chosen": chosen,
    }


def _cards(rows: list[Listing]) -> list[dict[str, Any]]:
    counts = queries.offer_counts([r.id for r in rows])
    names = _Names.of(rows)
    staff = _role() != FARMER
    out = []
    for r in rows:
        view = _summary(r, names)
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


def _step_documents(rows: list[Any]) -> dict[int, str]:
    """The titles of the documents the steps attach (the township's written approval, the
    collective's resolution, the contract), by id; for those who may open them."""
    ids = {s.document_id for s in rows if s.document_id}
    if not ids or Role(current_user.role) not in DOCUMENT_READERS:
        return {}
    return dict(
        db.session.execute(
            select(SourceDocument.id, SourceDocument.title).where(SourceDocument.id.in_(ids))
        ).all()
    )


def _steps(listing: Listing) -> list[dict[str, Any]]:
    """Each step: what happened, who (name and role), when, why, and the document it attaches
    (for staff)."""
    rows = listings.steps_of(listing.id)
    names = _display_names({s.actor for s in rows})
    documents = _step_documents(rows)
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
                "what": str(
                    TOWNSHIP_APPROVED
                    if s.action == "approve" and s.from_state == "township_approval"
                    else STEP_LABELS.get(s.action, s.action)
                ),
                "to": states.state_label(s.to_state),
                "who": names.get(s.actor) or s.actor,
                "role": role,
                "at": s.at,
                "why": s.reason,
                "document": (
                    (s.document_id, documents[s.document_id])
                    if s.document_id in documents
                    else None
                ),
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
    labels = BID_LABELS if listing.method == "bidding" else OFFER_LABELS
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
            "state_label": str(labels.get(o.state, o.state)),
            "deposit": str(DEPOSIT_LABELS[o.deposit_state])
            if o.deposit_state in DEPOSIT_LABELS
            else "",
            "deposit_state": o.deposit_state or "",
            # the collective's staff check the deposit's payment against its reference
            "deposit_reference": (o.deposit_reference or "") if _role() == ADMIN else "",
            "at": o.made_at,
            "at_office": o.made_by != current_user.username and _role() != FARMER,
            "lessee": str(LESSEE_KINDS.get(o.lessee_kind, "")) if o.lessee_kind else "",
            "outsider": o.lessee_kind not in (None, "member_household"),
            "lessee_name": o.lessee_name or "",
            "terms": _(
                "%(start)s to %(end)s, %(use)s",
                start=o.lease_starts_on,
                end=o.lease_ends_on,
                use=use_label(o.lease_use),
            )
            if o.lease_starts_on
            else "",
        }
        for o in rows
    ]


def bidding_over(listing: Listing) -> bool:
    """Whether the bidding's deadline has passed (the bidding may be closed)."""
    return listing.bid_deadline is not None and utcnow() >= listing.bid_deadline


def _bidding_view(listing: Listing) -> dict[str, Any] | None:
    """What a bidding listing shows everyone who sees it: the deadline, the reserve, the step,
    the deposit asked, the highest bid's amount and the number of bids (never who bid)."""
    if listing.method != "bidding":
        return None
    rows = [o for o in offers.offers_of(listing.id) if o.state not in ("withdrawn", "superseded")]
    return {
        "deadline": local_time(listing.bid_deadline),
        "over": bidding_over(listing),
        "reserve": fen_to_yuan(listing.asking_price_fen) if listing.asking_price_fen else None,
        "step": fen_to_yuan(listing.bid_step_fen) if listing.bid_step_fen else None,
        "deposit": fen_to_yuan(listing.deposit_fen) if listing.deposit_fen else None,
        "highest": fen_to_yuan(max(o.amount_fen for o in rows)) if rows else None,
        "bids": len(rows),
    }


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
    reviews = _flag_reviews(listing) if staff else []
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
        "reviews": reviews,
        # Once the bureau decided, the page shows the flags it was shown (with the review).
        "flags": approvals.flags_of(listing, deal) if staff and not reviews else [],
    }


def _flag_reviews(listing: Listing) -> list[dict[str, Any]]:
    """R14: the bureau's decisions on the flags, in words: the flags shown, the decision and its
    reason, whether the holder was interviewed in person, who decided and when."""
    out = []
    for review in approvals.flag_reviews(listing):
        try:
            flags = [str(f) for f in json.loads(review.flags)]
        except (ValueError, TypeError):
            flags = []
        out.append(
            {
                "flags": flags,
                "decision": review.decision,
                "outcome": _("Approved") if review.approved else _("Rejected"),
                "interviewed": None
                if review.interviewed is None
                else (
                    _("Yes, interviewed in person")
                    if review.interviewed
                    else _("No, not interviewed in person")
                ),
                "reviewer": review.reviewer,
                "at": review.decided_at,
            }
        )
    return out


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
        if not own and state == "members_priority":
            add(_("Match these terms (members' priority)"), "market.priority_match")
        if not own and state == "published" and listing.deal_kind in ("transfer", "lease"):
            if listing.method == "bidding":
                if not bidding_over(listing):
                    add(_("Bid"), "market.offer")
            else:
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
        if state == "published" and listing.method == "bidding":
            if bidding_over(listing):
                add(_("Close the bidding"), "market.close_bidding")
            else:
                add(_("Record a bid made at the office"), "market.offer")
        elif state == "published":
            add(_("Record an offer made at the office"), "market.offer")
            if listing.deal_kind == "lease":
                add(_("Record an offer from outside the collective"), "market.outsider_offer")
            if listing.notice_ends_on is not None and _today() > listing.notice_ends_on:
                add(_("End without a buyer"), "market.lapse")
        if state == "members_priority":
            add(_("Record a member's match made at the office"), "market.priority_match")
            if listing.priority_ends_on is not None and _today() > listing.priority_ends_on:
                add(_("Confirm the outsider"), "market.confirm_outsider")
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
                    add(
                        _("Register the lease")
                        if listing.deal_kind == "lease"
                        else _("Register the transfer"),
                        "market.register",
                    )
        if state in ("ready", "published", "members_priority", "contracting"):
            add(_("Reject"), "market.reject")
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
