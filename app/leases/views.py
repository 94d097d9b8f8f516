"""Pages of the leases of the land-management right (R02, R05; issue 14).

The collective's administrator lists the collective's leases, records a new one (household →
its contract's plots by name → the lessee, the terms, the documents), records rent payments,
ends a lease and records a re-lease; the county bureau reviews businesses' leases above the
threshold; auditors read; a farmer reads their household's leases (the household page lists
them). The plot and contract pages show the lease on top of the contract through the hook
``registry.views.encumbrance_views.set_lease_layer`` (the registry never imports the leases).
Views translate HTTP to one service call and commit once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, readable, roles_required
from app.core.calendar import county_today
from app.core.codes import format_mu, mask_id_number
from app.core.pdf import pdf_response, render_pdf
from app.divisions.models import Collective, Division
from app.extensions import db
from app.leases import services
from app.leases.models import Lease
from app.registry import land, map_features
from app.registry.models import Household, LandContract, Plot
from app.registry.people.queries import eligible_people
from app.registry.views.common import choices, document_choices, length, submit

bp = Blueprint("leases", __name__, url_prefix="/leases")

STAFF = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
LIST_LIMIT = 500


# --------------------------------------------------------------------------------------------
# Money in words
# --------------------------------------------------------------------------------------------


def yuan(fen: int | None) -> str:
    """123450 → '1,234.50' (exact)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


class YuanField(StringField):
    """An amount typed in yuan (at most two decimals); ``data`` is whole fen or None."""

    def __init__(self, *args: Any, negative: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.negative = negative

    def process_formdata(self, valuelist: list) -> None:
        raw = str(valuelist[0]).strip().replace(",", "") if valuelist else ""
        self.raw_text = raw
        if not raw:
            self.data = None
            return
        try:
            value = Decimal(raw)
            too_big = not value.is_finite() or abs(value) >= 10**13
            fen = Decimal(0) if too_big else value * 100
        except ArithmeticError:  # InvalidOperation, Overflow: not a number we can read
            self.data = None
            raise ValueError(_("Give an amount in yuan, such as 800 or 800.50.")) from None
        if too_big or fen != fen.to_integral_value():
            self.data = None
            raise ValueError(_("Give an amount in yuan, such as 800 or 800.50.")) from None
        if fen < 0 and not self.negative:
            self.data = None
            raise ValueError(_("The amount cannot be negative."))
        self.data = int(fen)

    def _value(self) -> str:
        raw = getattr(self, "raw_text", None)
        if raw is not None:
            return str(raw)
        return yuan(self.data).replace(",", "") if self.data is not None else ""


class Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _labels(table: dict) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in table.items()]


# --------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------


class LeaseForm(FlaskForm):
    plot_uids = Checkboxes(_l("Plots leased"), coerce=int, validators=[DataRequired()])
    lessee_kind = SelectField(_l("Who takes the land"), validators=[DataRequired()])
    lessee_household_uid = SelectField(_l("Member household"), coerce=int, validate_choice=False)
    lessee_person_uid = SelectField(_l("Member"), coerce=int, validate_choice=False)
    lessee_name = StringField(_l("Name (person, household head or organisation)"))
    lessee_id_number = StringField(_l("ID number (a person or household head)"))
    lessee_uscc = StringField(_l("Unified social credit code (an organisation)"))
    lessee_contact = StringField(_l("Contact (telephone)"), validators=[length("label")])
    method = SelectField(_l("Kind of transfer"), validators=[DataRequired()])
    use = SelectField(_l("Use of the land"), validators=[DataRequired()])
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])
    rent = YuanField(_l("Rent per mu per year (yuan)"), validators=[DataRequired()])
    payment_schedule = SelectField(_l("Rent paid"), validators=[DataRequired()])
    contract_document_id = SelectField(_l("Signed lease contract"), coerce=int)
    notice_document_id = SelectField(_l("Notice to members (outsiders only)"), coerce=int)
    notice_from = DateField(_l("Notice's first day"), validators=[Optional()])
    register = BooleanField(_l("Register the lease (five years or more)"))
    note = TextAreaField(_l("Note"), validators=[length("note")])


