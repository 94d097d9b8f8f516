"""HTML pages for plots: the plot, its history, a collective's list, the new-plot and boundary
forms, and putting a plot into a contract.
"""

from __future__ import annotations

from typing import Any

import shapely
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.auth.models import Role
from app.auth.scope import can_edit, can_read, load_or_404, roles_required
from app.core.errors import DomainError
from app.core.forms import form_failed as _fail
from app.core.inputs import id_arg
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, land, map_features, present
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import (
    LAND_CLASSES,
    GeometryFinding,
    Household,
    LandContract,
    Plot,
    RightMove,
)
from app.registry.spatial_checks import plots_near
from app.registry.views import bp
from app.registry.views.common import basis_choices, document_choices, length, requested_flash
from app.registry.views.common import editable_collective as _editable_collective
from app.registry.views.history_view import history_page
from app.registry.views.land_helpers import (
    CRS_CHOICES,
    PAGE,
    READERS,
    STAFF,
    _contract_choices,
    _geometry_error,
    _map,
    _page,
    _report_change,
    _uploaded_geometry,
    _url,
    fmt_m2,
    fmt_mu,
    land_use_choices,
)

PLOT_LABELS = {
    "dkbm": _l("Plot code (DKBM)"),
    "collective_id": _l("Collective"),
    "contract_uid": _l("Contract"),
    "household_uid": _l("Household"),
    "name": _l("Plot name"),
    "land_class": _l("Land class"),
    "land_use": _l("Land use"),
    "is_basic_farmland": _l("Basic farmland"),
    "contract_area_m2": _l("Contract area (m²)"),
    "measured_area_m2": _l("Measured area (m²)"),
    "east": _l("East boundary"),
    "south": _l("South boundary"),
    "west": _l("West boundary"),
    "north": _l("North boundary"),
    "geom": _l("Boundary (geometry)"),
}


class PlotForm(FlaskForm):
    dkbm = StringField(_l("Plot code (DKBM)"))
    name = StringField(_l("Plot name"), validators=[length("name")])
    land_class = SelectField(
        _l("Land class"),
        choices=[SelectChoice(k, v) for k, v in LAND_CLASSES.items()],
        default="10",
    )
    land_use = SelectField(_l("Land use"), default="")  # choices: land_use_choices()
    is_basic_farmland = BooleanField(_l("Basic farmland"))
    contract_area_m2 = StringField(_l("Contract area (m²)"))
    measured_area_m2 = StringField(_l("Measured area (m²), empty = from the geometry"))
    east = StringField(_l("East boundary"), validators=[length("label")])
    south = StringField(_l("South boundary"), validators=[length("label")])
    west = StringField(_l("West boundary"), validators=[length("label")])
    north = StringField(_l("North boundary"), validators=[length("label")])
    contract_uid = SelectField(_l("Contract"), coerce=int, default=0)
    geometry = TextAreaField(_l("Geometry (GeoJSON or WKT)"))
    geometry_file = FileField(_l("…or upload a .geojson file"))
    crs = SelectField(_l("Coordinate reference system"), choices=CRS_CHOICES, default="")
    accept_repair = BooleanField(_l("Apply the suggested repair"))
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = TextAreaField(_l("Reason"), validators=[length("reason")])


class GeometryForm(FlaskForm):
    geometry = TextAreaField(_l("Geometry (GeoJSON or WKT)"))
    geometry_file = FileField(_l("…or upload a .geojson file"))
    crs = SelectField(_l("Coordinate reference system"), choices=CRS_CHOICES, default="")
    measured_area_m2 = StringField(_l("Measured area (m²), empty = from the geometry"))
    accept_repair = BooleanField(_l("Apply the suggested repair"))
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = TextAreaField(_l("Reason"), validators=[length("reason")])


class AssignForm(FlaskForm):
    contract_uid = SelectField(_l("Contract"), coerce=int, default=0)
    basis = SelectField(_l("Legal basis (to move it out of a household's contract)"), choices=[])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[length("reason")])


@bp.route("/plots/<int:plot_uid>")
@roles_required(*READERS)
def plot(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid)
    return _plot_page(obj)


