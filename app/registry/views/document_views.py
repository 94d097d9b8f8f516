"""HTML views of source documents, certificates and public notices.

Each view loads what the user may reach (anything else is a 404), calls one service function and
commits once. A refused action shows the same page again with the reason, and nothing is saved.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.calendar import county_today
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.fields import IntegerField  # finite, within the database's range
from app.core.inputs import page_arg
from app.core.pdf import pdf_response, render_pdf
from app.divisions.models import Collective
from app.extensions import db
from app.geo.geometry import svg_path
from app.registry import certificates as cert_service
from app.registry import documents as doc_service
from app.registry import notices as notice_service
from app.registry.models import (
    LAND_CLASSES,
    RELATIONS,
    Certificate,
    Objection,
    PublicNotice,
    SourceDocument,
)
from app.registry.present import certificate_content_for
from app.registry.views import bp
from app.registry.views.common import document_choices, length
from app.registry.views.statement_views import public_check

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
PAGE = 50

KIND_LABELS = {
    "person": _l("Person"),
    "guardianship": _l("Guardian"),
    "membership": _l("Membership"),
    "household": _l("Household"),
    "household_member": _l("Household member"),
    "land_contract": _l("Land contract right"),
    "plot": _l("Plot"),
    "homestead": _l("Homestead use right"),
    "share_holding": _l("Collective income share"),
    "certificate": _l("Certificate"),
}


# --- forms


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k, v) for k, v in doc_service.KINDS.items()],
        default="contract",
    )
    title = StringField(_l("Title"), validators=[DataRequired(), length("title")])
    file = FileField(_l("File (PDF, JPEG or PNG)"), validators=[FileRequired()])


class CertificateActionForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), length("reason")])
    on = DateField(_l("Date"), validators=[DataRequired()], default=date.today)
    # Picked by title (choices: certificate_action_form), never typed as a number; 0 is none.
    source_document_id = SelectField(_l("Source document"), coerce=int, default=0)
    # Only for a homestead: the number the real-estate registry printed (不动产权证书号).
    number = StringField(
        _l("Real-estate certificate no. (as printed)"),
        validators=[Optional(), Length(max=cert_service.NUMBER_MAX)],
    )


class OpenNoticeForm(FlaskForm):
    right_kind = SelectField(
        _l("Right"), choices=[SelectChoice(k, v) for k, v in cert_service.RIGHT_LABELS.items()]
    )
    code = StringField(_l("Code of the right"), validators=[Optional(), Length(max=40)])
    right_uid = HiddenField()
    starts_on = DateField(_l("Notice starts on"), validators=[DataRequired()], default=date.today)
    days = IntegerField(_l("Days"), validators=[Optional(), NumberRange(min=1, max=90)])


class ObjectionForm(FlaskForm):
    lodged_by = StringField(_l("Objector's name"), validators=[DataRequired(), length("name")])
    text = TextAreaField(_l("Objection"), validators=[DataRequired(), length("note")])
    lodged_on = DateField(_l("Lodged on"), validators=[DataRequired()], default=date.today)


class ResolveForm(FlaskForm):
    status = SelectField(
        _l("Decision"),
        choices=[SelectChoice("dismissed", _l("Dismissed")), SelectChoice("upheld", _l("Upheld"))],
    )
    resolution = TextAreaField(_l("Reasons"), validators=[DataRequired(), length("note")])
    resolved_on = DateField(_l("Decided on"), validators=[DataRequired()], default=date.today)


class ConfirmForm(FlaskForm):
    reason = StringField(_l("Note (optional)"), validators=[Optional(), length("reason")])


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), length("reason")])


def certificate_action_form(prefix: str, collective_id: int) -> CertificateActionForm:
    """A certificate action's form, its source document picked among the collective's."""
    form = CertificateActionForm(prefix=prefix)
    form.source_document_id.choices = document_choices(collective_id, none=_("(no document)"))
    return form


def _form_error(form: FlaskForm) -> str | None:
    for field_name, errors in form.errors.items():
        field = getattr(form, field_name, None)
        label = field.label.text if field is not None else field_name
        return f"{label}: {errors[0]}"
    return None


def _page() -> int:
    return page_arg()


# --- source documents


@bp.route("/collectives/<int:collective_id>/documents", methods=["GET", "POST"])
@roles_required(*READERS)
def collective_documents(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    may_edit = can_edit(current_user, collective)
    form = UploadForm()
    error = None
    status = 200
    if request.method == "POST":
        if not may_edit:
            abort(404)
        if form.validate_on_submit():
            upload = form.file.data
            try:
                doc = doc_service.store_document(
                    collective.id,
                    form.kind.data,
                    form.title.data,
                    upload.filename,
                    upload.stream,
                    declared_media_type=upload.mimetype,
                )
            except DomainError as exc:
                db.session.rollback()
                error, status = exc.message, exc.status
            else:
                db.session.commit()
                flash(_("The document was stored."))
                return redirect(url_for("registry.document", document_id=doc.id))
        else:
            error, status = _form_error(form), 422
    page = _page()
    docs = doc_service.collective_documents(collective.id, limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render_template(
        "registry/document_list.html",
        collective=collective,
        documents=docs[:PAGE],
        has_next=len(docs) > PAGE,
        page=page,
        form=form if may_edit else None,
        error=error,
        kinds=doc_service.KINDS,
        max_mb=f"{doc_service.max_bytes() / 1048576:g}",
    ), status


@bp.route("/documents/<int:document_id>")
@roles_required(*READERS)
def document(document_id: int):
    doc = load_or_404(SourceDocument, document_id)
    return render_template(
        "registry/document.html",
        doc=doc,
        collective=db.session.get(Collective, doc.collective_id) if doc.collective_id else None,
        verified=doc_service.verify_document(doc),
        citations=doc_service.citations(doc.id),
        kinds=doc_service.KINDS,
        kind_labels=KIND_LABELS,
    )


@bp.route("/documents/<int:document_id>/content")
@roles_required(*READERS)
def document_content(document_id: int):
    doc = load_or_404(SourceDocument, document_id)
    path = doc_service.document_path(doc)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=doc.media_type or "application/octet-stream",
        as_attachment=True,
        download_name=doc_service.download_name(doc),
        etag=doc.sha256,
        max_age=0,
    )


# --- certificates


def overlap_link(exc: DomainError) -> str | None:
    """Where to decide the open overlap finding a refusal names (the findings page)."""
    if not isinstance(exc, cert_service.OpenOverlap):
        return None
    return (
        url_for(
            "registry.collective_findings",
            collective_id=exc.finding_collective_id,
            state="open",
        )
        + f"#finding-{exc.finding_id}"
    )


def certificate_sketch(cert: Certificate, content: dict) -> dict | None:
    """The sheet's sketch of the plots (or the homestead): a server-drawn SVG, or None."""
    shapes = cert_service.sketch_shapes(cert, content)
    if not shapes:
        return None
    view_box, ds = svg_path([geom for _label, geom in shapes], 480, 200)
    paths = [{"d": d, "title": label} for (label, _geom), d in zip(shapes, ds, strict=True) if d]
    return {"view_box": view_box, "paths": paths} if paths else None


