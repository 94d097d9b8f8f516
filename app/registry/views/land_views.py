"""HTML pages for contracted land: contracts, plots, geometry findings, history, admin forms.

Views only translate HTTP to a service call in app.registry.land and back, and commit once.
``history_page`` renders the generic registry/history.html for any versioned object; other parts
of the registry may use it for their own history pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from werkzeug.routing import BuildError
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.auth.models import Role
from app.auth.scope import can_edit, can_read, load_or_404, roles_required
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.forms import form_failed as _fail
from app.core.inputs import id_arg, page_arg
from app.divisions.models import Collective
from app.extensions import db
from app.geo.geometry import svg_path
from app.registry import history, land, plot_changes, present
from app.registry.documents import KINDS as DOCUMENT_KINDS
from app.registry.documents import collective_documents, documents_by_id
from app.registry.labels import for_reader, value_label
from app.registry.links import link_to
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    LAND_CLASSES,
    LAND_USES,
    RESERVE_LAND_CLASS,
    Certificate,
    GeometryFinding,
    Household,
    LandContract,
    Plot,
    RightMove,
)
from app.registry.spatial_checks import plots_near
from app.registry.views import bp
from app.registry.views.common import basis_choices, length, requested_flash
from app.registry.views.common import editable_collective as _editable_collective

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
STAFF = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
PAGE = 50
MAX_UPLOAD_BYTES = 2 * 1024 * 1024

CRS_CHOICES = [
    SelectChoice("", _l("— as declared in the file —")),
    SelectChoice("EPSG:4490", _l("EPSG:4490 · CGCS2000 longitude/latitude")),
    SelectChoice("EPSG:4326", _l("EPSG:4326 · WGS 84 longitude/latitude")),
    SelectChoice("EPSG:4547", _l("EPSG:4547 · CGCS2000 3° Gauss-Krüger CM 114E")),
    SelectChoice("EPSG:4546", _l("EPSG:4546 · CGCS2000 3° Gauss-Krüger CM 111E")),
    SelectChoice("EPSG:4548", _l("EPSG:4548 · CGCS2000 3° Gauss-Krüger CM 117E")),
]

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


# --------------------------------------------------------------------------------------------
# Helpers shared by the pages
# --------------------------------------------------------------------------------------------


def _url(endpoint: str, **values: Any) -> str | None:
    """A link to a page another part of the registry provides, or None if it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def fmt_m2(m2: float | None) -> str:
    return "" if m2 is None else f"{float(m2):,.2f}"


def fmt_mu(m2: float | None) -> str:
    return "" if m2 is None else format_mu(float(m2))


def _references(versions: list[Any]) -> dict[str, dict[Any, str]]:
    """Readable names for the references a version holds (household code, contract code,
    collective name, status label), fetched with one query per kind for all versions."""
    wanted: dict[str, set] = {"household_uid": set(), "contract_uid": set(), "collective_id": set()}
    for v in versions:
        for key, ids in wanted.items():
            value = getattr(v, key, None)
            if value is not None:
                ids.add(value)
    out: dict[str, dict[Any, str]] = {
        "status": {"pending": _("Pending public notice"), "confirmed": _("Confirmed")}
    }
    lookups = {
        "household_uid": (Household.uid, Household.cbfbm),
        "contract_uid": (LandContract.uid, LandContract.cbhtbm),
    }
    for key, (uid_col, code_col) in lookups.items():
        if wanted[key]:
            out[key] = dict(
                db.session.execute(select(uid_col, code_col).where(uid_col.in_(wanted[key]))).all()
            )
    if wanted["collective_id"]:
        out["collective_id"] = dict(
            db.session.execute(
                select(Collective.id, Collective.name).where(
                    Collective.id.in_(wanted["collective_id"])
                )
            ).all()
        )
    return out