def _plot_page(obj: Plot, *, assign_form: AssignForm | None = None, status: int = 200):
    collective = db.session.get(Collective, obj.collective_id)
    contract_obj = history.current_of(LandContract, obj.contract_uid) if obj.contract_uid else None
    household = history.current_of(Household, obj.household_uid) if obj.household_uid else None
    shape = to_shape(obj.geom) if obj.geom is not None else None
    shapes: list[tuple[Any, str, str | None, str]] = []
    if shape is not None:
        for n in plots_near(shape, collective_id=obj.collective_id):
            if n.uid != obj.uid:
                shapes.append((n.geom, "", None, ""))
        shapes.append((shape, obj.dkbm, None, "own"))
    findings = land.findings_of_plot(obj.uid)
    other_uids = {f.other_plot_uid for f in findings} | {f.plot_uid for f in findings}
    codes = present.readable_plot_codes(current_user, other_uids)
    # A finding of another collective that names this plot: shown, without its decision.
    own_findings = {
        f.id for f in findings if f.collective_id == obj.collective_id or can_read(current_user, f)
    }
    editable = can_edit(current_user, obj)
    if editable and assign_form is None:
        assign_form = AssignForm(formdata=None)
        assign_form.contract_uid.data = obj.contract_uid or 0
    if editable and assign_form is not None:
        assign_form.contract_uid.choices = _contract_choices(obj.collective_id)
        assign_form.source_document_id.choices = document_choices(obj.collective_id)
        assign_form.basis.choices = basis_choices("plot_move", optional=True)
    return render_template(
        "registry/plot.html",
        plot=obj,
        collective=collective,
        contract=contract_obj,
        household=household,
        household_url=(
            _url("registry.household", household_uid=obj.household_uid)
            if obj.household_uid
            else None
        ),
        plot_map=_map(shapes),
        map_settings=map_features.map_settings(
            [shape],
            selected=f"plot.{obj.uid}",
            household_uid=obj.household_uid,
            collective_id=obj.collective_id,
        ),
        findings=findings,
        codes=codes,
        own_findings=own_findings,
        state_label=land.finding_state_label,
        can_edit=editable,
        assign_form=assign_form if editable else None,
        land_classes=LAND_CLASSES,
        fmt_m2=fmt_m2,
        fmt_mu=fmt_mu,
    ), status


@bp.route("/plots/<int:plot_uid>/history")
@roles_required(*READERS)
def plot_history(plot_uid: int):
    obj = load_latest_or_404(Plot, plot_uid)
    return history_page(
        Plot,
        plot_uid,
        title=_("History of plot %(code)s", code=obj.dkbm),
        code=obj.dkbm,
        back_url=url_for("registry.plot", plot_uid=plot_uid) if obj.end_lifespan is None else "",
        labels=PLOT_LABELS,
    )