def _sheet_context(cert: Certificate, view: cert_service.CertificateView) -> dict:
    """What the certificate's sheet needs (registry/_certificate_sheet.html), page and PDF."""
    code = cert_service.verification_code(cert)
    return {
        "cert": cert,
        "content": certificate_content_for(current_user, view.content),
        "collective": db.session.get(Collective, cert.collective_id),
        "title": cert_service.CERTIFICATE_TITLES[cert.right_kind],
        "status_labels": cert_service.STATUS_LABELS,
        "issue_kind_labels": cert_service.ISSUE_KIND_LABELS,
        "relations": RELATIONS,
        "land_classes": LAND_CLASSES,
        "mu": format_mu,
        "sketch": certificate_sketch(cert, view.content),
        "verification": code,
        "check": public_check(code) if code else None,
    }


def _certificate_page(
    cert: Certificate,
    *,
    error: str | None = None,
    error_link: str | None = None,
    status: int = 200,
    posted: CertificateActionForm | None = None,
):
    """The certificate's page; after a refused action, its form as typed (``posted``)."""
    view = cert_service.certificate_view(cert)
    may_edit = can_edit(current_user, cert)
    forms = None
    if may_edit and cert.status == "valid":
        forms = {
            action: posted
            if posted is not None and posted._prefix == f"{action}-"
            else certificate_action_form(action, cert.collective_id)
            for action in ("reissue", "replace", "cancel")
        }
    return render_template(
        "registry/certificate.html",
        view=view,
        **_sheet_context(cert, view),
        forms=forms,
        error=error,
        error_link=error_link,
    ), status


