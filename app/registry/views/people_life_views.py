"""HTML pages for the life events of people and households: a death, a guardian, a household's
split (分户), merger (合户) and dying out (户消亡).

Views only translate HTTP to one service call in app.registry.people and back (the JSON API calls
the same services); they commit once.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.core.forms import form_failed as _fail
from app.divisions.models import Collective
from app.extensions import db
from app.registry import people, present
from app.registry.documents import KINDS as DOCUMENT_KINDS
from app.registry.documents import collective_documents
from app.registry.lookup import load_current_or_404
from app.registry.models import Household, Membership, Person
from app.registry.views import bp
from app.registry.views.common import length

_NONE = 0  # the "nobody / no household" choice of an optional select


def _documents(collective_ids: Any) -> list[SelectChoice]:
    ids = sorted(collective_ids) if not isinstance(collective_ids, int) else [collective_ids]
    out = []
    for cid in ids:
        for d in collective_documents(cid, limit=100):
            out.append(SelectChoice(d.id, f"{d.title} · {DOCUMENT_KINDS.get(d.kind, d.kind)}"))
    return out


def _households(collective_id: int, *, exclude: int | None = None, blank: Any = None) -> list:
    rows = db.session.scalars(
        select(Household)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.cbfbm)
        .limit(1000)
    )
    out = [SelectChoice(_NONE, str(blank))] if blank is not None else []
    out += [SelectChoice(h.uid, f"{h.name} {h.cbfbm}") for h in rows if h.uid != exclude]
    return out


def _members(collective_ids: Any, *, blank: Any = None, exclude: int | None = None) -> list:
    ids = sorted(collective_ids) or [-1]
    rows = db.session.scalars(
        select(Person)
        .join(
            Membership,
            (Membership.person_uid == Person.uid) & Membership.end_lifespan.is_(None),
        )
        .where(Person.end_lifespan.is_(None), Membership.collective_id.in_(ids))
        .order_by(Person.name, Person.uid)
        .limit(2000)
    ).unique()
    out = [SelectChoice(_NONE, str(blank))] if blank is not None else []
    seen = set()
    for p in rows:
        if p.uid in seen or p.uid == exclude:
            continue
        seen.add(p.uid)
        out.append(
            SelectChoice(p.uid, f"{p.name} ({present.show_id_number(current_user, p, ids)})")
        )
    return out


def _optional(value: int | None) -> int | None:
    return value or None


class DeathForm(FlaskForm):
    died_on = DateField(_l("Date of death"), validators=[DataRequired()])
    source_document_id = SelectField(_l("Death record"), coerce=int)
    heir_household_uid = SelectField(_l("Household that inherits the shares"), coerce=int)
    income_heir_person_uid = SelectField(_l("Heir of the contract's income"), coerce=int)
    continuing_household_uid = SelectField(
        _l("Co-holder's household that continues the contract"), coerce=int
    )
    new_head_person_uid = SelectField(_l("New head of the household"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class GuardianForm(FlaskForm):
    guardian_uid = SelectField(_l("Guardian"), coerce=int)
    since = DateField(_l("Guardian since"), validators=[DataRequired()])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class EndGuardianForm(FlaskForm):
    guardianship_uid = SelectField(_l("Guardian"), coerce=int)
    until = DateField(_l("Until"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class SplitForm(FlaskForm):
    members = SelectMultipleField(_l("Members who form the new household"), coerce=int)
    head_person_uid = SelectField(_l("Head of the new household"), coerce=int)
    plots = SelectMultipleField(_l("Plots that go to the new household"), coerce=int)
    cbfbm = StringField(_l("Household code (CBFBM)"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Household name"), validators=[Optional(), length("name")])
    address = StringField(_l("Address"), validators=[Optional(), length("address")])
    source_document_id = SelectField(_l("The collective's resolution or approval"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class MergeForm(FlaskForm):
    into_household_uid = SelectField(_l("Household it joins"), coerce=int)
    source_document_id = SelectField(_l("The collective's resolution or approval"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class DissolveForm(FlaskForm):
    on = DateField(_l("Date"), validators=[DataRequired()])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    income_heir_person_uid = SelectField(_l("Heir of the contract's income"), coerce=int)
    continuing_household_uid = SelectField(
        _l("Co-holder's household that continues the contract"), coerce=int
    )
    heir_household_uid = SelectField(_l("Household that inherits the shares"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


def _render(form: FlaskForm, *, title: str, back: str, subject: str, note: str | None, status):
    return (
        render_template(
            "registry/life_event_form.html",
            form=form,
            title=title,
            back=back,
            subject=subject,
            note=note,
        ),
        status,
    )


def _home_collective(person: Person) -> int | None:
    row = people.resident_row(person.uid)
    if row is not None:
        return row.collective_id
    ids = sorted(person.scope_collective_ids)
    return ids[0] if ids else None


@bp.route("/persons/<int:person_uid>/death", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def person_death(person_uid: int):
    """Record a death (a new version of the person; see ``people.record_death``)."""
    obj = load_current_or_404(Person, person_uid, edit=True)
    home = _home_collective(obj)
    form = DeathForm()
    form.source_document_id.choices = _documents(obj.scope_collective_ids)
    households = _households(home, blank=_l("(the household they lived in)")) if home else []
    form.heir_household_uid.choices = households
    form.continuing_household_uid.choices = (
        _households(home, blank=_l("(none: the land returns to the collective)")) if home else []
    )
    form.income_heir_person_uid.choices = _members(
        obj.scope_collective_ids, blank=_l("(not recorded)"), exclude=obj.uid
    )
    row = people.resident_row(obj.uid)
    form.new_head_person_uid.choices = [SelectChoice(_NONE, _("(no change)"))] + (
        [
            SelectChoice(r.person.uid, r.person.name)
            for r in people.household_members(row.household_uid)
            if r.member.moved_out_on is None and r.person.uid != obj.uid
        ]
        if row is not None and row.relation == people.HEAD
        else []
    )
    status = 200
    if form.validate_on_submit():
        try:
            people.record_death(
                obj.uid,
                form.died_on.data,
                form.reason.data,
                source_document_id=form.source_document_id.data,
                heir_household_uid=_optional(form.heir_household_uid.data),
                income_heir_person_uid=_optional(form.income_heir_person_uid.data),
                continuing_household_uid=_optional(form.continuing_household_uid.data),
                new_head_person_uid=_optional(form.new_head_person_uid.data),
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The death of %(name)s was recorded.", name=obj.name))
            return redirect(url_for("registry.person", person_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return _render(
        form,
        title=_("Record a death"),
        back=url_for("registry.person", person_uid=obj.uid),
        subject=obj.name,
        note=_(
            "Memberships and co-holding end on the date of death. A surviving spouse keeps "
            "everything. If nobody else lives in the household, it dies out: the contract's "
            "income is inherited, the contract itself returns to the collective unless a "
            "co-holder's household continues it."
        ),
        status=status,
    )


@bp.route("/persons/<int:person_uid>/guardians/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def person_guardian_new(person_uid: int):
    """Record the guardian (监护人) of a minor."""
    obj = load_current_or_404(Person, person_uid, edit=True)
    form = GuardianForm()
    form.guardian_uid.choices = _members(obj.scope_collective_ids, exclude=obj.uid)
    form.source_document_id.choices = [SelectChoice(_NONE, _("(none)"))] + _documents(
        obj.scope_collective_ids
    )
    status = 200
    if form.validate_on_submit():
        try:
            people.appoint_guardian(
                obj.uid,
                form.guardian_uid.data,
                form.since.data,
                form.reason.data,
                source_document_id=_optional(form.source_document_id.data),
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The guardian was recorded."))
            return redirect(url_for("registry.person", person_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return _render(
        form,
        title=_("Record a guardian"),
        back=url_for("registry.person", person_uid=obj.uid),
        subject=obj.name,
        note=_("Until the age of 18 the guardian gives consent for the person."),
        status=status,
    )


@bp.route("/persons/<int:person_uid>/guardians/end", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def person_guardian_end(person_uid: int):
    """End one of the person's guardianships."""
    obj = load_current_or_404(Person, person_uid, edit=True)
    form = EndGuardianForm()
    form.guardianship_uid.choices = [
        SelectChoice(g.uid, f"{p.name} · {g.since.isoformat()}")
        for g, p in people.guardians_of(obj.uid)
        if g.end_lifespan is None
    ]
    status = 200
    if form.validate_on_submit():
        try:
            people.end_guardianship(form.guardianship_uid.data, form.until.data, form.reason.data)
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The guardianship was ended."))
            return redirect(url_for("registry.person", person_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return _render(
        form,
        title=_("End a guardianship"),
        back=url_for("registry.person", person_uid=obj.uid),
        subject=obj.name,
        note=None,
        status=status,
    )


@bp.route("/households/<int:household_uid>/split", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def household_split(household_uid: int):
    """分户 with the collective's approval (``people.split_household``)."""
    obj = load_current_or_404(Household, household_uid, edit=True)
    form = SplitForm()
    rows = [r for r in people.household_members(obj.uid) if r.member.moved_out_on is None]
    movable = [
        SelectChoice(r.person.uid, r.person.name) for r in rows if r.member.relation != people.HEAD
    ]
    form.members.choices = movable
    form.head_person_uid.choices = movable
    contract = people.household_rights(obj.uid).contract
    form.plots.choices = (
        [
            SelectChoice(p.uid, f"{p.dkbm} {p.name or ''}")
            for p in people.contract_plots(contract.uid)
        ]
        if contract is not None
        else []
    )
    form.source_document_id.choices = _documents(obj.collective_id)
    if request.method == "GET":  # the code the service would give; left empty, it gives it
        form.cbfbm.data = people.next_cbfbm(db.session.get_one(Collective, obj.collective_id))
    status = 200
    if form.validate_on_submit():
        try:
            new = people.split_household(
                obj.uid,
                list(form.members.data or []),
                form.head_person_uid.data,
                form.reason.data,
                source_document_id=form.source_document_id.data,
                plot_uids=list(form.plots.data or []),
                cbfbm=form.cbfbm.data or None,
                name=form.name.data,
                address=form.address.data,
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("Household %(code)s was created.", code=new.cbfbm))
            return redirect(url_for("registry.household", household_uid=new.uid))
    elif request.method == "POST":
        status = 422
    return _render(
        form,
        title=_("Split the household"),
        back=url_for("registry.household", household_uid=obj.uid),
        subject=f"{obj.name} {obj.cbfbm}",
        note=_(
            "The members who leave take the chosen plots to a contract of the new household, "
            "with the collective's resolution or approval."
        ),
        status=status,
    )


@bp.route("/households/<int:household_uid>/merge", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def household_merge(household_uid: int):
    """合户 with the collective's approval (``people.merge_households``)."""
    obj = load_current_or_404(Household, household_uid, edit=True)
    form = MergeForm()
    form.into_household_uid.choices = _households(obj.collective_id, exclude=obj.uid)
    form.source_document_id.choices = _documents(obj.collective_id)
    status = 200
    if form.validate_on_submit():
        try:
            kept = people.merge_households(
                obj.uid,
                form.into_household_uid.data,
                form.reason.data,
                source_document_id=form.source_document_id.data,
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The households were merged."))
            return redirect(url_for("registry.household", household_uid=kept.uid))
    elif request.method == "POST":
        status = 422
    return _render(
        form,
        title=_("Merge into another household"),
        back=url_for("registry.household", household_uid=obj.uid),
        subject=f"{obj.name} {obj.cbfbm}",
        note=_("Its members, land, homestead and shares go to the household it joins."),
        status=status,
    )


@bp.route("/households/<int:household_uid>/dissolve", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def household_dissolve(household_uid: int):
    """户消亡 (``people.dissolve_household``)."""
    obj = load_current_or_404(Household, household_uid, edit=True)
    form = DissolveForm()
    form.source_document_id.choices = _documents(obj.collective_id)
    form.income_heir_person_uid.choices = _members({obj.collective_id}, blank=_l("(not recorded)"))
    form.continuing_household_uid.choices = _households(
        obj.collective_id,
        exclude=obj.uid,
        blank=_l("(none: the land returns to the collective)"),
    )
    form.heir_household_uid.choices = _households(
        obj.collective_id, exclude=obj.uid, blank=_l("(the continuing household)")
    )
    status = 200
    if form.validate_on_submit():
        try:
            people.dissolve_household(
                obj.uid,
                form.on.data,
                form.reason.data,
                source_document_id=form.source_document_id.data,
                income_heir_person_uid=_optional(form.income_heir_person_uid.data),
                continuing_household_uid=_optional(form.continuing_household_uid.data),
                heir_household_uid=_optional(form.heir_household_uid.data),
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The household has died out; its rights were settled."))
            return redirect(url_for("divisions.collective", collective_id=obj.collective_id))
    elif request.method == "POST":
        status = 422
    return _render(
        form,
        title=_("The household died out"),
        back=url_for("registry.household", household_uid=obj.uid),
        subject=f"{obj.name} {obj.cbfbm}",
        note=_(
            "Nobody lives in the household any more. The contract's income is inherited; the "
            "contract itself returns to the collective unless a co-holder's household "
            "continues it."
        ),
        status=status,
    )
