"""HTML pages for people and households: household, person, search, "my household", and the
admin forms (register a person and admit them, create a household, add a member).

Views only translate HTTP to a service call in app.registry.people and back; they commit once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, farmer_household_ids, roles_required
from app.core.calendar import county_today
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.forms import form_failed as _fail
from app.core.inputs import page_arg
from app.core.page_cache import cached_page
from app.divisions.models import Collective
from app.extensions import db
from app.geo.geometry import svg_path
from app.registry import history, inputs, links, map_features, people, present
from app.registry.lookup import load_current_or_404
from app.registry.models import LAND_CLASSES, RELATIONS, Household, Membership, Person
from app.registry.views import bp
from app.registry.views.common import editable_collective as _editable_collective
from app.registry.views.common import length

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
SEARCHERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)

# Pages of the rights, built by other parts of the registry: (path prefix, URL argument).
RIGHT_ROUTES = {
    "contract": ("/contracts/", "contract_uid"),
    "plot": ("/plots/", "plot_uid"),
    "homestead": ("/homesteads/", "homestead_uid"),
    "share": ("/shares/", "holding_uid"),
}


def _right_endpoint(kind: str) -> str | None:
    """The endpoint showing one right of ``kind``, if that page exists in this app."""
    cache = current_app.extensions.setdefault("people_right_endpoints", {})
    if kind not in cache:
        prefix, arg = RIGHT_ROUTES[kind]
        found = None
        for rule in current_app.url_map.iter_rules():
            if (
                rule.rule.startswith(prefix)
                and rule.arguments == {arg}
                and rule.rule.count("/") == 2
                and "GET" in (rule.methods or ())
            ):
                found = rule.endpoint
                break
        cache[kind] = found
    return cache[kind]


def right_href(kind: str, uid: int | None) -> str | None:
    if uid is None:
        return None
    endpoint = _right_endpoint(kind)
    if endpoint is None:
        return None
    values: dict[str, Any] = {RIGHT_ROUTES[kind][1]: uid}
    return url_for(endpoint, **values)


def fmt_m2(m2: float | None) -> str:
    return "" if m2 is None else f"{float(m2):,.2f}"


def fmt_mu(m2: float | None) -> str:
    return "" if m2 is None else format_mu(float(m2))


def plot_map(plots: list[Any], width: int = 480, height: int = 320) -> dict | None:
    """Server-side SVG of plots: viewBox and one path per plot with geometry."""
    shapes = [(p, to_shape(p.geom)) for p in plots if p.geom is not None]
    if not shapes:
        return None
    view_box, ds = svg_path([s for _, s in shapes], width, height)
    return {
        "view_box": view_box,
        "paths": [
            {"d": d, "title": p.dkbm, "href": right_href("plot", p.uid)}
            for (p, _s), d in zip(shapes, ds, strict=True)
            if d
        ],
    }


def helpers() -> dict:
    return {
        "fmt_m2": fmt_m2,
        "fmt_mu": fmt_mu,
        "right_href": right_href,
        "land_classes": LAND_CLASSES,
        "relations": RELATIONS,
    }


def household_context(household: Household) -> dict:
    """Everything the household page (and "my household") shows, in a fixed number of queries."""
    members = people.household_members(household.uid)
    person_uids = [r.person.uid for r in members]
    rights = people.household_rights(household.uid, person_uids)
    view = present.household_view(household, current_user, members=members)
    memberships: Sequence[Any] = []
    if person_uids:
        memberships = db.session.execute(
            select(Membership, Person.name, Collective.name)
            .join(Person, (Person.uid == Membership.person_uid) & Person.end_lifespan.is_(None))
            .join(Collective, Collective.id == Membership.collective_id)
            .where(Membership.person_uid.in_(person_uids), Membership.end_lifespan.is_(None))
            .order_by(Person.name, Membership.since)
        ).all()
    collective = db.session.get(Collective, household.collective_id)
    masked = {m["person"]["uid"]: m["person"]["id_number_masked"] for m in view["members"]}
    return {
        "household": household,
        "collective": collective,
        "view": view,
        "rights": rights,
        "memberships": [
            {
                "person": name,
                "collective": cname,
                **present.membership_view(m, masked=masked.get(m.person_uid, True)),
            }
            for m, name, cname in memberships
        ],
        "person_links": links.person_links(person_uids, current=True),
        "plot_map": plot_map(rights.plots),
        "map": map_features.map_settings(
            [to_shape(p.geom) for p in rights.plots if p.geom is not None]
            + [to_shape(h.geom) for h in rights.homesteads if h.geom is not None],
            household_uid=household.uid,
            collective_id=household.collective_id,
        ),
        "can_edit": can_edit(current_user, household),
        "farmer": Role(current_user.role) == Role.FARMER,
        "succession": [
            present.succession_view(s) for s in people.succession_of(household_uid=household.uid)
        ],
    }


@bp.route("/households/<int:household_uid>")
@roles_required(*READERS)
@cached_page
def household(household_uid: int):
    obj = load_current_or_404(Household, household_uid)
    return render_template("registry/household.html", h=household_context(obj), **helpers())


@bp.route("/my")
@roles_required(Role.FARMER)
@cached_page
def my_household():
    households = []
    for uid in sorted(farmer_household_ids(current_user)):
        obj = history.current_of(Household, uid)
        if obj is not None:
            households.append(household_context(obj))
    return render_template("registry/my_household.html", households=households, **helpers())


@bp.route("/persons/<int:person_uid>")
@roles_required(*READERS)
def person(person_uid: int):
    obj = load_current_or_404(Person, person_uid)
    memberships = people.person_memberships(obj.uid)
    open_ids = {m.collective_id for m in memberships if m.end_lifespan is None}
    names = dict(
        db.session.execute(
            select(Collective.id, Collective.name).where(
                Collective.id.in_({m.collective_id for m in memberships} or {-1})
            )
        ).all()
    )
    view = present.person_view(obj, current_user, open_ids)
    versions = history.versions(Person, obj.uid)
    changes = []
    previous = None
    for v in versions:
        changed: list[str] = sorted(history.diff(previous, v)) if previous is not None else []
        changes.append({"version": v, "fields": changed})
        previous = v
    return render_template(
        "registry/person.html",
        person=obj,
        view=view,
        memberships=[
            {
                "collective": names.get(m.collective_id, ""),
                **present.membership_view(m, masked=view["id_number_masked"]),
            }
            for m in memberships
        ],
        households=people.person_households(obj.uid),
        changes=list(reversed(changes)),
        can_edit=can_edit(current_user, obj),
        life=_life(obj),
        **helpers(),
    )


def _life(person: Person) -> dict:
    """Guardians and what became of the rights of a person, for the person page."""

    guardians = people.guardians_of(person.uid)
    return {
        "guardians": guardians,
        "open_guardians": [g for g, _p in guardians if g.end_lifespan is None],
        "minor": people.is_minor(person, county_today()),
        "succession": [
            present.succession_view(s) for s in people.succession_of(person_uid=person.uid)
        ],
    }


@bp.route("/search")
@roles_required(*SEARCHERS)
def search():
    q = request.args.get("q", "", type=str)
    page = page_arg()
    try:
        hits, more = people.search(current_user, q, page=page)
    except DomainError as err:  # a search text beyond its limit: say so on the page
        return render_template(
            "registry/search.html",
            q="",
            rows=[],
            page=1,
            more=False,
            searched=False,
            error=err,
            search_max=inputs.SEARCH_MAX,
        )
    scopes = present.collective_ids_of(h.uid for h in hits if h.kind == "person")
    rows = []
    for h in hits:
        row = {"kind": h.kind, "label": h.label, "code": h.code, "href": None}
        if h.kind == "person":
            row["code"] = present.show_id_number(current_user, h.obj, scopes[h.uid])
            row["href"] = url_for("registry.person", person_uid=h.uid)
        elif h.kind == "household":
            row["href"] = url_for("registry.household", household_uid=h.uid)
        else:
            row["href"] = right_href("share" if h.kind == "share" else h.kind, h.uid) or (
                url_for("registry.household", household_uid=h.household_uid)
                if h.household_uid
                else None
            )
        rows.append(row)
    return render_template(
        "registry/search.html",
        q=q,
        rows=rows,
        page=page,
        more=more,
        searched=bool(q.strip()),
        search_max=inputs.SEARCH_MAX,
    )


# --- admin forms


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


# The agricultural / non-agricultural label of before 2014 (the kind is 居民户口 since then).
_ORIGINS = [("", _l("(not recorded)")), *people.HUKOU_ORIGINS.items()]


class RegisterPersonForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), length("name")])
    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=40)])
    sex = SelectField(
        _l("Sex"),
        choices=_choices(
            [("", _l("(from the ID number)")), ("M", _l("Male")), ("F", _l("Female"))]
        ),
        validate_choice=True,
    )
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    hukou_type = SelectField(
        _l("Where the hukou is registered"),
        choices=_choices(people.HUKOU_TYPES.items()),
        default="rural",
    )
    hukou_origin = SelectField(_l("Hukou before 2014"), choices=_choices(_ORIGINS), default="")
    hukou_place = StringField(_l("Hukou place"), validators=[Optional(), length("place")])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    since = DateField(_l("Member since"), validators=[DataRequired()])
    basis = SelectField(_l("Basis of membership"), choices=_choices(people.BASES.items()))
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class EditPersonForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), length("name")])
    hukou_type = SelectField(
        _l("Where the hukou is registered"), choices=_choices(people.HUKOU_TYPES.items())
    )
    hukou_origin = SelectField(_l("Hukou before 2014"), choices=_choices(_ORIGINS), default="")
    hukou_place = StringField(_l("Place of hukou"), validators=[Optional(), length("place")])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class HouseholdForm(FlaskForm):
    cbfbm = StringField(_l("Household code (CBFBM)"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Household name"), validators=[Optional(), length("name")])
    address = StringField(_l("Address"), validators=[Optional(), length("address")])
    head_person_uid = SelectField(_l("Head of household"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class MemberForm(FlaskForm):
    person_uid = SelectField(_l("Person"), coerce=int)
    relation = SelectField(
        _l("Relation to the head"),
        choices=_choices((k, v) for k, v in RELATIONS.items() if k != people.HEAD),
    )
    is_co_holder = BooleanField(_l("Co-holder of the household's rights"), default=True)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


def _person_choices(collective_id: int) -> list[SelectChoice]:
    def text(p: Person) -> str:
        return f"{p.name} ({present.show_id_number(current_user, p, [collective_id])})"

    return _choices((p.uid, text(p)) for p in people.eligible_people(collective_id))


@bp.route("/collectives/<int:collective_id>/persons/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def person_new(collective_id: int):
    collective = _editable_collective(collective_id)
    form = RegisterPersonForm()
    status = 200
    if form.validate_on_submit():
        try:
            person_obj = people.register_person(
                form.name.data,
                form.id_number.data,
                form.sex.data or None,
                form.birth_date.data,
                form.hukou_type.data,
                form.hukou_place.data,
                form.phone.data,
                reason=form.reason.data,
                hukou_origin=form.hukou_origin.data or None,
            )
            people.admit_member(
                person_obj.uid, collective.id, form.since.data, form.basis.data, form.reason.data
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("%(name)s was registered as a member.", name=person_obj.name))
            household_uid = request.args.get("household_uid", type=int)
            if household_uid:  # came from a household's page: add them there next
                return redirect(
                    url_for(
                        "registry.household_member_new",
                        household_uid=household_uid,
                        person_uid=person_obj.uid,
                    )
                )
            return redirect(url_for("registry.person", person_uid=person_obj.uid))
    elif request.method == "POST":
        status = 422
    return render_template("registry/person_form.html", form=form, collective=collective), status


@bp.route("/persons/<int:person_uid>/edit", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def person_edit(person_uid: int):
    """Correct a person's data (a new version; settling in town touches no right, R12)."""
    obj = load_current_or_404(Person, person_uid, edit=True)
    form = EditPersonForm(obj=obj if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        fields = ("name", "hukou_type", "hukou_origin", "hukou_place", "phone")
        changes = {
            f: (getattr(form, f).data or None) if f != "name" else getattr(form, f).data
            for f in fields
            if (getattr(form, f).data or None) != (getattr(obj, f) or None)
        }
        try:
            updated = people.update_person(obj.uid, form.reason.data, **changes)
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The change was recorded as a new version."))
            return redirect(url_for("registry.person", person_uid=updated.uid))
    elif request.method == "POST":
        status = 422
    return render_template("registry/person_edit.html", form=form, person=obj), status


@bp.route("/collectives/<int:collective_id>/households/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def household_new(collective_id: int):
    collective = _editable_collective(collective_id)
    form = HouseholdForm()
    form.head_person_uid.choices = _person_choices(collective.id)
    if request.method == "GET":  # the code the service would give; left empty, it gives it
        form.cbfbm.data = people.next_cbfbm(collective)
    status = 200
    if form.validate_on_submit():
        try:
            obj = people.create_household(
                collective.id,
                form.cbfbm.data or None,
                form.name.data,
                form.address.data,
                form.head_person_uid.data,
                form.reason.data,
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("Household %(code)s was created.", code=obj.cbfbm))
            return redirect(url_for("registry.household", household_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return render_template("registry/household_form.html", form=form, collective=collective), status


@bp.route("/households/<int:household_uid>/members/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def household_member_new(household_uid: int):
    obj = load_current_or_404(Household, household_uid, edit=True)
    form = MemberForm()
    form.person_uid.choices = _person_choices(obj.collective_id)
    asked = request.args.get("person_uid", type=int)
    if request.method == "GET" and asked:
        form.person_uid.data = asked
    status = 200
    if form.validate_on_submit():
        try:
            people.add_household_member(
                obj.uid,
                form.person_uid.data,
                form.relation.data,
                form.is_co_holder.data,
                form.reason.data,
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The member was added."))
            return redirect(url_for("registry.household", household_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return render_template("registry/household_member_form.html", form=form, household=obj), status
