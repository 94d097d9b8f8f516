"""Pages of the township's ledger of leases (流转台账) and of the collective's leasing on
households' behalf (委托流转).

The ledger: the collective's administrator reads their collectives; the bureau and the auditors
the county, or one township picked by name; the same choice downloads it as XLSX. Entrusted
leases: the collective's administrator opens one, adds households and their plots, records each
household's written mandate and concludes it; the bureau and the auditors read them. Anyone else,
and another collective's administrator, gets a 404. Views translate HTTP to one service call and
commit once.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, DecimalField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, collective_reach, load_or_404, roles_required
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.leases import entrusted, ledger, ledger_export, services
from app.leases.models import EntrustedLease
from app.registry.models import Household, LandContract, Plot, SourceDocument
from app.registry.views.common import choices, document_choices, fail, length

bp = Blueprint("lease_ledger", __name__)

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class LedgerFilter(FlaskForm):
    """What the ledger covers (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    township = SelectField(_l("Township"), validators=[Optional()], validate_choice=False)
    as_of = DateField(_l("As of"), validators=[Optional()])


def _filtered() -> tuple[LedgerFilter, ledger.Ledger | None]:
    reach = collective_reach(current_user)
    form = LedgerFilter(request.args)
    everywhere = _("Whole county") if reach is None else _("All my collectives")
    form.township.choices = [("", everywhere), *ledger.township_choices(reach)]
    if not form.validate():
        return form, None
    if form.as_of.data is None:
        form.as_of.data = county_today()
    town = form.township.data or None
    if town is not None and town not in dict(form.township.choices):
        form.township.errors = [_("Choose a township from the list.")]
        return form, None
    try:
        result = ledger.lease_ledger(form.as_of.data, collectives=reach, township_code=town)
    except DomainError as err:
        target = {"as_of": form.as_of, "township": form.township}.get(err.field or "")
        if target is None:
            form.form_errors.append(err.message)
        else:
            target.errors = [*list(target.errors or []), err.message]
        return form, None
    return form, result


@bp.route("/lease-ledger")
@roles_required(*READERS)
def ledger_page():
    form, result = _filtered()
    query = {k: v for k, v in request.args.items() if k in ("township", "as_of") and v}
    return render_template("leases/ledger.html", form=form, ledger=result, query=query), (
        200 if result else 422
    )


@bp.route("/lease-ledger.xlsx")
@roles_required(*READERS)
def ledger_xlsx():
    form, result = _filtered()
    if result is None:
        return ledger_page()
    name = f"lease-ledger-{result.as_of.isoformat()}.xlsx"
    return Response(
        ledger_export.to_xlsx(result),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------------------------
# Entrusted leases (委托流转)
# --------------------------------------------------------------------------------------------


def _collective(collective_id: int, *, edit: bool = False) -> Collective:
    return load_or_404(Collective, collective_id, edit=edit)


def _entrusted(entrusted_id: int, *, edit: bool = False) -> EntrustedLease:
    return load_or_404(EntrustedLease, entrusted_id, edit=edit)


def fen_of(value: Decimal | None) -> int | None:
    """Yuan as typed (at most two decimals) to whole fen, exactly; None when not an amount."""
    if value is None:
        return None
    try:
        fen = value * 100
        if fen != fen.to_integral_value():
            return None
        return int(fen)
    except (InvalidOperation, ValueError):
        return None


def _households(collective_id: int) -> list[SelectChoice]:
    rows = db.session.execute(
        select(Household.uid, Household.name)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.name, Household.uid)
        .limit(3000)
    ).all()
    return [SelectChoice(0, _("— choose —"))] + [SelectChoice(u, n) for u, n in rows]


def _plots(collective_id: int) -> list[SelectChoice]:
    """The collective's plots in contracts, by household, name and code."""
    rows = db.session.execute(
        select(Household.name, Plot.uid, Plot.name, Plot.dkbm)
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
    return [SelectChoice(u, f"{h} · {n or ''}（{d}）") for h, u, n, d in rows]


class EntrustedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), length("title")])
    lessee_kind = SelectField(_l("Who takes the land"))
    lessee_name = StringField(_l("Lessee's name"), validators=[Optional(), length("title")])
    lessee_household_uid = SelectField(
        _l("Member household taking the land"), coerce=int, validate_choice=False
    )
    lessee_id_number = StringField(_l("Lessee's ID number"), validators=[Optional()])
    lessee_uscc = StringField(_l("Unified social credit code"), validators=[Optional()])
    lessee_contact = StringField(_l("Contact"), validators=[Optional(), length("label")])
    method = SelectField(_l("How the land is leased"))
    use = SelectField(_l("Use of the land"))
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])
    rent_yuan_per_mu = DecimalField(
        _l("Rent per mu per year (yuan)"),
        places=2,
        validators=[DataRequired(), NumberRange(min=0, max=10_000_000)],
    )
    payment_schedule = SelectField(_l("How the rent is paid"))
    contract_document_id = SelectField(_l("Written lease contract"), coerce=int)
    notice_document_id = SelectField(_l("Notice to members (members' priority)"), coerce=int)
    notice_from = DateField(_l("First day of the notice"), validators=[Optional()])


