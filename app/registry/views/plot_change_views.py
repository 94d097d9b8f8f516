"""HTML pages that split a plot or merge plots (the rules: app.registry.plot_changes)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.core.forms import form_failed as _fail
from app.divisions.models import Collective
from app.extensions import db
from app.registry import plot_changes
from app.registry.lookup import load_current_or_404
from app.registry.models import Plot
from app.registry.spatial_checks import plots_near
from app.registry.views import bp
from app.registry.views.common import document_choices, length
from app.registry.views.land_helpers import (
    CRS_CHOICES,
    _geometry_error,
    _map,
    _report_change,
    fmt_m2,
)


class SplitForm(FlaskForm):
    parts = TextAreaField(_l("New plots (GeoJSON FeatureCollection or MultiPolygon, or WKT)"))
    crs = SelectField(_l("Coordinate reference system"), choices=CRS_CHOICES, default="")
    contract_areas = StringField(
        _l("Contract areas of the new plots (m², in order, separated by commas)")
    )
    accept_repair = BooleanField(_l("Apply the suggested repair"))
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = TextAreaField(_l("Reason"), validators=[length("reason")])


class MergeForm(FlaskForm):
    others = SelectMultipleField(_l("Merge with"), coerce=int)
    name = StringField(_l("Name of the merged plot (empty = this plot's)"), [length("name")])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = TextAreaField(_l("Reason"), validators=[length("reason")])


def _contract_areas(raw: str | None) -> list[str] | None:
    """The split form's contract areas: empty = shared out by the service; else one per part."""
    text = (raw or "").replace("，", ",").strip()
    return [a.strip() for a in text.split(",")] if text else None


@bp.route("/plots/<int:plot_uid>/split", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_split(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid, edit=True)
    collective = db.session.get(Collective, obj.collective_id)
    form = SplitForm()
    form.source_document_id.choices = document_choices(obj.collective_id)
    status = 200
    geometry_error = None
    if request.method == "POST":
        form.validate_on_submit()  # CSRF and types; the rules are the service's
        try:
            done = plot_changes.split_plot(
                obj.uid,
                form.parts.data or "",
                form.crs.data,
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
                contract_areas=_contract_areas(form.contract_areas.data),
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
            codes = ", ".join(c.plot.dkbm for c in done.created)
            flash(_("Plot %(old)s was split into %(codes)s.", old=obj.dkbm, codes=codes))
            for change in done.created:
                _report_change(change)
            return redirect(url_for("registry.plot", plot_uid=done.created[0].plot.uid))
    shape = to_shape(obj.geom) if obj.geom is not None else None
    return render_template(
        "registry/plot_split.html",
        form=form,
        plot=obj,
        collective=collective,
        geometry_error=geometry_error,
        plot_map=_map([(shape, obj.dkbm, None, "own")]),
        fmt_m2=fmt_m2,
    ), status


def _merge_candidates(obj: Plot) -> list[Plot]:
    """Plots that may be merged with this one: current, near it, of its contract and class."""
    if obj.geom is None:
        return []
    near = [n.uid for n in plots_near(to_shape(obj.geom), collective_id=obj.collective_id)]
    same_contract = (
        Plot.contract_uid.is_(None)
        if obj.contract_uid is None
        else Plot.contract_uid == obj.contract_uid
    )
    return list(
        db.session.scalars(
            select(Plot)
            .where(
                Plot.uid.in_([u for u in near if u != obj.uid] or [0]),
                Plot.end_lifespan.is_(None),
                same_contract,
                Plot.land_class == obj.land_class,
            )
            .order_by(Plot.dkbm)
        )
    )


@bp.route("/plots/<int:plot_uid>/merge", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_merge(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid, edit=True)
    collective = db.session.get(Collective, obj.collective_id)
    candidates = _merge_candidates(obj)
    form = MergeForm()
    form.others.choices = [
        SelectChoice(p.uid, f"{p.dkbm} · {p.name or ''} · {fmt_m2(p.measured_area_m2)} m²")
        for p in candidates
    ]
    form.source_document_id.choices = document_choices(obj.collective_id)
    status = 200
    if request.method == "POST":
        form.validate_on_submit()  # CSRF and types; the rules are the service's
        others = [uid for uid in (form.others.data or []) if uid != obj.uid]
        for uid in others:  # each plot must be within the admin's reach, or it does not exist
            load_current_or_404(Plot, uid, edit=True)
        try:
            done = plot_changes.merge_plots(
                [obj.uid, *others],
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
                name=form.name.data,
            )
        except DomainError as err:
            if err.field == "plot_uids":
                err.field = "others"
            _fail(form, err)
            status = 422
            obj = load_current_or_404(Plot, plot_uid, edit=True)
        else:
            db.session.commit()
            [change] = done.created
            flash(
                _(
                    "Plots %(codes)s were merged into %(code)s.",
                    codes=", ".join(p.dkbm for p in done.ended),
                    code=change.plot.dkbm,
                )
            )
            _report_change(change)
            return redirect(url_for("registry.plot", plot_uid=change.plot.uid))
    shapes = [(to_shape(p.geom), p.dkbm, None, "") for p in candidates if p.geom is not None]
    if obj.geom is not None:
        shapes.append((to_shape(obj.geom), obj.dkbm, None, "own"))
    return render_template(
        "registry/plot_merge.html",
        form=form,
        plot=obj,
        collective=collective,
        plot_map=_map(shapes),
    ), status