def _fmt_value(key: str, value: Any, refs: dict[str, dict[Any, str]] | None = None) -> str:
    if refs and key in refs and value in refs[key]:
        return refs[key][value]
    if key == "geom":
        return _("(boundary)") if value is not None else "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd HH:mm")
    if isinstance(value, date):
        return value.isoformat()
    shown = value_label(key, value)  # codes (land class, terrain, share type…) in words
    if shown is not None:
        return shown
    if key == "land_type" and value in CONTRACT_LAND_TYPES:
        return str(CONTRACT_LAND_TYPES[value])
    if key == "method" and value in CONTRACT_METHODS:
        return str(CONTRACT_METHODS[value])
    return str(value)


def history_context(
    model: type,
    uid: int,
    *,
    labels: dict[str, Any],
    as_of_raw: str | None = None,
    time_raw: str | None = None,
) -> dict[str, Any]:
    """Versions of one object (newest first), each with its diff against the one before, the
    cited documents (one query), and the version in effect on ``as_of`` (legal time) or, for the
    auditor and the bureau with ``time=recorded``, the one recorded as current then."""
    versions = history.versions(model, uid)
    if not versions or not can_read(current_user, versions[-1]):
        abort(404)
    docs = documents_by_id([v.source_document_id for v in versions])
    refs = _references(versions)
    rows = []
    previous = None
    for v in versions:
        changes = history.diff(previous, v)
        doc = docs.get(v.source_document_id) if v.source_document_id else None
        rows.append(
            {
                "version": v.version,
                "begin": v.begin_lifespan,
                "end": v.end_lifespan,
                "valid_from": v.valid_from,
                "valid_to": v.valid_to,
                "reason": v.change_reason,
                "changed_by": v.changed_by,
                "document": doc,
                "document_url": link_to("registry.document", document_id=doc.id) if doc else None,
                "changes": [
                    (
                        for_reader(str(labels.get(k, k))),
                        _fmt_value(k, before, refs) if previous is not None else "",
                        _fmt_value(k, after, refs),
                    )
                    for k, (before, after) in changes.items()
                ],
            }
        )
        previous = v
    rows.reverse()
    as_of_error = None
    selected = None
    as_of = None
    try:
        as_of = land.parse_as_of(as_of_raw, time_raw, user=current_user)
    except DomainError as err:
        as_of_error = err.message
    if as_of is not None:
        selected = as_of.pick(versions)
    return {
        "rows": rows,
        "as_of_raw": (as_of_raw or "").strip(),
        "as_of_error": as_of_error,
        "as_of_recorded": bool(as_of and as_of.recorded),
        "may_read_record_time": land.may_read_record_time(current_user),
        "selected": selected,
        "selected_fields": (
            [
                (for_reader(str(labels.get(k, k))), _fmt_value(k, val, refs))
                for k, val in selected.content().items()
            ]
            if selected is not None
            else []
        ),
    }


def history_page(
    model: type,
    uid: int,
    *,
    title: str,
    code: str,
    back_url: str,
    labels: dict[str, Any],
) -> Any:
    """Render registry/history.html for any versioned object (also for other rights)."""
    ctx = history_context(
        model,
        uid,
        labels=labels,
        as_of_raw=request.args.get("as_of"),
        time_raw=request.args.get("time"),
    )
    status = 422 if ctx["as_of_error"] else 200
    return render_template(
        "registry/history.html", title=title, code=code, back_url=back_url, **ctx
    ), status


def _map(shapes: list[tuple[Any, str, str | None, str]]) -> dict | None:
    """A server-side SVG: [(geometry, title, href, css class)]."""
    shapes = [s for s in shapes if s[0] is not None]
    if not shapes:
        return None
    view_box, ds = svg_path([s[0] for s in shapes], 480, 320)
    return {
        "view_box": view_box,
        "paths": [
            {"d": d, "title": title, "href": href, "cls": cls}
            for (_g, title, href, cls), d in zip(shapes, ds, strict=True)
            if d
        ],
    }


def _document_choices(collective_id: int) -> list[SelectChoice]:
    return [
        SelectChoice(
            d.id, f"{d.title} · {DOCUMENT_KINDS.get(d.kind, d.kind)} · {d.uploaded_at:%Y-%m-%d}"
        )
        for d in collective_documents(collective_id, limit=100)
    ]


