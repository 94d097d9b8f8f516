"""HTML pages for collective income shares: a holding with its history, the collective's share
register (total, allocated, pool, holders with their share of the total and the cap), and the
admin forms to fix the register, allocate, transfer within the collective (R10, R11) and buy back.

Views translate HTTP to one service call in app.registry.shares and commit once.
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, can_read, load_or_404, roles_required
from app.core.errors import DomainError
from app.core.fields import DecimalField, required_data  # finite, within the database's range
from app.core.inputs import page_arg
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry import shares as service
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import Household, Membership, Person, ShareHolding
from app.registry.views import bp
from app.registry.views.common import (
    basis_choices,
    choices,
    document_choices,
    fail,
    length,
    requested_flash,
)
from app.registry.views.common import editable_collective as _editable_collective
from app.registry.views.history_view import history_page

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
REGISTER_READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
PAGE = 50
CHOICE_LIMIT = 2000
#: Field names for the generic history page.
SHARE_LABELS = {
    "collective_id": _l("Collective"),
    "household_uid": _l("Household"),
    "person_uid": _l("Member"),
    "shares": _l("Shares"),
    "share_type": _l("Share type"),
    "certificate_number": _l("Share certificate no."),
}


def holder_choices(collective_id: int, exclude: service.Holder | None = None) -> list:
    """Households of the collective and members on its roll, as "h:<uid>" / "p:<uid>" choices."""
    households = db.session.execute(
        select(Household.uid, Household.name, Household.cbfbm)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.cbfbm)
        .limit(CHOICE_LIMIT)
    ).all()
    persons = db.session.execute(
        select(Person.uid, Person.name)
        .join(Membership, Membership.person_uid == Person.uid)
        .where(
            Membership.collective_id == collective_id,
            Membership.end_lifespan.is_(None),
            Membership.until.is_(None),
            Person.end_lifespan.is_(None),
        )
        .order_by(Person.name, Person.uid)
        .limit(CHOICE_LIMIT)
    ).all()
    skip_h = exclude.household_uid if exclude else None
    skip_p = exclude.person_uid if exclude else None
    return choices(
        [
            (f"h:{uid}", f"{_('Household')} {name} ({cbfbm})")
            for uid, name, cbfbm in households
            if uid != skip_h
        ]
        + [(f"p:{uid}", f"{_('Member')} {name} (#{uid})") for uid, name in persons if uid != skip_p]
    )


def parse_holder(value: str | None) -> tuple[int | None, int | None]:
    """'h:12' -> (12, None); 'p:7' -> (None, 7); anything else -> (None, None)."""
    kind, _sep, uid = (value or "").partition(":")
    if not uid.isdigit():
        return None, None
    return (int(uid), None) if kind == "h" else (None, int(uid)) if kind == "p" else (None, None)


# --- forms


class FixRegisterForm(FlaskForm):
    total_shares = DecimalField(
        _l("Total shares (fixed for good)"), validators=[DataRequired(), NumberRange(min=0)]
    )
    fixed_on = DateField(_l("Fixed on"), validators=[DataRequired()], default=date.today)
    source_document_id = SelectField(_l("Source document (resolution)"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class AllocateForm(FlaskForm):
    holder = SelectField(_l("Holder"), choices=[])
    shares = DecimalField(_l("Shares"), validators=[DataRequired(), NumberRange(min=0)])
    share_type = SelectField(_l("Share type"), choices=[])
    certificate_number = StringField(
        _l("Share certificate no."), validators=[Optional(), Length(max=40)]
    )
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class TransferForm(FlaskForm):
    recipient = SelectField(_l("Recipient (same collective)"), choices=[])
    shares = DecimalField(_l("Shares"), validators=[DataRequired(), NumberRange(min=0)])
    certificate_number = StringField(
        _l("Recipient's share certificate no. (if a new holding)"),
        validators=[Optional(), Length(max=40)],
    )
    basis = SelectField(_l("Legal basis"), choices=[])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class BuyBackForm(FlaskForm):
    shares = DecimalField(_l("Shares"), validators=[DataRequired(), NumberRange(min=0)])
    basis = SelectField(_l("Legal basis"), choices=[])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


# --- pages


@bp.route("/shares/<int:holding_uid>")
@roles_required(*READERS)
def share_holding(holding_uid: int):
    obj = load_latest_or_404(ShareHolding, holding_uid)
    collective = db.session.get(Collective, obj.collective_id)
    register = service.share_register(obj.collective_id)
    household = person = None
    if obj.household_uid is not None:
        household = history.current_of(Household, obj.household_uid)
    elif obj.person_uid is not None:  # a holding names exactly one holder
        person = history.current_of(Person, obj.person_uid)
    return render_template(
        "registry/share_holding.html",
        s=obj,
        collective=collective,
        register=register,
        percent=(100 * obj.shares / register.total_shares) if register else None,
        type_label=service.SHARE_TYPES.get(obj.share_type, obj.share_type),
        household=household,
        person=person,
        holder_readable=can_read(current_user, household) if household else False,
        versions=len(history.versions(ShareHolding, obj.uid)),
        editable=obj.is_current and can_edit(current_user, obj),
    )


@bp.route("/shares/<int:holding_uid>/history")
@roles_required(*READERS)
def share_holding_history(holding_uid: int):
    obj = load_latest_or_404(ShareHolding, holding_uid)
    return history_page(
        ShareHolding,
        obj.uid,
        title=_("History of share holding %(code)s", code=obj.certificate_number or f"#{obj.uid}"),
        code=obj.certificate_number or f"#{obj.uid}",
        back_url=url_for("registry.share_holding", holding_uid=obj.uid),
        labels=SHARE_LABELS,
    )


@bp.route("/collectives/<int:collective_id>/shares")
@roles_required(*REGISTER_READERS)
def share_register(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    page = page_arg()
    summary = service.register_summary(collective)
    rows = service.register_page(
        collective.id, limit=PAGE + 1, offset=(page - 1) * PAGE, summary=summary
    )
    return render_template(
        "registry/share_register.html",
        collective=collective,
        summary=summary,
        rows=rows[:PAGE],
        page=page,
        more=len(rows) > PAGE,
        type_labels=service.SHARE_TYPES,
        editable=can_edit(current_user, collective),
    )


@bp.route("/collectives/<int:collective_id>/shares/fix", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def share_register_fix(collective_id: int):
    collective = _editable_collective(collective_id)
    form = FixRegisterForm()
    form.source_document_id.choices = [
        *choices([(0, _("(none)"))]),
        *document_choices(collective.id),
    ]
    status = 200
    if form.validate_on_submit():
        try:
            service.fix_share_register(
                collective.id,
                required_data(form.total_shares.data),
                form.fixed_on.data,
                form.reason.data,
                source_document_id=form.source_document_id.data or None,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The share register was fixed."))
            return redirect(url_for("registry.share_register", collective_id=collective.id))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "registry/share_form.html",
            form=form,
            collective=collective,
            title=_("Fix the share register (股权固化)"),
            fields=["total_shares", "fixed_on", "source_document_id", "reason"],
            note=_(
                "Once fixed, the total never changes: shares move only by transfer inside the "
                "collective or buy-back."
            ),
        ),
        status,
    )


@bp.route("/collectives/<int:collective_id>/shares/allocate", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def share_allocate(collective_id: int):
    collective = _editable_collective(collective_id)
    form = AllocateForm()
    form.share_type.choices = choices(service.SHARE_TYPES.items())
    form.holder.choices = holder_choices(collective.id)
    form.source_document_id.choices = document_choices(collective.id)
    status = 200
    if form.validate_on_submit():
        household_uid, person_uid = parse_holder(form.holder.data)
        try:
            holding = service.allocate_shares(
                collective.id,
                household_uid=household_uid,
                person_uid=person_uid,
                shares=required_data(form.shares.data),
                share_type=form.share_type.data,
                certificate_number=form.certificate_number.data,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
            )
        except DomainError as err:
            if err.field in ("household_uid", "person_uid"):
                err.field = "holder"
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The shares were allocated."))
            return redirect(url_for("registry.share_holding", holding_uid=holding.uid))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "registry/share_form.html",
            form=form,
            collective=collective,
            title=_("Allocate shares"),
            fields=[
                "holder",
                "shares",
                "share_type",
                "certificate_number",
                "source_document_id",
                "reason",
            ],
            note=_("Holders are members on the roll; no holder may exceed the cap of the charter."),
        ),
        status,
    )


@bp.route("/shares/<int:holding_uid>/transfer", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def share_transfer(holding_uid: int):
    holding = load_current_or_404(ShareHolding, holding_uid, edit=True)
    collective = db.session.get_one(Collective, holding.collective_id)
    form = TransferForm()
    form.recipient.choices = holder_choices(collective.id, exclude=service.Holder.of(holding))
    form.basis.choices = basis_choices("share_transfer")
    form.source_document_id.choices = document_choices(collective.id)
    status = 200
    if form.validate_on_submit():
        household_uid, person_uid = parse_holder(form.recipient.data)
        try:
            move = service.transfer_shares(
                holding.uid,
                to_household_uid=household_uid,
                to_person_uid=person_uid,
                shares=required_data(form.shares.data),
                certificate_number=form.certificate_number.data or None,
                reason=form.reason.data,
                source_document_id=form.source_document_id.data,
                basis=form.basis.data or None,
            )
        except DomainError as err:
            if err.field in ("to_household_uid", "to_person_uid"):
                err.field = "recipient"
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            requested_flash()
            return redirect(url_for("registry.move", move_id=move.id))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "registry/share_form.html",
            form=form,
            collective=collective,
            holding=holding,
            title=_("Transfer shares within the collective"),
            fields=[
                "recipient",
                "shares",
                "certificate_number",
                "basis",
                "source_document_id",
                "reason",
            ],
            note=_(
                "Shares may go only to a member or household of the same collective, checked "
                "against today's membership roll."
            )
            + " "
            + _(
                "A voluntary transfer is made through the marketplace; here shares move only for "
                "a legal reason, once the county bureau countersigns."
            ),
        ),
        status,
    )


@bp.route("/shares/<int:holding_uid>/buy-back", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def share_buy_back(holding_uid: int):
    holding = load_current_or_404(ShareHolding, holding_uid, edit=True)
    collective = db.session.get_one(Collective, holding.collective_id)
    form = BuyBackForm()
    form.basis.choices = basis_choices("share_buy_back")
    form.source_document_id.choices = document_choices(collective.id)
    status = 200
    if form.validate_on_submit():
        try:
            move = service.buy_back(
                holding.uid,
                required_data(form.shares.data),
                reason=form.reason.data,
                source_document_id=form.source_document_id.data,
                basis=form.basis.data or None,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            requested_flash()
            return redirect(url_for("registry.move", move_id=move.id))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "registry/share_form.html",
            form=form,
            collective=collective,
            holding=holding,
            title=_("Buy shares back"),
            fields=["shares", "basis", "source_document_id", "reason"],
            note=_("Bought-back shares return to the collective's unallocated pool.")
            + " "
            + _(
                "A paid exit is made through the marketplace; here the collective buys shares "
                "back only on a member's exit it decided (cite its resolution) or a court ruling, "
                "once the county bureau countersigns."
            ),
        ),
        status,
    )