@bp.route("/collectives/<int:collective_id>/entrusted-leases")
@roles_required(*READERS)
def entrusted_list(collective_id: int):
    collective = _collective(collective_id)
    return render_template(
        "leases/entrusted_list.html",
        collective=collective,
        rows=entrusted.entrusted_leases({collective.id}),
        can_edit=can_edit(current_user, collective),
        kind_label=ledger.kind_label,
    )


@bp.route("/collectives/<int:collective_id>/entrusted-leases/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def entrusted_new(collective_id: int):
    collective = _collective(collective_id, edit=True)
    form = EntrustedForm()
    form.lessee_kind.choices = choices((k, ledger.kind_label(k)) for k in entrusted.KINDS)
    form.lessee_household_uid.choices = _households(collective.id)
    form.method.choices = choices(services.METHOD_LABELS.items())
    form.use.choices = choices(services.USES.items())
    form.payment_schedule.choices = choices(services.SCHEDULES.items())
    form.contract_document_id.choices = document_choices(
        collective.id, none=_("— none (one year or less) —")
    )
    form.notice_document_id.choices = document_choices(
        collective.id, none=_("— none (the lessee is a member) —")
    )
    status = 200
    if form.validate_on_submit():
        try:
            rent = fen_of(form.rent_yuan_per_mu.data)
            if rent is None:
                raise DomainError(
                    "rent",
                    _("Give the rent in yuan with at most two decimals."),
                    field="rent_yuan_per_mu",
                )
            row = entrusted.open_entrusted_lease(
                collective.id,
                title=form.title.data,
                lessee=services.Lessee(
                    kind=form.lessee_kind.data,
                    name=form.lessee_name.data or "",
                    household_uid=form.lessee_household_uid.data or None,
                    id_number=form.lessee_id_number.data or None,
                    uscc=form.lessee_uscc.data or None,
                    contact=form.lessee_contact.data or None,
                ),
                method=form.method.data,
                use=form.use.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                rent_fen_per_mu_year=rent,
                payment_schedule=form.payment_schedule.data,
                contract_document_id=form.contract_document_id.data or None,
                priority_evidence=(
                    {
                        "notice_document_id": form.notice_document_id.data,
                        "notice_from": form.notice_from.data,
                    }
                    if form.notice_document_id.data
                    else None
                ),
            )
            db.session.commit()
            flash(_("The entrusted lease is open: add the households and their mandates."))
            return redirect(url_for("lease_ledger.entrusted_page", entrusted_id=row.id))
        except DomainError as err:
            if err.field == "rent_fen_per_mu_year":
                err.field = "rent_yuan_per_mu"
            elif err.field == "priority_evidence":
                err.field = "notice_document_id"
            fail(form, err)
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template("leases/entrusted_form.html", form=form, collective=collective), status


class HouseholdForm(FlaskForm):
    household_uid = SelectField(_l("Household"), coerce=int)
    plot_uids = SelectMultipleField(_l("The plots it entrusts"), coerce=int)


class MandateForm(FlaskForm):
    household_uid = SelectField(_l("Household"), coerce=int)
    document_id = SelectField(_l("Written mandate (委托书)"), coerce=int)
    given_on = DateField(_l("Given on"), validators=[DataRequired()])


class ConcludeForm(FlaskForm):
    pass


def _forms(row: EntrustedLease, mandates: list) -> dict[str, Any]:
    household = HouseholdForm(prefix="h")
    household.household_uid.choices = _households(row.collective_id)
    household.plot_uids.choices = _plots(row.collective_id)
    mandate = MandateForm(prefix="m")
    names = entrusted.household_names([m.household_uid for m in mandates])
    mandate.household_uid.choices = [SelectChoice(0, _("— choose —"))] + [
        SelectChoice(m.household_uid, names.get(m.household_uid, ""))
        for m in mandates
        if m.document_id is None
    ]
    mandate.document_id.choices = document_choices(row.collective_id)
    return {"household_form": household, "mandate_form": mandate, "conclude_form": ConcludeForm()}


def _page(row: EntrustedLease, status: int = 200, **forms: Any):
    mandates = entrusted.mandates(row.id)
    names = entrusted.household_names([m.household_uid for m in mandates])
    plot_uids = sorted({u for m in mandates for u in entrusted.plot_uids(m)})
    plot_names = dict(
        (uid, f"{name or ''}（{dkbm}）")
        for uid, name, dkbm in db.session.execute(
            select(Plot.uid, Plot.name, Plot.dkbm).where(
                Plot.uid.in_(plot_uids or [-1]), Plot.end_lifespan.is_(None)
            )
        )
    )
    docs = {
        d.id: d
        for d in db.session.scalars(
            select(SourceDocument).where(
                SourceDocument.id.in_(
                    [m.document_id for m in mandates if m.document_id]
                    + [row.contract_document_id or -1]
                )
            )
        )
    }
    editable = row.state == "open" and can_edit(current_user, row)
    all_forms = _forms(row, mandates) if editable else {}
    all_forms.update(forms)
    return render_template(
        "leases/entrusted.html",
        row=row,
        collective=db.session.get(Collective, row.collective_id),
        mandates=[
            {
                "mandate": m,
                "household": names.get(m.household_uid, ""),
                "plots": [plot_names.get(u, "") for u in entrusted.plot_uids(m)],
                "document": docs.get(m.document_id) if m.document_id else None,
            }
            for m in mandates
        ],
        leases=[(lease, ledger.area_mu(lease.area_m2)) for lease in entrusted.leases_of(row.id)],
        contract_document=docs.get(row.contract_document_id),
        editable=editable,
        kind_label=ledger.kind_label(row.lessee_kind),
        method_label=ledger.method_label(row.method),
        use_label=ledger.use_label(row.use),
        schedule_label=services.label(services.SCHEDULES, row.payment_schedule),
        rent_yuan=ledger.yuan(row.rent_fen_per_mu_year),
        **all_forms,
    ), status


@bp.route("/entrusted-leases/<int:entrusted_id>")
@roles_required(*READERS)
def entrusted_page(entrusted_id: int):
    return _page(_entrusted(entrusted_id))


def _post(row: EntrustedLease, form: FlaskForm, name: str, action: Any, done: str):
    """A form of the entrusted lease's page: run the service, commit, back to the page."""
    if row.state != "open":
        abort(404)
    if form.validate_on_submit():
        try:
            action()
            db.session.commit()
            flash(done)
            return redirect(url_for("lease_ledger.entrusted_page", entrusted_id=row.id))
        except DomainError as err:
            fail(form, err)
    return _page(row, 422, **{name: form})


@bp.route("/entrusted-leases/<int:entrusted_id>/households", methods=["POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def entrusted_add_household(entrusted_id: int):
    row = _entrusted(entrusted_id, edit=True)
    form = HouseholdForm(prefix="h")
    form.household_uid.choices = _households(row.collective_id)
    form.plot_uids.choices = _plots(row.collective_id)
    return _post(
        row,
        form,
        "household_form",
        lambda: entrusted.add_household(row.id, form.household_uid.data, form.plot_uids.data),
        _("The household was added. Its plots are leased only once its mandate is recorded."),
    )


@bp.route("/entrusted-leases/<int:entrusted_id>/mandates", methods=["POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def entrusted_mandate(entrusted_id: int):
    row = _entrusted(entrusted_id, edit=True)
    form = MandateForm(prefix="m")
    mandates = entrusted.mandates(row.id)
    names = entrusted.household_names([m.household_uid for m in mandates])
    form.household_uid.choices = [
        SelectChoice(m.household_uid, names.get(m.household_uid, "")) for m in mandates
    ]
    form.document_id.choices = document_choices(row.collective_id)
    return _post(
        row,
        form,
        "mandate_form",
        lambda: entrusted.record_mandate(
            row.id,
            form.household_uid.data,
            document_id=form.document_id.data,
            given_on=form.given_on.data,
        ),
        _("The mandate was recorded."),
    )


@bp.route("/entrusted-leases/<int:entrusted_id>/conclude", methods=["POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def entrusted_conclude(entrusted_id: int):
    row = _entrusted(entrusted_id, edit=True)
    if row.state != "open":
        abort(404)
    form = ConcludeForm()
    if form.validate_on_submit():
        try:
            done = entrusted.conclude_entrusted_lease(row.id)
            db.session.commit()
        except DomainError as err:
            fail(form, err)
            return _page(db.session.get(EntrustedLease, entrusted_id), 422, conclude_form=form)
        flash(_("The lease was recorded for %(n)s households.", n=len(done.leases)))
        if done.missing:
            names = entrusted.household_names([m.household_uid for m in done.missing])
            flash(
                _(
                    "These households gave no written mandate, so their plots were not leased: "
                    "%(names)s",
                    names="、".join(names.get(m.household_uid, "") for m in done.missing),
                ),
                "warn",
            )
        return redirect(url_for("lease_ledger.entrusted_page", entrusted_id=row.id))
    return _page(row, 422, conclude_form=form)