def land_use_choices() -> list[SelectChoice]:
    """Land-use (TDLYLX) names with their codes, for the plot form (staff)."""
    return [
        SelectChoice("", _("(not recorded)")),
        *(SelectChoice(k, f"{v}（{k}）") for k, v in LAND_USES.items()),
    ]


def _raw_date(f: Any) -> Any:
    """A date field's value, or what was typed (the service explains what is wrong with it)."""
    if f.data is not None:
        return f.data
    return (f.raw_data or [""])[0]


def _page() -> int:
    return page_arg()


# --------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------


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


class RenewForm(FlaskForm):
    years = StringField(_l("Renew for (years)"))
    source_document_id = SelectField(_l("Source document"), coerce=int)
    reason = StringField(_l("Reason"), validators=[length("reason")])


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


class DecisionForm(FlaskForm):
    state = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("accepted", _l("Accept as an exception")),
            SelectChoice("resolved", _l("Resolved")),
        ],
    )
    reason = StringField(_l("Reason"), validators=[length("reason")])


def _contract_choices(collective_id: int) -> list[SelectChoice]:
    rows = db.session.execute(
        select(LandContract.uid, LandContract.cbhtbm, Household.name)
        .join(
            Household,
            (Household.uid == LandContract.household_uid) & Household.end_lifespan.is_(None),
        )
        .where(LandContract.collective_id == collective_id, LandContract.end_lifespan.is_(None))
        .order_by(LandContract.cbhtbm)
        .limit(2000)
    ).all()
    return [SelectChoice(0, _("— none —"))] + [
        SelectChoice(uid, f"{code} · {name}") for uid, code, name in rows
    ]


