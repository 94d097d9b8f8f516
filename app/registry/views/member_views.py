"""HTML pages for the membership services no page reached before: end a membership, move a
member to another household, take a member off a household's list.

Each page is a form with CSRF, a reason and a source document; it calls the same service
function as everything else (app.registry.people) and commits once. The rules (R01, Art. 17/18 of
the collective economic organisation law, Art. 31) are the services', not the views'.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.core.forms import form_failed
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, people
from app.registry.lookup import load_current_or_404
from app.registry.models import RELATIONS, Household, Membership, Person, person_collective_ids
from app.registry.views import bp
from app.registry.views.common import document_choices, length

HOUSEHOLD_LIMIT = 2000


def _reason_field() -> StringField:
    return StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class EndMembershipForm(FlaskForm):
    until = DateField(_l("Membership ends on"), validators=[DataRequired()])
    end_reason = SelectField(
        _l("Why the membership ends"),
        choices=[SelectChoice(k, v) for k, v in people.END_REASONS.items()],
    )
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = _reason_field()


class MoveMemberForm(FlaskForm):
    to_household_uid = SelectField(_l("Move to household"), coerce=int)
    relation = SelectField(
        _l("Relation to the head of the new household"),
        choices=[SelectChoice(k, v) for k, v in RELATIONS.items() if k != people.HEAD],
        default="10",
    )
    is_co_holder = BooleanField(_l("Co-holder of the new household's rights"), default=True)
    keep_co_holding = BooleanField(
        _l("Keeps co-holding the former household's rights (the law's default)"), default=True
    )
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = _reason_field()


class RemoveMemberForm(FlaskForm):
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = _reason_field()


def _optional_documents(collective_id: int) -> list[SelectChoice]:
    """No document first: the service decides whether one is needed (removing a co-holder
    needs one, R01)."""
    return document_choices(collective_id, none=_("(no document)"))


@bp.route("/memberships/<int:membership_uid>/end", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def membership_end(membership_uid: int):
    """End a membership (people.end_membership): settling in town is not a reason (R12)."""
    membership = load_current_or_404(Membership, membership_uid, edit=True)
    person = load_current_or_404(Person, membership.person_uid)
    collective = db.session.get(Collective, membership.collective_id)
    form = EndMembershipForm()
    form.source_document_id.choices = document_choices(
        membership.collective_id, none=_("(no document)")
    )
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                people.end_membership(
                    membership.uid,
                    form.until.data,
                    form.end_reason.data,
                    form.reason.data,
                    source_document_id=form.source_document_id.data or None,
                )
            except DomainError as err:
                form_failed(form, err)
                status = 422
            else:
                db.session.commit()
                flash(_("The membership was ended. The person's rights are unchanged."))
                return redirect(url_for("registry.person", person_uid=person.uid))
        else:
            status = 422
    return render_template(
        "registry/membership_end.html",
        form=form,
        person=person,
        membership=membership,
        collective=collective,
    ), status


def _target_households(person: Person, current_uid: int | None) -> list[SelectChoice]:
    """Households the person could move to: current ones of the collectives the person is a
    member of and the admin keeps (the service checks R01 again)."""
    collectives = person_collective_ids(person.uid) & set(current_user.collective_ids)
    rows = db.session.execute(
        select(Household.uid, Household.cbfbm, Household.name)
        .where(
            Household.collective_id.in_(collectives or {-1}),
            Household.end_lifespan.is_(None),
            Household.uid != (current_uid or -1),
        )
        .order_by(Household.cbfbm)
        .limit(HOUSEHOLD_LIMIT)
    ).all()
    return [SelectChoice(uid, f"{code} · {name or ''}") for uid, code, name in rows]


@bp.route("/persons/<int:person_uid>/move", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def member_move(person_uid: int):
    """Move a member to another household (people.move_member; R01, Art. 31: co-holding kept)."""
    person = load_current_or_404(Person, person_uid, edit=True)
    row = people.resident_row(person.uid)
    current = history.current_of(Household, row.household_uid) if row is not None else None
    form = MoveMemberForm()
    form.to_household_uid.choices = _target_households(person, current.uid if current else None)
    collective_id = current.collective_id if current else None
    form.source_document_id.choices = (
        document_choices(collective_id, none=_("(no document)"))
        if collective_id
        else [SelectChoice(0, _("(no document)"))]
    )
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                people.move_member(
                    person.uid,
                    form.to_household_uid.data,
                    form.reason.data,
                    keep_co_holding=form.keep_co_holding.data,
                    relation=form.relation.data,
                    is_co_holder=form.is_co_holder.data,
                    source_document_id=form.source_document_id.data or None,
                )
            except DomainError as err:
                form_failed(form, err)
                status = 422
            else:
                db.session.commit()
                flash(_("%(name)s was moved to the new household.", name=person.name))
                return redirect(
                    url_for("registry.household", household_uid=form.to_household_uid.data)
                )
        else:
            status = 422
    return render_template(
        "registry/member_move.html", form=form, person=person, current=current
    ), status


@bp.route(
    "/households/<int:household_uid>/members/<int:person_uid>/remove", methods=["GET", "POST"]
)
@roles_required(Role.COLLECTIVE_ADMIN)
def member_remove(household_uid: int, person_uid: int):
    """Take a person off a household's list (people.remove_household_member; R01: a co-holder
    only with a cited document)."""
    household = load_current_or_404(Household, household_uid, edit=True)
    person = load_current_or_404(Person, person_uid)
    form = RemoveMemberForm()
    form.source_document_id.choices = document_choices(
        household.collective_id, none=_("(no document)")
    )
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                people.remove_household_member(
                    household.uid,
                    person.uid,
                    form.reason.data,
                    source_document_id=form.source_document_id.data or None,
                )
            except DomainError as err:
                form_failed(form, err)
                status = 422
            else:
                db.session.commit()
                flash(_("%(name)s was taken off the household's list.", name=person.name))
                return redirect(url_for("registry.household", household_uid=household.uid))
        else:
            status = 422
    return render_template(
        "registry/member_remove.html", form=form, person=person, household=household
    ), status
