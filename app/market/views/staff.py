"""The collective administrators' steps: witnessed declarations and consents, publishing, the
collective's consent, the township, the contract, the payment, registration, the paid exit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from app.auth.scope import roles_required
from app.core.i18n import local_time
from app.market import (
    approvals,
    bidding,
    exits,
    listings,
    registration,
)
from app.market.forms import (
    ConfirmForm,
    ContractForm,
    DecisionForm,
    ExitForm,
    PaymentForm,
    PublishForm,
    RegisterForm,
    RejectForm,
    WitnessForm,
)
from app.market.models import Listing
from app.market.views import bp
from app.market.views.common import (
    ADMIN,
    _commit_and_show,
    _deal_view,
    _load,
    _name_of_person,
    _page,
)
from app.registry import people
from app.registry.views.common import choices, document_choices, submit

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

    def record() -> Any:
        paper = form.paper.data or None
        if obj.state == "draft":
            return listings.declare(
                obj.id, current_user, person_uid=form.person.data, witnessed_paper_id=paper
            )
        return listings.decide_consent(
            obj.id,
            form.person.data or 0,
            current_user,
            give=form.decision.data != "refuse",
            reason=form.reason.data or None,
            witnessed_paper_id=paper,
        )

    outcome = submit(form, record, fields={"person_uid": "person", "paper_document_id": "paper"})
    status = outcome.status
    if outcome.done:
        return _commit_and_show(_("The witnessed decision is recorded."), obj.id)
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
    outcome = submit(form, lambda: listings.publish(obj.id, current_user))
    status = outcome.status
    if outcome.done:
        return _commit_and_show(_("The listing is published to the collective's members."), obj.id)
    problem = listings.title_problem(obj) if obj.state == "ready" else None
    return _page("market/publish.html", form, obj, status, problem=problem)


def _decision_page(obj: Listing, *, township: bool):
    form = DecisionForm()
    form.document.choices = document_choices(obj.collective_id, none=_("— choose —"))
    approve = form.decision.data == "approve"

    def decide() -> Any:
        if township:
            return approvals.township_approval(
                obj.id,
                current_user,
                approve=approve,
                reason=form.reason.data or None,
                document_id=form.document.data or None,
            )
        return approvals.collective_consent(
            obj.id, current_user, approve=approve, reason=form.reason.data or None
        )

    outcome = submit(
        form, decide, fields={"source_document_id": "document", "document_id": "document"}
    )
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _("The decision is recorded.") if approve else _("The listing is rejected."),
            obj.id,
        )
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
    outcome = submit(
        form,
        lambda: approvals.record_contract(
            obj.id,
            current_user,
            signed_on=form.signed_on.data,
            contract_document_id=form.document.data or None,
            payment_terms=form.payment_terms.data,
        ),
        fields={"source_document_id": "document", "contract_document_id": "document"},
    )
    status = outcome.status
    if outcome.done:
        return _commit_and_show(_("The signed contract is recorded."), obj.id)
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
    outcome = submit(
        form,
        lambda: approvals.record_payment(
            obj.id,
            current_user,
            how=form.how.data,
            reference=form.reference.data,
            paid_on=form.paid_on.data,
        ),
    )
    status = outcome.status
    if outcome.done:
        return _commit_and_show(_("The payment is recorded."), obj.id)
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
    outcome = submit(form, lambda: registration.register(obj.id, current_user))
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _("The transfer is registered and the attestation is issued."), obj.id
        )
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
    outcome = submit(
        form,
        lambda: exits.record_exit_resolution(
            obj.id,
            current_user,
            price_fen=form.price.data,
            resolution_document_id=form.document.data or 0,
            votes_for=form.votes_for.data,
            votes_cast=form.votes_cast.data,
            notice_given_on=form.notice_given_on.data,
            improvements_fen=form.improvements.data,
        ),
        fields={
            "price_fen": "price",
            "improvements_fen": "improvements",
            "resolution_document_id": "document",
            "source_document_id": "document",
        },
    )
    status = outcome.status
    if outcome.done:
        return _commit_and_show(_("The collective's resolution is recorded."), obj.id)
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Record the collective's resolution"),
        fields=["price", "improvements", "document", "votes_for", "votes_cast", "notice_given_on"],
        deal=None,
    )


# --- rejecting, closing the bidding, ending without a buyer


@bp.route("/<int:listing_id>/reject", methods=["GET", "POST"])
@roles_required(ADMIN)
def reject(listing_id: int):
    """Staff reject the listing with a written reason (at the title check, while published, at
    the contract); the right is free again."""
    obj = _load(listing_id)
    form = RejectForm()
    outcome = submit(form, lambda: listings.reject(obj.id, current_user, reason=form.reason.data))
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _("The listing is rejected. The holder's right is free again."), obj.id
        )
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Reject the listing"),
        fields=["reason"],
        deal=_deal_view(obj),
        note=_(
            "The listing ends and the holder's right is free again; open offers end and deposits "
            "are refunded. The holder reads your reason."
        ),
        danger=True,
    )


@bp.route("/<int:listing_id>/close", methods=["GET", "POST"])
@roles_required(ADMIN)
def close_bidding(listing_id: int):
    """After the deadline: the highest valid bid wins (its household checked again today); with
    no valid bid the listing ends without a buyer."""
    obj = _load(listing_id)
    form = ConfirmForm()
    outcome = submit(form, lambda: bidding.close_bidding(obj.id, current_user))
    status = outcome.status
    if outcome.done:
        deal = outcome.value
        return _commit_and_show(
            _("The bidding is closed. The collective now checks and consents.")
            if deal is not None
            else _("The bidding is closed without a valid bid: the listing ended."),
            obj.id,
        )
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("Close the bidding"),
        fields=[],
        deal=None,
        note=_(
            "The bidding ran until %(time)s. The highest bid wins if its household may still "
            "buy today; otherwise the next. The other bids lose and their deposits are refunded.",
            time=local_time(obj.bid_deadline),
        ),
    )


@bp.route("/<int:listing_id>/lapse", methods=["GET", "POST"])
@roles_required(ADMIN)
def lapse(listing_id: int):
    """A listing whose notice period ended with no open offer ends without a buyer."""
    obj = _load(listing_id)
    form = ConfirmForm()
    outcome = submit(form, lambda: bidding.lapse_if_unsold(obj.id, current_user))
    status = outcome.status
    if outcome.done:
        return _commit_and_show(
            _("The listing ended without a buyer. The holder's right is free again."), obj.id
        )
    return _page(
        "market/staff_form.html",
        form,
        obj,
        status,
        title=_("End without a buyer"),
        fields=[],
        deal=None,
        note=_(
            "Nobody made an offer the holder could accept before the notice period ended. The "
            "listing ends and the holder's right is free again for a new listing."
        ),
        danger=True,
    )
