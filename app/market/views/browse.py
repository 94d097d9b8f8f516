"""The lists (the market, my listings, the staff and bureau queue), the listing page and the
printable attestation: what every reader of the market sees.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.core.inputs import page_arg
from app.core.page_cache import cached_page
from app.core.pdf import pdf_response, render_pdf
from app.divisions.models import Collective, Division
from app.extensions import db
from app.market import (
    attestation,
    queries,
    states,
)
from app.market.forms import (
    AcceptForm,
    QueueFilterForm,
)
from app.market.models import Listing
from app.market.views import bp, listing_map
from app.market.views.common import (
    ADMIN,
    BUREAU,
    CHOICE_LIMIT,
    FARMER,
    PAGE,
    READERS,
    RIGHT_KINDS,
    _actions,
    _bidding_view,
    _cards,
    _consents,
    _deal_view,
    _load,
    _offers,
    _role,
    _sees_every_offer,
    _steps,
    _summary,
    _today,
)
from app.market.views.holder import _right_choices
from app.registry.views.common import choices

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
@cached_page
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
@cached_page
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
        bidding=_bidding_view(obj),
        today=today,
        map_settings=listing_map.map_settings(obj),
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


@bp.route("/<int:listing_id>/attestation.pdf")
@roles_required(*READERS)
def attestation_pdf(listing_id: int):
    """The attestation as a PDF: the same readers and the same sheet as its page; a deal not
    registered yet has none (back to the listing with the reason, as the page does)."""
    obj = _load(listing_id)
    try:
        sheet = attestation.attestation_of(obj)
    except DomainError as err:
        flash(err.message, "warn")
        return redirect(url_for("market.listing", listing_id=obj.id))
    pdf = render_pdf("pdf/attestation.html", listing=obj, a=sheet)
    return pdf_response(pdf, f"attestation-{sheet.number}.pdf")
