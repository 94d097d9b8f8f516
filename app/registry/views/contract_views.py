"""HTML pages for land contracts: the contract, its history, renewal, a collective's list and
the new-contract form. Views translate HTTP to one service call in app.registry.land.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.core.forms import form_failed as _fail
from app.core.inputs import id_arg
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, land
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    LAND_CLASSES,
    RESERVE_LAND_CLASS,
    Certificate,
    Household,
    LandContract,
)
from app.registry.views import bp
from app.registry.views.common import document_choices, length
from app.registry.views.common import editable_collective as _editable_collective
from app.registry.views.history_view import history_page
from app.registry.views.land_helpers import (
    PAGE,
    READERS,
    STAFF,
    _map,
    _page,
    _raw_date,
    _url,
    fmt_m2,
    fmt_mu,
)

CONTRACT_LABELS = {
    "cbhtbm": _l("Contract code (CBHTBM)"),
    "household_uid": _l("Household"),
    "collective_id": _l("Collective"),
    "term_start": _l("Term start"),
    "term_end": _l("Term end"),
    "contract_area_m2": _l("Contract area (m²)"),
    "status": _l("Status"),
    "land_type": _l("Land type"),
    "method": _l("Contracting method"),
}


class ContractForm(FlaskForm):
    household_uid = SelectField(_l("Household (承包方)"), coerce=int)
    land_type = SelectField(
        _l("Land type"),
        choices=[SelectChoice(k, v) for k, v in CONTRACT_LAND_TYPES.items()],
        default="arable",
    )
    method = SelectField(
        _l("Contracting method"),
        choices=[SelectChoice(k, v) for k, v in CONTRACT_METHODS.items()],
        default="household",
    )
    term_start = DateField(_l("Term start"), validators=[Optional()])
    term_end = DateField(_l("Term end"), validators=[Optional()])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = TextAreaField(_l("Reason"), validators=[length("reason")])


class RenewForm(FlaskForm):
    years = StringField(_l("Renew for (years)"))
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[length("reason")])


@bp.route("/contracts/<int:contract_uid>")
@roles_required(*READERS)
def contract(contract_uid: int):
    obj = load_current_or_404(LandContract, contract_uid)
    return _contract_page(obj)


def _contract_page(obj: LandContract, *, renew_form: RenewForm | None = None, status: int = 200):
    household = history.current_of(Household, obj.household_uid)
    collective = db.session.get(Collective, obj.collective_id)
    plots = land.contract_plots(obj.uid)
    certificate = db.session.scalar(
        select(Certificate).where(
            Certificate.right_uid == obj.uid,
            Certificate.right_kind == "land_contract",
            Certificate.status == "valid",
        )
    )
    editable = can_edit(current_user, obj)
    renewal = land.renewal_window(obj)  # the service's rule, the same as the API's
    if editable and renew_form is None and renewal.open:
        renew_form = RenewForm(formdata=None)
    if renew_form is not None:
        renew_form.source_document_id.choices = document_choices(obj.collective_id)
    drawn: list[tuple[Any, str, str | None, str]] = [
        (to_shape(p.geom) if p.geom is not None else None, p.dkbm, None, "own") for p in plots
    ]
    shapes = [
        (g, title, url_for("registry.plot", plot_uid=p.uid), cls)
        for (g, title, _h, cls), p in zip(drawn, plots, strict=True)
    ]
    return render_template(
        "registry/contract.html",
        contract=obj,
        household=household,
        household_url=_url("registry.household", household_uid=obj.household_uid),
        collective=collective,
        plots=plots,
        total_contract=sum(
            p.contract_area_m2 or 0.0 for p in plots if p.land_class != RESERVE_LAND_CLASS
        ),
        total_measured=sum(p.measured_area_m2 or 0.0 for p in plots),
        plot_map=_map(shapes),
        certificate=certificate,
        certificate_url=(
            _url("registry.certificate", certificate_id=certificate.id) if certificate else None
        ),
        notices_url=(
            _url("registry.collective_notices", collective_id=obj.collective_id)
            if current_user.role != Role.FARMER
            else None
        ),
        can_edit=editable,
        renew_form=renew_form if editable else None,
        renewal_opens=renewal.opens,
        term_cap_years=renewal.max_years,
        land_types=CONTRACT_LAND_TYPES,
        methods=CONTRACT_METHODS,
        land_classes=LAND_CLASSES,
        fmt_m2=fmt_m2,
        fmt_mu=fmt_mu,
    ), status


@bp.route("/contracts/<int:contract_uid>/history")
@roles_required(*READERS)
def contract_history(contract_uid: int):
    obj = load_latest_or_404(LandContract, contract_uid)
    return history_page(
        LandContract,
        contract_uid,
        title=_("History of contract %(code)s", code=obj.cbhtbm),
        code=obj.cbhtbm,
        back_url=url_for("registry.contract", contract_uid=contract_uid)
        if obj.end_lifespan is None
        else "",
        labels=CONTRACT_LABELS,
    )


@bp.post("/contracts/<int:contract_uid>/renew")
@roles_required(Role.COLLECTIVE_ADMIN)
def contract_renew(contract_uid: int):
    obj = load_current_or_404(LandContract, contract_uid, edit=True)
    form = RenewForm()
    form.source_document_id.choices = document_choices(obj.collective_id)
    try:
        new = land.renew_contract(
            obj.uid,
            source_document_id=form.source_document_id.data,
            reason=form.reason.data,
            years=(form.years.data or "").strip() or None,
        )
    except DomainError as err:
        _fail(form, err)
        obj = load_current_or_404(LandContract, contract_uid)
        return _contract_page(obj, renew_form=form, status=422)
    db.session.commit()
    flash(_("The contract was renewed until %(end)s.", end=new.term_end.isoformat()))
    return redirect(url_for("registry.contract", contract_uid=new.uid))


@bp.route("/collectives/<int:collective_id>/contracts")
@roles_required(*STAFF)
def collective_contracts(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    page = _page()
    rows = db.session.execute(
        select(LandContract, Household.name)
        .outerjoin(
            Household,
            (Household.uid == LandContract.household_uid) & Household.end_lifespan.is_(None),
        )
        .where(LandContract.collective_id == collective.id, LandContract.end_lifespan.is_(None))
        .order_by(LandContract.cbhtbm)
        .limit(PAGE + 1)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template(
        "registry/contract_list.html",
        collective=collective,
        rows=rows[:PAGE],
        page=page,
        has_next=len(rows) > PAGE,
        can_edit=can_edit(current_user, collective),
        fmt_m2=fmt_m2,
        fmt_mu=fmt_mu,
    )


@bp.route("/collectives/<int:collective_id>/contracts/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def contract_new(collective_id: int):
    collective = _editable_collective(collective_id)
    form = ContractForm()
    form.household_uid.choices = [
        SelectChoice(uid, f"{code} · {name}")
        for uid, code, name in land.household_candidates(collective.id)
    ]
    form.source_document_id.choices = document_choices(collective.id)
    if request.method == "GET":
        wanted = id_arg("household_uid")
        if wanted:
            form.household_uid.data = wanted
    status = 200
    if request.method == "POST":
        form.validate_on_submit()  # CSRF and types; the rules are the service's
        try:
            obj = land.create_contract(
                form.household_uid.data,
                _raw_date(form.term_start),
                _raw_date(form.term_end),
                source_document_id=form.source_document_id.data,
                reason=form.reason.data,
                collective_id=collective.id,
                land_type=form.land_type.data,
                method=form.method.data,
            )
        except DomainError as err:
            _fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("Contract %(code)s was created.", code=obj.cbhtbm))
            return redirect(url_for("registry.contract", contract_uid=obj.uid))
    return render_template(
        "registry/contract_form.html",
        form=form,
        collective=collective,
        documents_url=_url("registry.collective_documents", collective_id=collective.id),
    ), status