@bp.route("/collectives/<int:collective_id>/plots")
@roles_required(*STAFF)
def collective_plots(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    page = _page()
    plots = list(
        db.session.scalars(
            select(Plot)
            .where(Plot.collective_id == collective.id, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
            .limit(PAGE + 1)
            .offset((page - 1) * PAGE)
        )
    )
    open_findings = db.session.scalar(
        select(func.count(GeometryFinding.id)).where(
            GeometryFinding.collective_id == collective.id, GeometryFinding.state == "open"
        )
    )
    return render_template(
        "registry/plot_list.html",
        collective=collective,
        plots=plots[:PAGE],
        page=page,
        has_next=len(plots) > PAGE,
        open_findings=open_findings,
        can_edit=can_edit(current_user, collective),
        land_classes=LAND_CLASSES,
        fmt_m2=fmt_m2,
        fmt_mu=fmt_mu,
    )


@bp.route("/collectives/<int:collective_id>/plots/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_new(collective_id: int):
    collective = _editable_collective(collective_id)
    form = PlotForm()
    form.land_use.choices = land_use_choices()
    form.contract_uid.choices = _contract_choices(collective.id)
    form.source_document_id.choices = document_choices(collective.id)
    if request.method == "GET":
        form.contract_uid.data = id_arg("contract_uid", 0)
    status = 200
    geometry_error = None
    if request.method == "POST":
        form.validate_on_submit()  # CSRF and types; the rules are the service's
        try:
            change = land.add_plot(
                collective.id,
                form.dkbm.data or "",
                _uploaded_geometry(form),
                form.crs.data,
                contract_uid=form.contract_uid.data or None,
                name=form.name.data,
                land_class=form.land_class.data,
                land_use=form.land_use.data,
                is_basic_farmland=form.is_basic_farmland.data,
                contract_area_m2=form.contract_area_m2.data,
                measured_area_m2=form.measured_area_m2.data,
                east=form.east.data,
                south=form.south.data,
                west=form.west.data,
                north=form.north.data,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
                accept_repair=form.accept_repair.data,
            )
        except DomainError as err:
            geometry_error = _geometry_error(err)
            if geometry_error is None:
                _fail(form, err)
            else:
                db.session.rollback()
            status = 422
        else:
            db.session.commit()
            flash(_("Plot %(code)s was registered.", code=change.plot.dkbm))
            _report_change(change)
            return redirect(url_for("registry.plot", plot_uid=change.plot.uid))
    return render_template(
        "registry/plot_form.html",
        form=form,
        collective=collective,
        plot=None,
        geometry_error=geometry_error,
        map_settings=_editor_map(collective.id, None),
    ), status


@bp.route("/plots/<int:plot_uid>/geometry", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_geometry(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid, edit=True)
    collective = db.session.get(Collective, obj.collective_id)
    form = GeometryForm()
    form.source_document_id.choices = document_choices(obj.collective_id)
    status = 200
    geometry_error = None
    if request.method == "POST":
        form.validate_on_submit()
        try:
            change = land.update_plot_geometry(
                obj.uid,
                _uploaded_geometry(form),
                form.crs.data,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
                measured_area_m2=form.measured_area_m2.data,
                accept_repair=form.accept_repair.data,
            )
        except DomainError as err:
            geometry_error = _geometry_error(err)
            if geometry_error is None:
                _fail(form, err)
            else:
                db.session.rollback()
            status = 422
            obj = load_current_or_404(Plot, plot_uid, edit=True)
        else:
            db.session.commit()
            flash(_("The boundary of plot %(code)s was revised.", code=change.plot.dkbm))
            _report_change(change)
            return redirect(url_for("registry.plot", plot_uid=change.plot.uid))
    return render_template(
        "registry/plot_form.html",
        form=form,
        collective=collective,
        plot=obj,
        geometry_error=geometry_error,
        map_settings=_editor_map(obj.collective_id, obj),
    ), status


#: Plots of the collective whose box a new plot's map opens on.
EDITOR_SAMPLE = 200


def _editor_map(collective_id: int, obj: Plot | None) -> dict | None:
    """The plot form's map: opens on the plot (or on the collective's plots for a new one) and
    writes the drawn outline into the form's geometry field."""
    if obj is not None and obj.geom is not None:
        shape = to_shape(obj.geom)
        return map_features.map_settings(
            [shape],
            selected=f"plot.{obj.uid}",
            household_uid=obj.household_uid,
            collective_id=collective_id,
            outline=shape,
        )
    around = db.session.scalars(
        select(Plot.geom)
        .where(
            Plot.collective_id == collective_id,
            Plot.end_lifespan.is_(None),
            Plot.geom.is_not(None),
        )
        .limit(EDITOR_SAMPLE)
    )
    return map_features.map_settings(
        [to_shape(g) for g in around],
        selected=f"plot.{obj.uid}" if obj is not None else None,
        collective_id=collective_id,
        outline=shapely.Polygon(),
    )


@bp.post("/plots/<int:plot_uid>/contract")
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_assign(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid, edit=True)
    form = AssignForm()
    form.contract_uid.choices = _contract_choices(obj.collective_id)
    form.source_document_id.choices = document_choices(obj.collective_id)
    form.basis.choices = basis_choices("plot_move", optional=True)
    form.validate_on_submit()
    try:
        new = land.assign_plot_to_contract(
            obj.uid,
            form.contract_uid.data or None,
            source_document_id=form.source_document_id.data,
            reason=form.reason.data,
            basis=form.basis.data or None,
        )
    except DomainError as err:
        _fail(form, err)
        obj = load_current_or_404(Plot, plot_uid)
        return _plot_page(obj, assign_form=form, status=422)
    db.session.commit()
    if isinstance(new, RightMove):
        requested_flash()
        return redirect(url_for("registry.move", move_id=new.id))
    flash(_("The plot's contract was updated."))
    return redirect(url_for("registry.plot", plot_uid=new.uid))