class SubleaseForm(LeaseForm):
    holder_consent_document_id = SelectField(_l("Holder's written consent"), coerce=int)


class PaymentForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[DataRequired()])
    amount = YuanField(_l("Amount (yuan)"), negative=True, validators=[DataRequired()])
    reference = StringField(_l("Receipt or transfer number"), validators=[length("code")])
    note = StringField(_l("Note (say why, for a correction)"), validators=[length("note")])


class EndForm(FlaskForm):
    kind = SelectField(_l("How the lease ends"), validators=[DataRequired()])
    ended_on = DateField(_l("Ended on"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), length("reason")])
    document_id = SelectField(_l("Agreement or document"), coerce=int)


class ReviewForm(FlaskForm):
    decision = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Approve: the lease takes effect")),
            SelectChoice("reject", _l("Reject")),
        ],
        validators=[DataRequired()],
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), length("reason")])


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _names(uids: set[int]) -> dict[int, str]:
    if not uids:
        return {}
    return dict(
        db.session.execute(
            select(Household.uid, Household.name).where(
                Household.uid.in_(uids), Household.end_lifespan.is_(None)
            )
        ).all()
    )


def _row(lease: Lease, names: dict[int, str], collectives: dict[int, str]) -> dict:
    today = county_today()
    return {
        "lease": lease,
        "holder": names.get(lease.household_uid, ""),
        "collective": collectives.get(lease.collective_id, ""),
        "lessee_kind": services.label(services.LESSEE_KIND_LABELS, lease.lessee_kind),
        "use": services.label(services.USES, lease.use),
        "state": services.label(services.STATE_LABELS, lease.state),
        "mu": format_mu(lease.area_m2),
        "rent_year": yuan(lease.rent_fen_per_year),
        "arrears": yuan(services.arrears(lease, today)) if lease.state == "in_force" else None,
        "arrears_fen": services.arrears(lease, today) if lease.state == "in_force" else 0,
    }


@bp.get("/")
@roles_required(*STAFF)
def index():
    """The leases the user may read: an administrator's collectives, the county for the
    bureau and auditors (narrowed by township or village)."""
    q = select(Lease).where(readable(current_user, Lease.collective_id, Lease.household_uid))
    collective_id = request.args.get("collective_id", type=int)
    state = request.args.get("state") or None
    if collective_id:
        q = q.where(Lease.collective_id == collective_id)
    if state in services.STATE_LABELS:
        q = q.where(Lease.state == state)
    township = request.args.get("township") or None
    towns = db.session.execute(
        select(Division.code, Division.name).where(Division.level == "town").order_by(Division.code)
    ).all()
    if township and township in {code for code, _name in towns}:
        in_town = select(Division.code).where(Division.parent_code == township)
        q = q.where(
            Lease.collective_id.in_(
                select(Collective.id).where(
                    (Collective.village_code == township) | Collective.village_code.in_(in_town)
                )
            )
        )
    else:
        township = None
    reach = db.session.scalars(select(Collective).order_by(Collective.fbfbm)).all()
    leases = list(db.session.scalars(q.order_by(Lease.id.desc()).limit(LIST_LIMIT)))
    names = _names({x.household_uid for x in leases})
    collectives = {c.id: c.name for c in reach}
    editable = [
        c for c in reach if current_user.role == Role.COLLECTIVE_ADMIN and can_edit(current_user, c)
    ]
    return render_template(
        "leases/index.html",
        rows=[_row(x, names, collectives) for x in leases],
        editable=editable,
        townships=towns,
        township=township,
        state=state,
        states=_labels(services.STATE_LABELS),
        truncated=len(leases) >= LIST_LIMIT,
    )


