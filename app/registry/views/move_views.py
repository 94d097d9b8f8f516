"""HTML pages for moves of rights awaiting countersign (待会签) and the homestead transfer form.

The collective admin requests a move where the action is (plot page, share transfer and
buy-back forms, homestead page); the bureau reviewer countersigns or refuses it here. Views
translate HTTP to one call of app.registry.moves and commit once.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.core.inputs import page_arg
from app.divisions.models import Collective
from app.extensions import db
from app.registry import move_kinds
from app.registry import moves as service
from app.registry.lookup import load_current_or_404
from app.registry.models import Homestead, Household, RightMove, SourceDocument
from app.registry.views import bp
from app.registry.views.common import (
    basis_choices,
    choices,
    document_choices,
    fail,
    length,
    requested_flash,
)

PAGE = 50
READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[length("reason")])


class HomesteadTransferForm(FlaskForm):
    to_household_uid = SelectField(_l("To household (same collective)"), coerce=int)
    basis = SelectField(_l("Legal basis"), choices=[])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


@bp.route("/moves")
@roles_required(*READERS)
def moves():
    state = request.args.get("state", "pending")
    if state not in (*service.STATES, "all"):
        state = "pending"
    page = page_arg()
    rows = service.moves_page(
        current_user,
        state=None if state == "all" else state,
        limit=PAGE + 1,
        offset=(page - 1) * PAGE,
    )
    subjects = move_kinds.subjects_of(rows[:PAGE])
    names = dict(
        db.session.execute(
            select(Collective.id, Collective.name).where(
                Collective.id.in_({m.collective_id for m in rows} or {-1})
            )
        ).all()
    )
    return render_template(
        "registry/moves.html",
        rows=[(m, subjects[m.id], names.get(m.collective_id, "")) for m in rows[:PAGE]],
        page=page,
        has_next=len(rows) > PAGE,
        state=state,
        states=service.STATES,
        service=service,
    )


def _move_page(move: RightMove, *, refuse_form: ReasonForm | None = None, status: int = 200):
    subject, lines = service.describe(move)
    doc = db.session.get(SourceDocument, move.source_document_id)
    reviewer = Role(current_user.role) == Role.BUREAU_REVIEWER
    mine = move.requested_by_id == current_user.id
    pending = move.state == "pending"
    return render_template(
        "registry/move.html",
        move=move,
        subject=subject,
        lines=lines,
        doc=doc,
        collective=db.session.get(Collective, move.collective_id),
        service=service,
        subject_url=_subject_url(move),
        can_decide=pending and reviewer and not mine,
        can_withdraw=pending and mine,
        action_form=ReasonForm(formdata=None),
        refuse_form=refuse_form or ReasonForm(formdata=None),
    ), status


def _subject_url(move: RightMove) -> str:
    endpoint, arg = {
        "plot_move": ("registry.plot", "plot_uid"),
        "share_transfer": ("registry.share_holding", "holding_uid"),
        "share_buy_back": ("registry.share_holding", "holding_uid"),
        "homestead_transfer": ("registry.homestead", "homestead_uid"),
    }[move.kind]
    values: dict[str, Any] = {arg: move.subject_uid}
    return url_for(endpoint, **values)


@bp.route("/moves/<int:move_id>")
@roles_required(*READERS)
def move(move_id: int):
    return _move_page(load_or_404(RightMove, move_id))


@bp.post("/moves/<int:move_id>/countersign")
@roles_required(Role.BUREAU_REVIEWER)
def move_countersign(move_id: int):
    obj = load_or_404(RightMove, move_id)
    form = ReasonForm()
    form.validate_on_submit()
    try:
        service.countersign_move(obj.id)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _move_page(load_or_404(RightMove, obj.id), status=422)
    db.session.commit()
    flash(_("The move was countersigned and is now in the registry."))
    return redirect(url_for("registry.move", move_id=obj.id))


@bp.post("/moves/<int:move_id>/refuse")
@roles_required(Role.BUREAU_REVIEWER)
def move_refuse(move_id: int):
    obj = load_or_404(RightMove, move_id)
    form = ReasonForm()
    form.validate_on_submit()
    try:
        service.refuse_move(obj.id, form.reason.data or "")
    except DomainError as err:
        fail(form, err)
        return _move_page(load_or_404(RightMove, obj.id), refuse_form=form, status=422)
    db.session.commit()
    flash(_("The move was refused."))
    return redirect(url_for("registry.move", move_id=obj.id))


@bp.post("/moves/<int:move_id>/withdraw")
@roles_required(Role.COLLECTIVE_ADMIN)
def move_withdraw(move_id: int):
    obj = load_or_404(RightMove, move_id)
    if not can_edit(current_user, obj):
        abort(404)
    form = ReasonForm()
    form.validate_on_submit()
    try:
        service.withdraw_move(obj.id, form.reason.data or None)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _move_page(load_or_404(RightMove, obj.id), status=422)
    db.session.commit()
    flash(_("The request was withdrawn."))
    return redirect(url_for("registry.move", move_id=obj.id))


@bp.route("/homesteads/<int:homestead_uid>/transfer", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def homestead_transfer(homestead_uid: int):
    obj = load_current_or_404(Homestead, homestead_uid, edit=True)
    form = HomesteadTransferForm()
    households = db.session.execute(
        select(Household.uid, Household.name, Household.cbfbm)
        .where(
            Household.collective_id == obj.collective_id,
            Household.end_lifespan.is_(None),
            Household.uid != obj.household_uid,
        )
        .order_by(Household.cbfbm)
        .limit(2000)
    ).all()
    form.to_household_uid.choices = [SelectChoice(0, _("— choose —"))] + choices(
        (uid, f"{name} · {code}") for uid, name, code in households
    )
    form.basis.choices = basis_choices("homestead_transfer")
    form.source_document_id.choices = document_choices(obj.collective_id)
    status = 200
    if form.validate_on_submit():
        try:
            move = service.request_move(
                "homestead_transfer",
                obj.uid,
                basis=form.basis.data,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
                collective_id=obj.collective_id,
                to_household_uid=form.to_household_uid.data or None,
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
    return render_template(
        "registry/move_request.html",
        form=form,
        title=_("Transfer the homestead to another household"),
        subject=obj.unit_number,
        subject_url=url_for("registry.homestead", homestead_uid=obj.uid),
        fields=["to_household_uid", "basis", "source_document_id", "reason"],
    ), status