def _uploaded_geometry(form: Any) -> str:
    """The geometry text: an uploaded file wins over the text area; it is copied into the text
    area so that a re-submission (e.g. accepting a repair) needs no second upload."""
    upload = form.geometry_file.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise DomainError(
                "upload_too_large",
                _("The file is too large for one plot (at most 2 MB)."),
                field="geometry",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(
                "geometry_unreadable",
                _("The file is not UTF-8 text GeoJSON."),
                field="geometry",
            ) from None
        form.geometry.data = text
        return text
    return form.geometry.data or ""


# --------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------


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
    renewal_opens = land.add_years(obj.term_end, -land.renewal_window_years())
    if editable and renew_form is None and date.today() >= renewal_opens:
        renew_form = RenewForm(formdata=None)
    if renew_form is not None:
        renew_form.source_document_id.choices = _document_choices(obj.collective_id)
    shapes = [
        (to_shape(p.geom) if p.geom is not None else None, p.dkbm, None, "own") for p in plots
    ]
    shapes = [
        (g, title, url_for("registry.plot", plot_uid=p.uid), cls)
        for (g, title, _h, cls), p in zip(shapes, plots, strict=True)
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
        renewal_opens=renewal_opens,
        term_cap_years=land.TERM_CAP_YEARS.get(obj.land_type, land.ARABLE_TERM_YEARS),
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
    form.source_document_id.choices = _document_choices(obj.collective_id)
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
    with_contract = select(LandContract.household_uid).where(LandContract.end_lifespan.is_(None))
    households = db.session.execute(
        select(Household.uid, Household.cbfbm, Household.name)
        .where(
            Household.collective_id == collective.id,
            Household.end_lifespan.is_(None),
            Household.uid.not_in(with_contract),
        )
        .order_by(Household.cbfbm)
        .limit(2000)
    ).all()
    form.household_uid.choices = [
        SelectChoice(uid, f"{code} · {name}") for uid, code, name in households
    ]
    form.source_document_id.choices = _document_choices(collective.id)
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


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


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
        assign_form.source_document_id.choices = _document_choices(obj.collective_id)
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


def _report_change(change: land.PlotChange) -> None:
    """Tell the user what the checks found: overlaps (recorded for review) and warnings."""
    if change.repaired:
        flash(_("The geometry was repaired as you asked; the change reason records it."), "warn")
    for f in change.findings:
        flash(
            _(
                "Overlap of %(area)s m² with another plot recorded for review (finding %(id)s).",
                area=f"{f.overlap_m2:.2f}",
                id=f.id,
            ),
            "warn",
        )
    from app.core.i18n import pick

    for w in change.warnings:
        flash(pick(w.message_zh, w.message_en), "warn")


def _geometry_error(err: DomainError) -> dict | None:
    if isinstance(err, land.GeometryRejected):
        return {
            "message": err.message,
            "reason": err.reason,
            "location": err.location,
            "repair_available": err.repair_available,
        }
    return None


@bp.route("/collectives/<int:collective_id>/plots/new", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_new(collective_id: int):
    collective = _editable_collective(collective_id)
    form = PlotForm()
    form.land_use.choices = land_use_choices()
    form.contract_uid.choices = _contract_choices(collective.id)
    form.source_document_id.choices = _document_choices(collective.id)
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
    ), status


@bp.route("/plots/<int:plot_uid>/geometry", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_geometry(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid, edit=True)
    collective = db.session.get(Collective, obj.collective_id)
    form = GeometryForm()
    form.source_document_id.choices = _document_choices(obj.collective_id)
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
    ), status


@bp.post("/plots/<int:plot_uid>/contract")
@roles_required(Role.COLLECTIVE_ADMIN)
def plot_assign(plot_uid: int):
    obj = load_current_or_404(Plot, plot_uid, edit=True)
    form = AssignForm()
    form.contract_uid.choices = _contract_choices(obj.collective_id)
    form.source_document_id.choices = _document_choices(obj.collective_id)
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
    form.source_document_id.choices = _document_choices(obj.collective_id)
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
    form.source_document_id.choices = _document_choices(obj.collective_id)
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


# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------

FINDING_STATES: dict[str, Callable[[], str]] = {
    "open": lambda: _("Open, to decide"),
    "accepted": lambda: _("Accepted exception"),
    "resolved": lambda: _("Resolved"),
}


@bp.route("/collectives/<int:collective_id>/findings")
@roles_required(*STAFF)
def collective_findings(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    return _findings_page(collective)


def _findings_page(
    collective: Collective, *, error: str | None = None, error_id: int | None = None, status=200
):
    state = request.args.get("state") or None
    if state not in (None, *land.FINDING_STATES):
        state = None
    page = _page()
    rows = land.collective_findings(
        collective.id, state=state, limit=PAGE + 1, offset=(page - 1) * PAGE
    )
    # The other plot of an overlap may be another collective's: named only to those who may
    # read it.
    readable = present.readable_plot_codes(current_user, {f.other_plot_uid for f, _p, _o in rows})
    rows = [(f, mine, readable.get(f.other_plot_uid)) for f, mine, _other in rows]
    editable = can_edit(current_user, collective)
    return render_template(
        "registry/findings.html",
        collective=collective,
        rows=rows[:PAGE],
        page=page,
        has_next=len(rows) > PAGE,
        state=state,
        states={k: v() for k, v in FINDING_STATES.items()},
        can_edit=editable,
        decision_form=DecisionForm(formdata=None) if editable else None,
        error=error,
        error_id=error_id,
    ), status


@bp.post("/findings/<int:finding_id>/decision")
@roles_required(Role.COLLECTIVE_ADMIN)
def finding_decide(finding_id: int):
    finding = load_or_404(GeometryFinding, finding_id)
    if not can_edit(current_user, finding):
        abort(404)
    form = DecisionForm()
    form.validate_on_submit()
    try:
        land.decide_finding(finding.id, form.state.data or "", form.reason.data or "")
    except DomainError as err:
        db.session.rollback()
        collective = db.session.get(Collective, finding.collective_id)
        return _findings_page(collective, error=err.message, error_id=finding_id, status=422)
    db.session.commit()
    flash(_("The finding was decided."))
    return redirect(url_for("registry.collective_findings", collective_id=finding.collective_id))