def lease_page_data(lease: Lease) -> dict:
    today = county_today()
    plots = services.lease_plots(lease.id)
    plot_rows = {
        p.uid: p
        for p in db.session.scalars(
            select(Plot).where(
                Plot.uid.in_([x.plot_uid for x in plots] or [-1]), Plot.end_lifespan.is_(None)
            )
        )
    }
    id_number = lease.lessee_id_number
    full = current_user.role == Role.AUDITOR or (
        current_user.role == Role.COLLECTIVE_ADMIN
        and lease.collective_id in current_user.collective_ids
    )
    due = services.due_fen(lease, today)
    paid = services.paid_fen(lease, today)
    contract = db.session.scalar(
        select(LandContract).where(
            LandContract.uid == lease.contract_uid, LandContract.end_lifespan.is_(None)
        )
    )
    subleases = list(
        db.session.scalars(
            select(Lease).where(Lease.parent_lease_id == lease.id).order_by(Lease.id)
        )
    )
    shapes = [to_shape(p.geom) for p in plot_rows.values() if p.geom is not None]
    return {
        "lease": lease,
        "map_settings": map_features.map_settings(
            shapes,
            selected=f"plot.{next(iter(plot_rows))}" if len(plot_rows) == 1 else None,
            household_uid=lease.household_uid,
            collective_id=lease.collective_id,
        ),
        "holder": _names({lease.household_uid}).get(lease.household_uid, ""),
        "collective": db.session.get(Collective, lease.collective_id),
        "contract": contract,
        "lessee_kind": services.label(services.LESSEE_KIND_LABELS, lease.lessee_kind),
        "id_number": id_number if full or not id_number else mask_id_number(id_number),
        "method": services.label(services.METHOD_LABELS, lease.method),
        "channel": services.label(services.CHANNEL_LABELS, lease.channel),
        "use": services.label(services.USES, lease.use),
        "schedule_label": services.label(services.SCHEDULES, lease.payment_schedule),
        "state": services.label(services.STATE_LABELS, lease.state),
        "plots": [
            {
                "uid": p.plot_uid,
                "name": (plot_rows[p.plot_uid].name or plot_rows[p.plot_uid].dkbm)
                if p.plot_uid in plot_rows
                else str(p.plot_uid),
                "dkbm": plot_rows[p.plot_uid].dkbm if p.plot_uid in plot_rows else "",
                "mu": format_mu(p.area_m2),
            }
            for p in plots
        ],
        "mu": format_mu(lease.area_m2),
        "rent_mu": yuan(lease.rent_fen_per_mu_year),
        "rent_year": yuan(lease.rent_fen_per_year),
        "schedule": [
            {"due_on": i.due_on, "amount": yuan(i.amount_fen), "past": i.due_on <= today}
            for i in services.schedule_of(lease.id)
        ],
        "payments": [
            {"row": p, "amount": yuan(p.amount_fen)} for p in services.payments_of(lease.id)
        ],
        "due": yuan(due),
        "paid": yuan(paid),
        "arrears_fen": max(0, due - paid),
        "arrears": yuan(max(0, due - paid)),
        "qualification": services.qualification_of(lease.id),
        "ending": services.ending_of(lease.id),
        "ending_kind": services.label(
            services.ENDING_KINDS, getattr(services.ending_of(lease.id), "kind", None)
        ),
        "parent": db.session.get(Lease, lease.parent_lease_id) if lease.parent_lease_id else None,
        "subleases": subleases,
        "editable": can_edit(current_user, lease) and lease.state in services.HOLDING_STATES,
        "reviewable": current_user.role == Role.BUREAU_REVIEWER
        and lease.state == "awaiting_qualification",
    }


def _payment_form(lease: Lease) -> PaymentForm:
    form = PaymentForm(prefix="pay")
    if form.paid_on.data is None:
        form.paid_on.data = county_today()
    return form


def _end_form(lease: Lease) -> EndForm:
    form = EndForm(prefix="end")
    form.kind.choices = choices(_labels(services.ENDING_KINDS))
    form.document_id.choices = document_choices(lease.collective_id, none=_("— none —"))
    if form.ended_on.data is None:
        form.ended_on.data = county_today()
    return form


