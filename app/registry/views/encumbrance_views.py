"""HTML pages for what weighs on a right (encumbrances) and for exchanges of plots (R04).

On the contract, plot, homestead and share pages a short list says what weighs on the right
(``weights_on``, a template global). The collective's administrator records and releases
pledges and disputes of their collective; a reviewer of the county bureau records and releases
court freezes. The administrator exchanges plots between two member households, choosing both
households and their plots by name. Views translate HTTP to one service call and commit once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import encumbrances as service
from app.registry import exchanges
from app.registry.lookup import load_current_or_404
from app.registry.models import (
    Encumbrance,
    Household,
    LandContract,
    Plot,
    PlotExchange,
    SourceDocument,
)
from app.registry.views import bp
from app.registry.views.common import document_choices, editable_collective, fail, length

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
RIGHT_PAGES = {
    "land_contract": ("registry.contract", "contract_uid"),
    "plot": ("registry.plot", "plot_uid"),
    "homestead": ("registry.homestead", "homestead_uid"),
    "share_holding": ("registry.share_holding", "holding_uid"),
}


def _right_words(right_kind: str, right: Any) -> str:
    """The right in words for a heading: what it is and its number."""
    if right_kind == "land_contract":
        return _("Land contract %(code)s", code=right.cbhtbm)
    if right_kind == "plot":
        return _(
            "Plot %(name)s", name=f"{right.name}（{right.dkbm}）" if right.name else right.dkbm
        )
    if right_kind == "homestead":
        return _("Homestead %(code)s", code=right.unit_number)
    return _("Share holding %(code)s", code=right.certificate_number or "—")


def _recordable_kinds(right_kind: str) -> list[str]:
    """What the current user may record on this kind of right."""
    role = current_user.role
    return [
        k
        for k in service.RECORDABLE
        if role in service.RECORDERS[k] and right_kind in service.CARRIERS[k]
    ]


def _may_record(right: Any, right_kind: str) -> bool:
    role = Role(current_user.role)
    if role == Role.BUREAU_REVIEWER:
        return True
    return (
        role == Role.COLLECTIVE_ADMIN
        and can_edit(current_user, right)
        and bool(_recordable_kinds(right_kind))
    )


def _may_release(e: Encumbrance) -> bool:
    if e.kind not in service.RECORDABLE or current_user.role not in service.RECORDERS[e.kind]:
        return False
    return current_user.role == Role.BUREAU_REVIEWER or can_edit(current_user, e)


@bp.app_template_global("weights_on")
def weights_on(right_kind: str, right: Any) -> dict:
    """What weighs on a right, for the short list on its page; and where to record one."""
    rows = service.encumbrances_of(right_kind, right.uid)
    staff = current_user.role in {r.value for r in READERS}
    endpoint, arg = RIGHT_PAGES[right_kind]
    record_url = None
    if right.end_lifespan is None and _may_record(right, right_kind):
        record_url = url_for(f"registry.encumbrance_new_{right_kind}", **_values(arg, right.uid))
    return {
        "rows": rows,
        "in_force": [w for w in rows if w.in_force],
        "record_url": record_url,
        "detail": staff,
    }


#: The leases' part of a contract's, plot's or household's page: handed over in create_app
#: (the registry never imports the leases); (right_kind, uid) -> rows in words with links.
_lease_layer: Callable[[str, int], list[dict]] | None = None


def set_lease_layer(fn: Callable[[str, int], list[dict]]) -> None:
    global _lease_layer
    _lease_layer = fn


@bp.app_template_global("lease_layer")
def lease_layer(right_kind: str, uid: int) -> list[dict]:
    """The leases on top of a contract, a plot or a household's land (none without the hook)."""
    return _lease_layer(right_kind, uid) if _lease_layer is not None else []