@bp.route("/collectives/<int:collective_id>/certificates")
@roles_required(*READERS)
def collective_certificates(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    page = _page()
    certs = cert_service.certificates_of_collective(
        collective.id, limit=PAGE + 1, offset=(page - 1) * PAGE
    )
    return render_template(
        "registry/certificate_list.html",
        collective=collective,
        certificates=certs[:PAGE],
        has_next=len(certs) > PAGE,
        page=page,
        status_labels=cert_service.STATUS_LABELS,
        issue_kind_labels=cert_service.ISSUE_KIND_LABELS,
        right_labels=cert_service.RIGHT_LABELS,
    )


@bp.route("/certificates/<int:certificate_id>")
@roles_required(*READERS, Role.FARMER)
def certificate(certificate_id: int):
    return _certificate_page(load_or_404(Certificate, certificate_id))


@bp.route("/certificates/<int:certificate_id>.pdf")
@roles_required(*READERS, Role.FARMER)
def certificate_pdf(certificate_id: int):
    """The certificate's sheet as a PDF: the same readers and the same sheet as its page."""
    cert = load_or_404(Certificate, certificate_id)
    view = cert_service.certificate_view(cert)
    pdf = render_pdf("pdf/certificate.html", **_sheet_context(cert, view))
    return pdf_response(pdf, f"certificate-{cert.number}.pdf")


_CERT_ACTIONS = {
    "reissue": cert_service.reissue_certificate,
    "replace": cert_service.replace_certificate,
    "cancel": cert_service.cancel_certificate,
}
_CERT_DONE = {
    "reissue": _l("The certificate was re-issued."),
    "replace": _l("A new certificate replaces the old one."),
    "cancel": _l("The certificate was cancelled."),
}


def _certificate_action(certificate_id: int, action: str):
    cert = load_or_404(Certificate, certificate_id, edit=True)
    form = certificate_action_form(action, cert.collective_id)
    if not form.validate_on_submit():
        return _certificate_page(cert, error=_form_error(form), status=422, posted=form)
    try:
        result = _CERT_ACTIONS[action](
            cert.id,
            form.reason.data,
            form.on.data,
            source_document_id=form.source_document_id.data or None,
            number=form.number.data,
        )
    except DomainError as exc:
        db.session.rollback()
        cert = load_or_404(Certificate, certificate_id)
        return _certificate_page(
            cert, error=exc.message, error_link=overlap_link(exc), status=exc.status, posted=form
        )
    db.session.commit()
    flash(str(_CERT_DONE[action]))
    return redirect(url_for("registry.certificate", certificate_id=result.id))


@bp.post("/certificates/<int:certificate_id>/reissue")
@roles_required(Role.COLLECTIVE_ADMIN)
def certificate_reissue(certificate_id: int):
    return _certificate_action(certificate_id, "reissue")


@bp.post("/certificates/<int:certificate_id>/replace")
@roles_required(Role.COLLECTIVE_ADMIN)
def certificate_replace(certificate_id: int):
    return _certificate_action(certificate_id, "replace")


@bp.post("/certificates/<int:certificate_id>/cancel")
@roles_required(Role.COLLECTIVE_ADMIN)
def certificate_cancel(certificate_id: int):
    return _certificate_action(certificate_id, "cancel")


# --- public notices


@bp.route("/collectives/<int:collective_id>/notices", methods=["GET", "POST"])
@roles_required(*READERS)
def collective_notices(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    may_edit = can_edit(current_user, collective)
    form = OpenNoticeForm()
    error, status = None, 200
    if request.method == "POST":
        if not may_edit:
            abort(404)
        if form.validate_on_submit():
            try:
                if form.right_uid.data:
                    right_uid = int(form.right_uid.data) if form.right_uid.data.isdigit() else 0
                    right = cert_service.current_right(
                        form.right_kind.data, right_uid, collective_id=collective.id
                    )
                else:
                    right = cert_service.find_right(
                        collective.id, form.right_kind.data, form.code.data or ""
                    )
                notice = notice_service.open_notice(
                    form.right_kind.data, right.uid, form.starts_on.data, form.days.data
                )
            except DomainError as exc:
                db.session.rollback()
                error, status = exc.message, exc.status
            else:
                db.session.commit()
                flash(_("The public notice was opened."))
                return redirect(url_for("registry.notice", notice_id=notice.id))
        else:
            error, status = _form_error(form), 422
    page = _page()
    items = notice_service.notices_of_collective(
        collective.id, limit=PAGE + 1, offset=(page - 1) * PAGE
    )
    return render_template(
        "registry/notice_list.html",
        collective=collective,
        notices=items[:PAGE],
        codes=notice_service.right_codes(items[:PAGE]),
        has_next=len(items) > PAGE,
        page=page,
        pending=notice_service.pending_contracts(collective.id) if may_edit else [],
        form=form if may_edit else None,
        error=error,
        status_labels=notice_service.NOTICE_STATUS_LABELS,
        right_labels=cert_service.RIGHT_LABELS,
        default_days=notice_service.notice_days(),
    ), status


def _notice_page(
    notice: PublicNotice,
    *,
    error: str | None = None,
    error_link: str | None = None,
    status: int = 200,
    posted: dict[str, FlaskForm] | None = None,
):
    """The notice's page; after a refused action, its form as typed (``posted``, by name)."""
    may_edit = can_edit(current_user, notice)
    objections = notice_service.objections_of(notice.id)
    today = county_today()
    issue_refusal = (
        cert_service.issue_refusal(notice.right_kind, notice.right_uid)
        if may_edit and notice.status == "confirmed"
        else None
    )
    forms = {
        "objection_form": ObjectionForm(prefix="objection"),
        "confirm_form": ConfirmForm(prefix="confirm"),
        "withdraw_form": WithdrawForm(prefix="withdraw"),
        "issue_form": certificate_action_form("issue", notice.collective_id),
        **(posted or {}),
    }
    return render_template(
        "registry/notice.html",
        notice=notice,
        collective=db.session.get(Collective, notice.collective_id),
        code=notice_service.right_codes([notice]).get(notice.right_uid),
        objections=objections,
        today=today,
        may_edit=may_edit,
        resolve_forms={o.id: ResolveForm(prefix=f"resolve{o.id}") for o in objections},
        **forms,
        issue_refusal=issue_refusal,
        status_labels=notice_service.NOTICE_STATUS_LABELS,
        objection_labels=notice_service.OBJECTION_STATUS_LABELS,
        right_labels=cert_service.RIGHT_LABELS,
        error=error,
        error_link=error_link,
    ), status


@bp.route("/notices/<int:notice_id>")
@roles_required(*READERS)
def notice(notice_id: int):
    return _notice_page(load_or_404(PublicNotice, notice_id))


@bp.route("/notices/<int:notice_id>.pdf")
@roles_required(*READERS)
def notice_pdf(notice_id: int):
    """The notice as posted in the village, as a PDF (the same readers as its page)."""
    notice = load_or_404(PublicNotice, notice_id)
    pdf = render_pdf(
        "pdf/notice.html",
        notice=notice,
        content=notice_service.notice_content(notice),
        code=notice_service.right_codes([notice]).get(notice.right_uid),
        collective=db.session.get(Collective, notice.collective_id),
        right_labels=cert_service.RIGHT_LABELS,
        status_labels=notice_service.NOTICE_STATUS_LABELS,
        relations=RELATIONS,
        mu=format_mu,
        today=county_today(),
    )
    return pdf_response(pdf, f"notice-{notice.id}.pdf")


def _notice_action(notice: PublicNotice, form: FlaskForm, call, done: str, name: str | None = None):
    """Run one service call for a notice form and say it was done; show the notice again with
    the reason, and the form ``name`` as typed, if refused."""
    notice_id = notice.id
    posted = {name: form} if name else None
    if not form.validate_on_submit():
        return _notice_page(notice, error=_form_error(form), status=422, posted=posted)
    try:
        call()
    except DomainError as exc:
        db.session.rollback()
        return _notice_page(
            load_or_404(PublicNotice, notice_id),
            error=exc.message,
            error_link=overlap_link(exc),
            status=exc.status,
            posted=posted,
        )
    db.session.commit()
    flash(done)
    return redirect(url_for("registry.notice", notice_id=notice_id))


@bp.post("/notices/<int:notice_id>/objections")
@roles_required(Role.COLLECTIVE_ADMIN)
def notice_objection(notice_id: int):
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    form = ObjectionForm(prefix="objection")
    return _notice_action(
        notice,
        form,
        lambda: notice_service.lodge_objection(
            notice.id, form.lodged_by.data, form.text.data, form.lodged_on.data
        ),
        _("The objection was recorded."),
        "objection_form",
    )


@bp.post("/objections/<int:objection_id>/resolve")
@roles_required(Role.COLLECTIVE_ADMIN)
def objection_resolve(objection_id: int):
    objection = load_or_404(Objection, objection_id, edit=True)
    notice = load_or_404(PublicNotice, objection.notice_id, edit=True)
    form = ResolveForm(prefix=f"resolve{objection.id}")
    return _notice_action(
        notice,
        form,
        lambda: notice_service.resolve_objection(
            objection.id, form.status.data, form.resolution.data, form.resolved_on.data
        ),
        _("The objection was decided."),
    )


@bp.post("/notices/<int:notice_id>/confirm")
@roles_required(Role.COLLECTIVE_ADMIN)
def notice_confirm(notice_id: int):
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    form = ConfirmForm(prefix="confirm")
    return _notice_action(
        notice,
        form,
        lambda: notice_service.confirm_registration(notice.id, reason=form.reason.data),
        _("The registration was confirmed."),
        "confirm_form",
    )


@bp.post("/notices/<int:notice_id>/withdraw")
@roles_required(Role.COLLECTIVE_ADMIN)
def notice_withdraw(notice_id: int):
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    form = WithdrawForm(prefix="withdraw")
    return _notice_action(
        notice,
        form,
        lambda: notice_service.withdraw_notice(notice.id, form.reason.data),
        _("The notice was withdrawn."),
        "withdraw_form",
    )


@bp.post("/notices/<int:notice_id>/certificate")
@roles_required(Role.COLLECTIVE_ADMIN)
def notice_certificate(notice_id: int):
    """Issue the certificate of a registration confirmed by this notice."""
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    form = certificate_action_form("issue", notice.collective_id)
    posted = {"issue_form": form}
    if not form.validate_on_submit():
        return _notice_page(notice, error=_form_error(form), status=422, posted=posted)
    try:
        cert = cert_service.issue_certificate(
            notice.right_kind,
            notice.right_uid,
            issued_on=form.on.data,
            reason=form.reason.data,
            source_document_id=form.source_document_id.data or None,
            number=form.number.data,
        )
    except DomainError as exc:
        db.session.rollback()
        return _notice_page(
            load_or_404(PublicNotice, notice_id),
            error=exc.message,
            error_link=overlap_link(exc),
            status=exc.status,
            posted=posted,
        )
    db.session.commit()
    flash(_("The certificate was issued."))
    return redirect(url_for("registry.certificate", certificate_id=cert.id))