def _render_lease(lease: Lease, status: int = 200, **forms: Any):
    data = lease_page_data(lease)
    forms.setdefault("pay_form", _payment_form(lease))
    forms.setdefault("end_form", _end_form(lease))
    forms.setdefault("review_form", ReviewForm(prefix="review"))
    return render_template("leases/lease.html", **data, **forms), status


@bp.get("/<int:lease_id>")
@roles_required(Role.FARMER, *STAFF)
def lease(lease_id: int):
    return _render_lease(load_or_404(Lease, lease_id))


@bp.get("/<int:lease_id>/contract.pdf")
@roles_required(Role.FARMER, *STAFF)
def lease_contract_pdf(lease_id: int):
    """The lease contract as filed, as a PDF: the same readers as the lease's page."""
    row = load_or_404(Lease, lease_id)
    pdf = render_pdf("pdf/lease_contract.html", **lease_page_data(row))
    return pdf_response(pdf, f"lease-{row.number}.pdf")


def _editable_lease(lease_id: int) -> Lease:
    row = load_or_404(Lease, lease_id, edit=True)
    return row


@bp.post("/<int:lease_id>/payments")
@roles_required(Role.COLLECTIVE_ADMIN)
def record_payment(lease_id: int):
    row = _editable_lease(lease_id)
    form = _payment_form(row)
    done = submit(
        form,
        lambda: services.record_payment(
            row.id,
            paid_on=form.paid_on.data,
            amount_fen=form.amount.data,
            reference=form.reference.data,
            note=form.note.data,
            collective_id=row.collective_id,
        ),
        fields={"amount_fen": "amount"},
    )
    if not done.done:
        return _render_lease(row, 422, pay_form=form)
    db.session.commit()
    flash(_("The payment was recorded."))
    return redirect(url_for("leases.lease", lease_id=row.id))


@bp.post("/<int:lease_id>/end")
@roles_required(Role.COLLECTIVE_ADMIN)
def end(lease_id: int):
    row = _editable_lease(lease_id)
    form = _end_form(row)
    done = submit(
        form,
        lambda: services.end_lease(
            row.id,
            kind=form.kind.data,
            ended_on=form.ended_on.data,
            reason=form.reason.data,
            document_id=form.document_id.data or None,
            collective_id=row.collective_id,
        ),
    )
    if not done.done:
        return _render_lease(row, 422, end_form=form)
    db.session.commit()
    flash(_("The lease was ended; the land is free again from the next day."))
    return redirect(url_for("leases.lease", lease_id=row.id))


@bp.get("/reviews")
@roles_required(Role.BUREAU_REVIEWER, Role.AUDITOR)
def reviews():
    """The bureau's queue: businesses' leases above the threshold waiting for review."""
    leases = list(
        db.session.scalars(
            select(Lease)
            .where(Lease.state == "awaiting_qualification")
            .order_by(Lease.filed_on, Lease.id)
            .limit(LIST_LIMIT)
        )
    )
    names = _names({x.household_uid for x in leases})
    collectives = dict(db.session.execute(select(Collective.id, Collective.name)).all())
    return render_template(
        "leases/reviews.html",
        rows=[
            {
                **_row(x, names, collectives),
                "held_mu": format_mu(
                    float(services.leased_area_mu(x.lessee_uscc or "") * services.M2_PER_MU)
                ),
            }
            for x in leases
        ],
        threshold=services.qualification_mu(),
    )


@bp.post("/<int:lease_id>/qualification")
@roles_required(Role.BUREAU_REVIEWER)
def decide(lease_id: int):
    row = load_or_404(Lease, lease_id)
    form = ReviewForm(prefix="review")
    done = submit(
        form,
        lambda: services.decide_qualification(
            row.id, decision=form.decision.data, reason=form.reason.data
        ),
    )
    if not done.done:
        return _render_lease(row, 422, review_form=form)
    db.session.commit()
    flash(_("The qualification review was recorded."))
    return redirect(url_for("leases.lease", lease_id=row.id))


