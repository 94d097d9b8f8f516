"""HTML pages for homestead use rights: the homestead page with its history and map, the
collective's list, and the admin forms to grant (R07, R08, R09), to register an existing homestead
as it is (R08) and to record a disposal.

Views translate HTTP to one service call in app.registry.homesteads and commit once.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, can_read, load_or_404, roles_required
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.fields import DecimalField  # finite, within the database's range
from app.core.inputs import page_arg
from app.divisions.models import Collective
from app.extensions import db
from app.geo.geometry import svg_path
from app.registry import history, map_features
from app.registry import homesteads as service
from app.registry.labels import DISPOSAL_LABELS
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import TERRAIN_CAPS, Homestead, Household, Person
from app.registry.moves import BASES, DISPOSAL_BASES
from app.registry.versioning import Versioned
from app.registry.views import bp
from app.registry.views.common import choices, document_choices, fail, length
from app.registry.views.history_view import history_page

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
LIST_READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
PAGE = 50

V = TypeVar("V", bound=Versioned)

REGISTRATION_LABELS = {
    "new": _l("New grant (新批)"),
    "existing": _l("Existing homestead registered as it is (存量)"),
}
ACQUISITION_LABELS = {
    "approval": _l("Approval"),
    "inheritance": _l("Inheritance (继承)"),
    "other": _l("Other lawful way (e.g. built before approvals were required)"),
}
#: Field names for the generic history page.
HOMESTEAD_LABELS = {
    "unit_number": _l("Real-estate unit number"),
    "household_uid": _l("Household"),
    "collective_id": _l("Collective"),
    "approval_number": _l("Approval document no."),
    "approved_on": _l("Approved on"),
    "terrain": _l("Terrain"),
    "area_m2": _l("Homestead area (m²)"),
    "floor_area_m2": _l("House floor area (m²)"),
    "disposal": _l("Disposal"),
    "geom": _l("Outline"),
    "registration": _l("Registration"),
    "acquired_by": _l("Acquired by"),
    "heir_person_uid": _l("Heir holding it in person"),
    "note": _l("Note"),
}
TERRAIN_LABELS = {
    "plain": _l("Plain or city outskirts"),
    "hill": _l("Hills"),
    "mountain": _l("Mountains"),
}


# --- shared by the homestead and share pages


def number(value: Any) -> float | None:
    return None if value is None else float(value)


# --- forms


class GrantForm(FlaskForm):
    unit_number = StringField(
        _l("Real-estate unit number (28 characters)"),
        validators=[DataRequired(), Length(max=40)],
    )
    terrain = SelectField(_l("Terrain"), choices=[], default="plain")
    area_m2 = DecimalField(
        _l("Homestead area (m²)"), validators=[Optional(), NumberRange(min=0)], places=2
    )
    floor_area_m2 = DecimalField(
        _l("House floor area (m²)"), validators=[Optional(), NumberRange(min=0)], places=2
    )
    approval_number = StringField(
        _l("Approval document no. (宅基地批准书)"), validators=[DataRequired(), Length(max=64)]
    )
    approved_on = DateField(_l("Approved on"), validators=[DataRequired()])
    geometry = TextAreaField(_l("Outline (GeoJSON or WKT, optional)"), validators=[Optional()])
    crs = StringField(
        _l("Coordinate reference system of the outline (e.g. EPSG:4490)"),
        validators=[Optional(), Length(max=200)],
    )
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class ExistingForm(FlaskForm):
    unit_number = StringField(
        _l("Real-estate unit number (28 characters)"),
        validators=[DataRequired(), Length(max=40)],
    )
    acquired_by = SelectField(_l("How the household came by it"), choices=[], default="approval")
    heir_id_number = StringField(
        _l("ID number of the heir, if the heir is not a member household here (optional)"),
        validators=[Optional(), Length(max=40)],
    )
    terrain = SelectField(_l("Terrain"), choices=[], default="plain")
    area_m2 = DecimalField(
        _l("Homestead area (m²)"), validators=[Optional(), NumberRange(min=0)], places=2
    )
    floor_area_m2 = DecimalField(
        _l("House floor area (m²)"), validators=[Optional(), NumberRange(min=0)], places=2
    )
    approval_number = StringField(
        _l("Approval document no. (宅基地批准书), if there is one"),
        validators=[Optional(), Length(max=64)],
    )
    approved_on = DateField(_l("Approved on"), validators=[Optional()])
    geometry = TextAreaField(_l("Outline (GeoJSON or WKT, optional)"), validators=[Optional()])
    crs = StringField(
        _l("Coordinate reference system of the outline (e.g. EPSG:4490)"),
        validators=[Optional(), Length(max=200)],
    )
    remark = TextAreaField(_l("Remark for the register (optional)"), validators=[Optional()])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


class DisposeForm(FlaskForm):
    disposal = SelectField(_l("How the homestead was disposed of"), choices=[])
    basis = SelectField(_l("Legal basis (for a sale, lease, gift or transfer)"), choices=[])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


def disposal_basis_choices() -> list[SelectChoice]:
    """The bases on which a sale, lease, gift or transfer of the house is recorded here."""
    return [SelectChoice("", _("— none (a return to the collective) —"))] + [
        SelectChoice(code, str(label)) for code, label in BASES.items() if code in DISPOSAL_BASES
    ]


# --- pages


@bp.route("/homesteads/<int:homestead_uid>")
@roles_required(*READERS)
def homestead(homestead_uid: int):
    obj = load_latest_or_404(Homestead, homestead_uid)
    household = db.session.scalar(
        select(Household)
        .where(Household.uid == obj.household_uid)
        .order_by(Household.version.desc())
        .limit(1)
    )
    collective = db.session.get(Collective, obj.collective_id)
    svg = None
    if obj.geom is not None:
        view_box, paths = svg_path([to_shape(obj.geom)], 360, 260)
        svg = {"view_box": view_box, "d": paths[0]}
    editable = obj.is_current and can_edit(current_user, obj)
    # The household's homesteads over time and how each ended: what R08 looks at.
    heir = history.current_of(Person, obj.heir_person_uid) if obj.heir_person_uid else None
    disposals = db.session.execute(
        select(Homestead.uid, Homestead.unit_number, Homestead.disposal, Homestead.valid_to)
        .where(Homestead.household_uid == obj.household_uid, Homestead.disposal.is_not(None))
        .order_by(Homestead.end_lifespan)
    ).all()
    return render_template(
        "registry/homestead.html",
        h=obj,
        household=household,
        collective=collective,
        cap=TERRAIN_CAPS.get(obj.terrain),
        terrain_label=TERRAIN_LABELS.get(obj.terrain, obj.terrain),
        disposal_labels=DISPOSAL_LABELS,
        area_mu=format_mu(obj.area_m2),
        svg=svg,
        map_settings=map_features.map_settings(
            [to_shape(obj.geom) if obj.geom is not None else None],
            selected=f"homestead.{obj.uid}",
            household_uid=obj.household_uid,
            collective_id=obj.collective_id,
        ),
        disposals=disposals,
        r8_barring=service.r08_barring_disposals(),
        registration_label=REGISTRATION_LABELS.get(obj.registration, obj.registration),
        acquisition_label=ACQUISITION_LABELS.get(obj.acquired_by, obj.acquired_by),
        heir=heir,
        versions=len(history.versions(Homestead, obj.uid)),
        editable=editable,
        household_readable=household is not None and can_read(current_user, household),
    )


@bp.route("/homesteads/<int:homestead_uid>/history")
@roles_required(*READERS)
def homestead_history(homestead_uid: int):
    obj = load_latest_or_404(Homestead, homestead_uid)
    return history_page(
        Homestead,
        obj.uid,
        title=_("History of homestead %(code)s", code=obj.unit_number),
        code=obj.unit_number,
        back_url=url_for("registry.homestead", homestead_uid=obj.uid),
        labels=HOMESTEAD_LABELS,
    )


@bp.route("/collectives/<int:collective_id>/homesteads")
@roles_required(*LIST_READERS)
def collective_homesteads(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    page = page_arg()
    rows = db.session.execute(
        select(Homestead, Household.name)
        .join(
            Household,
            (Household.uid == Homestead.household_uid) & Household.end_lifespan.is_(None),
            isouter=True,
        )
        .where(Homestead.collective_id == collective.id, Homestead.end_lifespan.is_(None))
        .order_by(Homestead.unit_number)
        .limit(PAGE + 1)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template(
        "registry/homestead_list.html",
        collective=collective,
        rows=rows[:PAGE],
        page=page,
        more=len(rows) > PAGE,
        terrain_labels=TERRAIN_LABELS,
        editable=can_edit(current_user, collective),
    )


@bp.route("/households/<int:household_uid>/homestead/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def homestead_new(household_uid: int):
    household = load_current_or_404(Household, household_uid, edit=True)
    collective = db.session.get_one(Collective, household.collective_id)
    form = GrantForm()
    form.terrain.choices = choices(TERRAIN_LABELS.items())
    form.source_document_id.choices = document_choices(collective.id)
    status = 200
    if form.validate_on_submit():
        try:
            obj = service.grant_homestead(
                household.uid,
                form.unit_number.data,
                form.terrain.data,
                number(form.area_m2.data),
                approval_number=form.approval_number.data,
                approved_on=form.approved_on.data,
                floor_area_m2=number(form.floor_area_m2.data),
                geometry=(form.geometry.data or "").strip() or None,
                crs=(form.crs.data or "").strip() or None,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The homestead %(unit)s was registered.", unit=obj.unit_number))
            return redirect(url_for("registry.homestead", homestead_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    eligible, why = service.may_apply_for_homestead(household.uid)
    return (
        render_template(
            "registry/homestead_form.html",
            form=form,
            household=household,
            collective=collective,
            eligible=eligible,
            why=why,
            caps=[(TERRAIN_LABELS[t], cap) for t, cap in TERRAIN_CAPS.items()],
            tolerance=float(current_app.config.get("HOMESTEAD_AREA_TOLERANCE_M2", 2.0)),
        ),
        status,
    )


@bp.route("/households/<int:household_uid>/homestead/existing", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def homestead_existing(household_uid: int):
    household = load_current_or_404(Household, household_uid, edit=True)
    collective = db.session.get_one(Collective, household.collective_id)
    form = ExistingForm()
    form.terrain.choices = choices(TERRAIN_LABELS.items())
    form.acquired_by.choices = choices(ACQUISITION_LABELS.items())
    form.source_document_id.choices = document_choices(collective.id)
    status = 200
    if form.validate_on_submit():
        try:
            obj = service.register_existing_homestead(
                household.uid,
                form.unit_number.data,
                form.terrain.data,
                number(form.area_m2.data),
                acquired_by=form.acquired_by.data,
                heir_id_number=(form.heir_id_number.data or "").strip() or None,
                approval_number=(form.approval_number.data or "").strip() or None,
                approved_on=form.approved_on.data,
                floor_area_m2=number(form.floor_area_m2.data),
                geometry=(form.geometry.data or "").strip() or None,
                crs=(form.crs.data or "").strip() or None,
                remark=form.remark.data,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The existing homestead %(unit)s was registered.", unit=obj.unit_number))
            return redirect(url_for("registry.homestead", homestead_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "registry/homestead_existing_form.html",
            form=form,
            household=household,
            collective=collective,
        ),
        status,
    )


@bp.route("/homesteads/<int:homestead_uid>/dispose", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def homestead_dispose(homestead_uid: int):
    obj = load_current_or_404(Homestead, homestead_uid, edit=True)
    form = DisposeForm()
    form.disposal.choices = choices(DISPOSAL_LABELS.items())
    form.basis.choices = disposal_basis_choices()
    form.source_document_id.choices = document_choices(obj.collective_id)
    status = 200
    if form.validate_on_submit():
        try:
            service.dispose_homestead(
                obj.uid,
                form.disposal.data,
                form.reason.data,
                form.source_document_id.data,
                basis=form.basis.data or None,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The disposal was recorded."))
            return redirect(url_for("registry.homestead", homestead_uid=obj.uid))
    elif request.method == "POST":
        status = 422
    return render_template("registry/homestead_dispose.html", form=form, h=obj), status