@bp.app_template_global("exchanges_of")
def exchanges_of(contract_uid: int) -> list[dict]:
    """The exchanges a contract took part in, in words, for its page and history."""
    out = []
    for row in exchanges.exchanges_of_contract(contract_uid):
        plots_a, plots_b = exchanges.plot_uids(row)
        names = exchanges.plot_names(plots_a + plots_b)
        households = exchanges.household_names([row.household_a_uid, row.household_b_uid])
        out.append(
            {
                "row": row,
                "a": households.get(row.household_a_uid, ""),
                "b": households.get(row.household_b_uid, ""),
                "plots_a": [names.get(u, "") for u in plots_a],
                "plots_b": [names.get(u, "") for u in plots_b],
                "url": url_for("registry.exchange", exchange_id=row.id)
                if current_user.role in {r.value for r in READERS}
                else None,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# Recording and releasing
# --------------------------------------------------------------------------------------------


class EncumbranceForm(FlaskForm):
    kind = SelectField(_l("What weighs on the right"), choices=[])
    party_name = StringField(
        _l("Other party (lender, claimant or court)"),
        validators=[DataRequired(), length("name")],
    )
    party_uscc = StringField(_l("Lender's unified social credit code"), validators=[length("code")])
    case_number = StringField(_l("Court case number"), validators=[length("code")])
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("Until (optional for a dispute or a freeze)"), validators=[Optional()])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    note = TextAreaField(_l("Note"), validators=[length("note")])


class ReleaseForm(FlaskForm):
    released_on = DateField(_l("Released on"), validators=[DataRequired()])
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


def _new_encumbrance(right_kind: str, uid: int):
    model = service.RIGHT_MODELS[right_kind]
    right = load_current_or_404(model, uid)
    if not _may_record(right, right_kind):
        abort(404)
    kinds = _recordable_kinds(right_kind)
    if not kinds:
        abort(404)
    form = EncumbranceForm()
    form.kind.choices = [SelectChoice(k, service.kind_label(k)) for k in kinds]
    form.source_document_id.choices = document_choices(right.collective_id)
    endpoint, arg = RIGHT_PAGES[right_kind]
    values: dict[str, Any] = {arg: uid}
    back = url_for(endpoint, **values)
    status = 200
    if form.validate_on_submit():
        try:
            row = service.record_encumbrance(
                form.kind.data,
                right_kind,
                uid,
                party_name=form.party_name.data,
                party_uscc=form.party_uscc.data or None,
                case_number=form.case_number.data or None,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                source_document_id=form.source_document_id.data,
                note=form.note.data or None,
                collective_id=None
                if current_user.role == Role.BUREAU_REVIEWER
                else right.collective_id,
            )
            db.session.commit()
            flash(_("Recorded."))
            return redirect(url_for("registry.encumbrance", encumbrance_id=row.id))
        except DomainError as err:
            fail(form, err)
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "registry/encumbrance_form.html",
        form=form,
        title=_("Record what weighs on the right"),
        subject=_right_words(right_kind, right),
        back=back,
    ), status


def _register_new(right_kind: str, path: str, arg: str) -> None:
    def view(**values: int):
        return _new_encumbrance(right_kind, values[arg])

    view.__name__ = f"encumbrance_new_{right_kind}"
    bp.add_url_rule(
        path,
        endpoint=f"encumbrance_new_{right_kind}",
        view_func=roles_required(Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER)(view),
        methods=["GET", "POST"],
    )


for _kind, _path, _arg in (
    ("land_contract", "/contracts/<int:contract_uid>/encumbrances/new", "contract_uid"),
    ("plot", "/plots/<int:plot_uid>/encumbrances/new", "plot_uid"),
    ("homestead", "/homesteads/<int:homestead_uid>/encumbrances/new", "homestead_uid"),
    ("share_holding", "/shares/<int:holding_uid>/encumbrances/new", "holding_uid"),
):
    _register_new(_kind, _path, _arg)


def _values(arg: str, uid: int) -> dict[str, Any]:
    return {arg: uid}


def _encumbrance_page(e: Encumbrance, *, form: ReleaseForm | None = None, status: int = 200):
    right = service.right_of(e)
    release = service.release_of(e.id)
    may_release = release is None and _may_release(e)
    if may_release and form is None:
        form = ReleaseForm(formdata=None, released_on=county_today())
    if form is not None:
        form.source_document_id.choices = document_choices(e.collective_id)
    endpoint, arg = RIGHT_PAGES[e.right_kind]
    docs = {
        d.id: d
        for d in db.session.scalars(
            select(SourceDocument).where(
                SourceDocument.id.in_(
                    {
                        e.source_document_id or -1,
                        (release.source_document_id or -1) if release else -1,
                    }
                )
            )
        )
    }
    return render_template(
        "registry/encumbrance.html",
        e=e,
        label=service.kind_label(e.kind),
        subject=_right_words(e.right_kind, right) if right is not None else "",
        subject_url=url_for(endpoint, **_values(arg, e.right_uid))
        if right is not None and right.end_lifespan is None
        else None,
        collective=db.session.get(Collective, e.collective_id),
        release=release,
        docs=docs,
        in_force=release is None and (e.ends_on is None or e.ends_on >= county_today()),
        form=form if may_release else None,
    ), status


@bp.route("/encumbrances/<int:encumbrance_id>")
@roles_required(*READERS)
def encumbrance(encumbrance_id: int):
    return _encumbrance_page(load_or_404(Encumbrance, encumbrance_id))