# --------------------------------------------------------------------------------------------
# A new lease, and a re-lease
# --------------------------------------------------------------------------------------------


def _prepare(form: LeaseForm, collective_id: int, plots: list[Plot], holder_uid: int) -> None:
    form.plot_uids.choices = choices(
        (p.uid, f"{p.name or p.dkbm}（{p.dkbm} · {format_mu(p.contract_area_m2)} 亩）")
        for p in plots
    )
    form.lessee_kind.choices = choices(_labels(services.LESSEE_KIND_LABELS))
    households = [
        (uid, f"{name}（{code}）")
        for uid, name, code in services.member_households(collective_id)
        if uid != holder_uid
    ]
    form.lessee_household_uid.choices = choices([(0, _("— choose —")), *households])
    form.lessee_person_uid.choices = choices(
        [(0, _("— choose —")), *((p.uid, p.name) for p in eligible_people(collective_id))]
    )
    form.method.choices = choices(_labels(services.METHOD_LABELS))
    form.use.choices = choices(_labels(services.USES))
    form.payment_schedule.choices = choices(_labels(services.SCHEDULES))
    none = _("— none —")
    form.contract_document_id.choices = document_choices(collective_id, none=none)
    form.notice_document_id.choices = document_choices(collective_id, none=none)


def _lessee(form: LeaseForm) -> services.Lessee:
    return services.Lessee(
        kind=form.lessee_kind.data,
        name=form.lessee_name.data or "",
        household_uid=form.lessee_household_uid.data or None,
        person_uid=form.lessee_person_uid.data or None,
        id_number=(form.lessee_id_number.data or "").strip() or None,
        uscc=(form.lessee_uscc.data or "").strip() or None,
        contact=form.lessee_contact.data,
    )


def _evidence(form: LeaseForm) -> dict | None:
    if not form.notice_document_id.data:
        return None
    return {
        "notice_document_id": form.notice_document_id.data,
        "notice_from": form.notice_from.data.isoformat() if form.notice_from.data else None,
    }


LEASE_FIELDS = {
    "lessee_name": "lessee_name",
    "lessee_id_number": "lessee_id_number",
    "lessee_uscc": "lessee_uscc",
    "lessee_kind": "lessee_kind",
    "lessee_household_uid": "lessee_household_uid",
    "lessee_person_uid": "lessee_person_uid",
    "lessee_contact": "lessee_contact",
    "rent_fen_per_mu_year": "rent",
    "priority_evidence": "notice_document_id",
    "holder_consent_document_id": "holder_consent_document_id",
    "contract_document_id": "contract_document_id",
}


@bp.route("/new/<int:collective_id>", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def new(collective_id: int):
    """Step one: the holder household; step two: its plots, the lessee and the terms."""
    load_or_404(Collective, collective_id, edit=True)
    collective = db.session.get(Collective, collective_id)
    holders = [
        (uid, f"{name}（{code}）") for uid, name, code in services.holder_households(collective_id)
    ]
    household_uid = request.values.get("household_uid", type=int)
    household = None
    contract = None
    if household_uid:
        household = db.session.scalar(
            select(Household).where(
                Household.uid == household_uid,
                Household.end_lifespan.is_(None),
                Household.collective_id == collective_id,
            )
        )
        if household is None:
            abort(404)
        contract = land.contract_of_household(household.uid)
    if household is None or contract is None:
        return render_template(
            "leases/new.html",
            collective=collective,
            holders=holders,
            household=household,
            contract=None,
            form=None,
        )
    plots = land.contract_plots(contract.uid)
    form = LeaseForm()
    _prepare(form, collective_id, plots, household.uid)
    if request.method == "GET":
        form.starts_on.data = county_today()
        form.plot_uids.data = [p.uid for p in plots]
    done = submit(
        form,
        lambda: services.record_lease(
            collective_id,
            contract.uid,
            list(form.plot_uids.data or []),
            lessee=_lessee(form),
            method=form.method.data,
            use=form.use.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            rent_fen_per_mu_year=form.rent.data,
            payment_schedule=form.payment_schedule.data,
            contract_document_id=form.contract_document_id.data or None,
            priority_evidence=_evidence(form),
            register=bool(form.register.data),
            note=form.note.data,
        ),
        fields=LEASE_FIELDS,
    )
    if not done.done:
        return (
            render_template(
                "leases/new.html",
                collective=collective,
                holders=holders,
                household=household,
                contract=contract,
                form=form,
            ),
            done.status,
        )
    db.session.commit()
    made: Lease = done.value
    if made.state == "awaiting_qualification":
        flash(
            _(
                "The lease was recorded and filed. It waits for the county bureau's "
                "qualification review before it takes effect."
            )
        )
    else:
        flash(_("The lease was recorded and filed; it is in force."))
    return redirect(url_for("leases.lease", lease_id=made.id))


@bp.route("/<int:lease_id>/sublease", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def sublease(lease_id: int):
    """A re-lease by the lessee (再流转) of some of the lease's plots, with the holder's written
    consent, filed the same way."""
    parent = _editable_lease(lease_id)
    if parent.state != "in_force":
        abort(404)
    plots = list(
        db.session.scalars(
            select(Plot).where(
                Plot.uid.in_(services.plot_uids_of(parent.id)), Plot.end_lifespan.is_(None)
            )
        )
    )
    form = SubleaseForm()
    _prepare(form, parent.collective_id, plots, parent.household_uid)
    form.holder_consent_document_id.choices = document_choices(
        parent.collective_id, none=_("— choose —")
    )
    if request.method == "GET":
        form.starts_on.data = max(county_today(), parent.starts_on)
        form.ends_on.data = parent.ends_on
        form.plot_uids.data = [p.uid for p in plots]
        form.use.data = parent.use
    done = submit(
        form,
        lambda: services.record_lease(
            parent.collective_id,
            parent.contract_uid,
            list(form.plot_uids.data or []),
            lessee=_lessee(form),
            method=form.method.data,
            use=form.use.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            rent_fen_per_mu_year=form.rent.data,
            payment_schedule=form.payment_schedule.data,
            contract_document_id=form.contract_document_id.data or None,
            channel="sublease",
            parent_lease_id=parent.id,
            holder_consent_document_id=form.holder_consent_document_id.data or None,
            register=bool(form.register.data),
            note=form.note.data,
        ),
        fields=LEASE_FIELDS,
    )
    if not done.done:
        return (
            render_template("leases/sublease.html", parent=parent, form=form),
            done.status,
        )
    db.session.commit()
    flash(_("The re-lease was recorded and filed."))
    return redirect(url_for("leases.lease", lease_id=done.value.id))


# --------------------------------------------------------------------------------------------
# The lease on top of the contract (handed to the registry's pages in create_app)
# --------------------------------------------------------------------------------------------


def lease_layer(right_kind: str, uid: int) -> list[dict]:
    """The leases on a contract, a plot or a household's land that have not ended, in words,
    for the registry's pages."""
    today = county_today()
    if right_kind == "land_contract":
        leases = services.leases_of_contract(uid, on=today)
    elif right_kind == "plot":
        leases = services.leases_of_plots([uid], on=today)
    elif right_kind == "household":
        leases = services.leases_of_household(uid)
    else:
        return []
    return [
        {
            "number": x.number,
            "lessee": x.lessee_name,
            "lessee_kind": services.label(services.LESSEE_KIND_LABELS, x.lessee_kind),
            "starts_on": x.starts_on,
            "ends_on": x.ends_on,
            "state": x.state,
            "state_label": services.label(services.STATE_LABELS, x.state),
            "use": services.label(services.USES, x.use),
            "mu": format_mu(x.area_m2),
            "rent_year": yuan(x.rent_fen_per_year),
            "url": url_for("leases.lease", lease_id=x.id),
        }
        for x in leases
    ]