@bp.route("/encumbrances/<int:encumbrance_id>/release", methods=["POST"])
@roles_required(Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER)
def encumbrance_release(encumbrance_id: int):
    e = load_or_404(Encumbrance, encumbrance_id)
    if not _may_release(e):
        abort(404)
    form = ReleaseForm()
    form.source_document_id.choices = document_choices(e.collective_id)
    if form.validate_on_submit():
        try:
            service.release_encumbrance(
                e.id,
                released_on=form.released_on.data,
                reason=form.reason.data,
                source_document_id=form.source_document_id.data,
            )
            db.session.commit()
            flash(_("Released."))
            return redirect(url_for("registry.encumbrance", encumbrance_id=e.id))
        except DomainError as err:
            fail(form, err)
    return _encumbrance_page(e, form=form, status=422)


# --------------------------------------------------------------------------------------------
# Exchanges
# --------------------------------------------------------------------------------------------


class ExchangeForm(FlaskForm):
    household_a_uid = SelectField(_l("First household"), coerce=int)
    plot_a_uids = SelectMultipleField(_l("Its plots that go to the second household"), coerce=int)
    household_b_uid = SelectField(_l("Second household"), coerce=int)
    plot_b_uids = SelectMultipleField(_l("Its plots that go to the first household"), coerce=int)
    agreement_document_id = SelectField(_l("Exchange agreement"), coerce=int)
    filing_document_id = SelectField(_l("Filing with the contract-issuing party"), coerce=int)
    filed_on = DateField(_l("Filed on"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


def _exchange_choices(collective_id: int) -> tuple[list[SelectChoice], list[SelectChoice]]:
    """The collective's households with a contract, and their plots, by name."""
    rows = db.session.execute(
        select(Household.uid, Household.name, Plot.uid, Plot.name, Plot.dkbm)
        .join(LandContract, LandContract.household_uid == Household.uid)
        .join(Plot, Plot.contract_uid == LandContract.uid)
        .where(
            Household.collective_id == collective_id,
            Household.end_lifespan.is_(None),
            LandContract.end_lifespan.is_(None),
            Plot.end_lifespan.is_(None),
        )
        .order_by(Household.name, Plot.dkbm)
        .limit(3000)
    ).all()
    households: dict[int, str] = {}
    plots = []
    for h_uid, h_name, p_uid, p_name, dkbm in rows:
        households[h_uid] = h_name
        plots.append(SelectChoice(p_uid, f"{h_name} · {p_name or ''}（{dkbm}）"))
    first = [SelectChoice(0, _("— choose —"))]
    return first + [SelectChoice(u, n) for u, n in households.items()], plots


@bp.route("/collectives/<int:collective_id>/exchanges/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def exchange_new(collective_id: int):
    collective = editable_collective(collective_id)
    form = ExchangeForm()
    households, plots = _exchange_choices(collective.id)
    form.household_a_uid.choices = households
    form.household_b_uid.choices = households
    form.plot_a_uids.choices = plots
    form.plot_b_uids.choices = plots
    docs = document_choices(collective.id)
    form.agreement_document_id.choices = docs
    form.filing_document_id.choices = docs
    status = 200
    if form.validate_on_submit():
        try:
            done = exchanges.exchange_plots(
                form.household_a_uid.data,
                form.plot_a_uids.data,
                form.household_b_uid.data,
                form.plot_b_uids.data,
                agreement_document_id=form.agreement_document_id.data,
                filing_document_id=form.filing_document_id.data,
                filed_on=form.filed_on.data,
                reason=form.reason.data,
                collective_id=collective.id,
            )
            db.session.commit()
            flash(_("The plots were exchanged; both contracts and their certificates follow."))
            return redirect(url_for("registry.exchange", exchange_id=done.exchange.id))
        except DomainError as err:
            fail(form, err)
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template("registry/exchange_form.html", form=form, collective=collective), status


@bp.route("/exchanges/<int:exchange_id>")
@roles_required(*READERS)
def exchange(exchange_id: int):
    row = load_or_404(PlotExchange, exchange_id)
    plots_a, plots_b = exchanges.plot_uids(row)
    names = exchanges.plot_names(plots_a + plots_b)
    households = exchanges.household_names([row.household_a_uid, row.household_b_uid])
    docs = {
        d.id: d
        for d in db.session.scalars(
            select(SourceDocument).where(
                SourceDocument.id.in_({row.agreement_document_id, row.filing_document_id})
            )
        )
    }
    return render_template(
        "registry/exchange.html",
        row=row,
        a=households.get(row.household_a_uid, ""),
        b=households.get(row.household_b_uid, ""),
        plots_a=[(u, names.get(u, "")) for u in plots_a],
        plots_b=[(u, names.get(u, "")) for u in plots_b],
        docs=docs,
        collective=db.session.get(Collective, row.collective_id),
    )
