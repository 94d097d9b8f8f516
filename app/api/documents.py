"""JSON API for source documents, certificates and public notices (same services as the pages).

The rules (one valid certificate per right, a notice before confirmation, objections only while
it runs, a document's type decided by its bytes) live in app.registry.certificates, .notices and
.documents; these endpoints translate JSON (or, for an upload, a multipart form) to those calls
and back, and commit once. Another collective's document, certificate, notice or right is a 404.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from flask import abort, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.api import bp
from app.api.fields import Id, NameText, NoteText, Reason, TitleText
from app.api.schema import Answer, Body, Form, operation
from app.auth.models import Role
from app.auth.scope import load_or_404, roles_required
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import certificates as cert_service
from app.registry import documents as doc_service
from app.registry import notices as notice_service
from app.registry.models import Certificate as CertificateRow
from app.registry.models import Objection as ObjectionRow
from app.registry.models import PublicNotice as PublicNoticeRow
from app.registry.models import SourceDocument
from app.registry.present import certificate_content_for

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
EDITORS = (Role.COLLECTIVE_ADMIN,)

F = TypeVar("F", bound=BaseModel)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: Any) -> Any:
    """Empty text is no day (as a page's empty date field); text is read as YYYY-MM-DD here,
    since a validator in front of a strict ``date`` hands it a Python value, not JSON text."""
    if not isinstance(value, str):
        return value  # null, or a JSON type the strict date refuses
    if not value.strip():
        return None
    if _ISO_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("date_parsing", "not a date written YYYY-MM-DD")


#: A day written YYYY-MM-DD; absent, null or empty: today.
Day = Annotated[date | None, BeforeValidator(_day), Field(description="Default: today")]

RightKind = Literal[tuple(cert_service.RIGHT_MODELS)]  # type: ignore[valid-type]
DocumentKind = Literal[tuple(doc_service.KINDS)]  # type: ignore[valid-type]
MediaType = Literal["application/pdf", "image/jpeg", "image/png"]
CertificateNumber = Annotated[
    str,
    StringConstraints(max_length=cert_service.NUMBER_MAX),
    Field(
        description="Homestead only: the real-estate certificate number (不动产权证书号) as the "
        "real-estate registry printed it; other numbers are the right's own code"
    ),
]


# --- answers


class Document(Answer):
    """A stored source document"""

    document_id: int
    collective_id: int | None
    kind: DocumentKind
    title: str
    filename: str | None
    media_type: MediaType | None = Field(description="What the bytes are, not what was declared")
    size: int | None
    sha256: str
    uploaded_at: str | None = Field(description="UTC, YYYY-MM-DDTHH:MM:SS")
    uploaded_by: str | None
    content_url: str = Field(description="Where to download the bytes")


class DocumentCitation(Answer):
    kind: str = Field(description='The kind of record citing it, or "certificate"')
    uid: int | None
    version: int | None
    begin: str | None
    end: str | None
    reason: str | None
    certificate_id: int | None


class DocumentDetail(Document):
    """The document, whether its bytes still match, and the records citing it"""

    verified: bool = Field(description="The stored file still has the recorded SHA-256")
    citations: list[DocumentCitation] = Field(description="Newest first")


class Certificate(Answer):
    """A certificate"""

    certificate_id: int
    right_kind: RightKind
    right_uid: int
    collective_id: int
    household_uid: int | None
    number: str
    status: Literal["valid", "superseded", "cancelled"]
    issue_kind: Literal["issue", "reissue", "replace"]
    issued_on: date
    ended_on: date | None
    reason: str | None
    replaces_id: int | None
    source_document_id: int | None
    snapshot_sha256: str | None = Field(
        description="SHA-256 of the canonical JSON snapshot; null if issued before snapshots "
        "were kept"
    )


class CertificateDetail(Certificate):
    """The certificate, what it certified and what changed in the registry since"""

    has_snapshot: bool
    snapshot: dict[str, Any] = Field(
        description="What the certificate certified (or, without a snapshot, the registry now): "
        "holder, co-holders (ID numbers as the caller may see them), plots, right"
    )
    changed_since_issue: bool
    changes: list[str] = Field(
        description="Differences between the snapshot and the registry now, in words"
    )


class Objection(Answer):
    """An objection to a public notice"""

    objection_id: int
    notice_id: int
    lodged_by: str
    lodged_on: date
    text: str
    status: Literal["open", "upheld", "dismissed"]
    resolution: str | None
    resolved_on: date | None


class PublicNotice(Answer):
    """A public notice (公示) with its objections"""

    notice_id: int
    collective_id: int
    right_kind: RightKind
    right_uid: int
    starts_on: date
    ends_on: date
    status: Literal["open", "confirmed", "withdrawn"]
    objections: list[Objection]


# --- bodies


class DocumentUpload(Form):
    collective_id: Id
    kind: str = ""  # the service names the choice in plain words
    title: TitleText = ""


class CertificateIssue(Body):
    right_kind: RightKind
    right_uid: Id
    issued_on: Day = None
    reason: Reason
    source_document_id: Id | None = None
    number: CertificateNumber | None = None


class CertificateSuccessor(Body):
    reason: Reason
    issued_on: Day = None
    source_document_id: Id | None = None
    number: CertificateNumber | None = None


class CertificateCancel(Body):
    reason: Reason
    ended_on: Day = None
    source_document_id: Id | None = None
    number: CertificateNumber | None = Field(None, description="Accepted and ignored")


class NoticeOpen(Body):
    right_kind: RightKind
    right_uid: Id
    starts_on: Day = None
    days: int | None = Field(None, description="Default: the county's PUBLIC_NOTICE_DAYS")


class ObjectionLodge(Body):
    lodged_by: NameText
    text: NoteText
    lodged_on: Day = None


class ObjectionResolve(Body):
    status: Literal["upheld", "dismissed"]
    resolution: NoteText
    resolved_on: Day = None


class NoticeConfirm(Body):
    reason: Reason | None = None
    source_document_id: Id | None = None


class NoticeWithdraw(Body):
    reason: Reason


# --- output


def _document_json(doc: SourceDocument) -> dict[str, Any]:
    return {
        "document_id": doc.id,
        "collective_id": doc.collective_id,
        "kind": doc.kind,
        "title": doc.title,
        "filename": doc.filename,
        "media_type": doc.media_type,
        "size": doc.size,
        "sha256": doc.sha256,
        "uploaded_at": doc.uploaded_at.isoformat(timespec="seconds") if doc.uploaded_at else None,
        "uploaded_by": doc.uploaded_by,
        "content_url": url_for("api.api_document_content", document_id=doc.id),
    }


def _certificate_json(cert: CertificateRow, *, content: bool = False) -> dict[str, Any]:
    """A certificate; with ``content``, what it certified (its snapshot, ID numbers as the caller
    may see them) and what changed in the registry since."""
    out = {
        "certificate_id": cert.id,
        "right_kind": cert.right_kind,
        "right_uid": cert.right_uid,
        "collective_id": cert.collective_id,
        "household_uid": cert.household_uid,
        "number": cert.number,
        "status": cert.status,
        "issue_kind": cert.issue_kind,
        "issued_on": cert.issued_on.isoformat(),
        "ended_on": cert.ended_on.isoformat() if cert.ended_on else None,
        "reason": cert.reason,
        "replaces_id": cert.replaces_id,
        "source_document_id": cert.source_document_id,
        "snapshot_sha256": cert.snapshot_sha256,
    }
    if content:
        view = cert_service.certificate_view(cert)
        out["has_snapshot"] = view.has_snapshot
        out["snapshot"] = certificate_content_for(current_user, view.content)
        out["changed_since_issue"] = view.changed_since_issue
        out["changes"] = view.changes
    return out


def _objection_json(o: ObjectionRow) -> dict[str, Any]:
    return {
        "objection_id": o.id,
        "notice_id": o.notice_id,
        "lodged_by": o.lodged_by,
        "lodged_on": o.lodged_on.isoformat(),
        "text": o.text,
        "status": o.status,
        "resolution": o.resolution,
        "resolved_on": o.resolved_on.isoformat() if o.resolved_on else None,
    }


def _notice_json(notice: PublicNoticeRow) -> dict[str, Any]:
    return {
        "notice_id": notice.id,
        "collective_id": notice.collective_id,
        "right_kind": notice.right_kind,
        "right_uid": notice.right_uid,
        "starts_on": notice.starts_on.isoformat(),
        "ends_on": notice.ends_on.isoformat(),
        "status": notice.status,
        "objections": [_objection_json(o) for o in notice_service.objections_of(notice.id)],
    }


def _today(day: date | None) -> date:
    return day if day is not None else county_today()


_NOT_FOUND = {404: "Not found or out of reach"}


# --- documents


@bp.post("/documents")
@roles_required(*EDITORS)
@operation(
    "Store a source document (PDF, JPEG or PNG, decided by its bytes)",
    description="A multipart/form-data upload with the fields collective_id, kind (contract, "
    "resolution, approval, declaration, survey, death_record, land_at_new_residence, other), "
    "title (at most 200 characters) and file. Bytes already stored answer the existing "
    "document.",
    form=DocumentUpload,
    files=("file",),
    answer=Document,
    status=201,
    refusals={
        404: "The collective is not found or out of reach",
        422: "No file, a file of another type or too large, no kind or no title",
    },
)
def api_document_upload(form: DocumentUpload):
    load_or_404(Collective, form.collective_id, edit=True)
    upload = request.files.get("file")
    if upload is None:
        raise DomainError("file_required", _("Choose a file to upload."), field="file")
    doc = doc_service.store_document(
        form.collective_id,
        form.kind,
        form.title,
        upload.filename,
        upload.stream,
        declared_media_type=upload.mimetype,
    )
    db.session.commit()
    return jsonify(_document_json(doc)), 201


@bp.get("/documents/<int:document_id>")
@roles_required(*READERS)
@operation(
    "A source document's metadata, integrity and the records citing it",
    answer=DocumentDetail,
    refusals=_NOT_FOUND,
)
def api_document(document_id: int):
    doc = load_or_404(SourceDocument, document_id)
    out = _document_json(doc)
    out["verified"] = doc_service.verify_document(doc)
    out["citations"] = [
        {
            "kind": c.kind,
            "uid": c.uid,
            "version": c.version,
            "begin": c.begin.isoformat(timespec="seconds") if c.begin else None,
            "end": c.end.isoformat(timespec="seconds") if c.end else None,
            "reason": c.reason,
            "certificate_id": c.row.id if c.kind == "certificate" else None,
        }
        for c in doc_service.citations(doc.id)
    ]
    return jsonify(out)


@bp.get("/documents/<int:document_id>/content")
@roles_required(*READERS)
@operation(
    "Download a source document's bytes (as an attachment)",
    content=("application/pdf", "image/jpeg", "image/png"),
    refusals=_NOT_FOUND,
)
def api_document_content(document_id: int):
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

_CERTIFICATE_REFUSED = {
    **_NOT_FOUND,
    422: "Refused: no reason, a wrong date or number, or a rule of the registry",
}


@bp.post("/certificates")
@roles_required(*EDITORS)
@operation(
    "Issue the certificate of a right confirmed after its public notice (one valid per right); "
    "refused while an overlap finding on its plots is open",
    body=CertificateIssue,
    answer=Certificate,
    status=201,
    refusals={
        404: "No current right with this number in reach",
        422: "Not confirmed, already certified, an open overlap, or bad input",
    },
)
def api_certificate_issue(body: CertificateIssue):
    right = cert_service.current_right(body.right_kind, body.right_uid, editor=current_user)
    cert = cert_service.issue_certificate(
        body.right_kind,
        right.uid,
        issued_on=_today(body.issued_on),
        reason=body.reason,
        source_document_id=body.source_document_id,
        number=body.number,
    )
    db.session.commit()
    return jsonify(_certificate_json(cert)), 201


@bp.get("/certificates/<int:certificate_id>")
@roles_required(*READERS, Role.FARMER)
@operation(
    "A certificate, what it certified and what changed since",
    answer=CertificateDetail,
    refusals=_NOT_FOUND,
)
def api_certificate(certificate_id: int):
    return jsonify(_certificate_json(load_or_404(CertificateRow, certificate_id), content=True))


def _certificate_action(certificate_id: int, call, day: date | None, body: Any):
    cert = load_or_404(CertificateRow, certificate_id, edit=True)
    result = call(
        cert.id,
        body.reason,
        _today(day),
        source_document_id=body.source_document_id,
        number=body.number,
    )
    db.session.commit()
    return jsonify(_certificate_json(result)), (201 if result.id != cert.id else 200)


@bp.post("/certificates/<int:certificate_id>/reissue")
@roles_required(*EDITORS)
@operation(
    "Re-issue (补发) a lost or damaged certificate; the old one is superseded",
    target=lambda certificate_id, **_: load_or_404(CertificateRow, certificate_id, edit=True),
    body=CertificateSuccessor,
    answer=Certificate,
    status=201,
    refusals=_CERTIFICATE_REFUSED,
)
def api_certificate_reissue(certificate_id: int, body: CertificateSuccessor):
    return _certificate_action(
        certificate_id, cert_service.reissue_certificate, body.issued_on, body
    )


@bp.post("/certificates/<int:certificate_id>/replace")
@roles_required(*EDITORS)
@operation(
    "Replace (换发) a certificate after a change of the right; the old one is superseded",
    target=lambda certificate_id, **_: load_or_404(CertificateRow, certificate_id, edit=True),
    body=CertificateSuccessor,
    answer=Certificate,
    status=201,
    refusals=_CERTIFICATE_REFUSED,
)
def api_certificate_replace(certificate_id: int, body: CertificateSuccessor):
    return _certificate_action(
        certificate_id, cert_service.replace_certificate, body.issued_on, body
    )


@bp.post("/certificates/<int:certificate_id>/cancel")
@roles_required(*EDITORS)
@operation(
    "Cancel (注销) a certificate",
    target=lambda certificate_id, **_: load_or_404(CertificateRow, certificate_id, edit=True),
    body=CertificateCancel,
    answer=Certificate,
    refusals=_CERTIFICATE_REFUSED,
)
def api_certificate_cancel(certificate_id: int, body: CertificateCancel):
    return _certificate_action(certificate_id, cert_service.cancel_certificate, body.ended_on, body)


# --- public notices


@bp.post("/notices")
@roles_required(*EDITORS)
@operation(
    "Put a registration on public notice (公示)",
    body=NoticeOpen,
    answer=PublicNotice,
    status=201,
    refusals={
        404: "No current right with this number in reach",
        422: "Starts in the past, a wrong number of days, not pending, already on notice",
    },
)
def api_notice_open(body: NoticeOpen):
    right = cert_service.current_right(body.right_kind, body.right_uid, editor=current_user)
    notice = notice_service.open_notice(
        body.right_kind, right.uid, _today(body.starts_on), body.days
    )
    db.session.commit()
    return jsonify(_notice_json(notice)), 201


@bp.get("/notices/<int:notice_id>")
@roles_required(*READERS)
@operation("A public notice with its objections", answer=PublicNotice, refusals=_NOT_FOUND)
def api_notice(notice_id: int):
    return jsonify(_notice_json(load_or_404(PublicNoticeRow, notice_id)))


@bp.post("/notices/<int:notice_id>/objections")
@roles_required(*EDITORS)
@operation(
    "Record an objection while the notice runs",
    target=lambda notice_id, **_: load_or_404(PublicNoticeRow, notice_id, edit=True),
    body=ObjectionLodge,
    answer=Objection,
    status=201,
    refusals={**_NOT_FOUND, 422: "The notice is not running that day, or bad input"},
)
def api_notice_objection(notice_id: int, body: ObjectionLodge):
    notice = load_or_404(PublicNoticeRow, notice_id, edit=True)
    objection = notice_service.lodge_objection(
        notice.id, body.lodged_by, body.text, _today(body.lodged_on)
    )
    db.session.commit()
    return jsonify(_objection_json(objection)), 201


@bp.post("/objections/<int:objection_id>/resolution")
@roles_required(*EDITORS)
@operation(
    "Decide an objection: upheld or dismissed, with reasons",
    target=lambda objection_id, **_: load_or_404(ObjectionRow, objection_id, edit=True),
    body=ObjectionResolve,
    answer=Objection,
    refusals={**_NOT_FOUND, 422: "Already decided, the notice closed, or bad input"},
)
def api_objection_resolution(objection_id: int, body: ObjectionResolve):
    objection = load_or_404(ObjectionRow, objection_id, edit=True)
    objection = notice_service.resolve_objection(
        objection.id, body.status, body.resolution, _today(body.resolved_on)
    )
    db.session.commit()
    return jsonify(_objection_json(objection))


@bp.post("/notices/<int:notice_id>/confirm")
@roles_required(*EDITORS)
@operation(
    "Confirm the registration after the notice period, no objection open",
    target=lambda notice_id, **_: load_or_404(PublicNoticeRow, notice_id, edit=True),
    body=NoticeConfirm,
    body_optional=True,
    answer=PublicNotice,
    refusals={
        **_NOT_FOUND,
        422: "The notice still runs, an objection is open or upheld, or an overlap is open",
    },
)
def api_notice_confirm(notice_id: int, body: NoticeConfirm):
    notice = load_or_404(PublicNoticeRow, notice_id, edit=True)
    notice = notice_service.confirm_registration(
        notice.id, reason=body.reason or None, source_document_id=body.source_document_id
    )
    db.session.commit()
    return jsonify(_notice_json(notice))


@bp.post("/notices/<int:notice_id>/withdraw")
@roles_required(*EDITORS)
@operation(
    "Withdraw an open public notice",
    target=lambda notice_id, **_: load_or_404(PublicNoticeRow, notice_id, edit=True),
    body=NoticeWithdraw,
    answer=PublicNotice,
    refusals={**_NOT_FOUND, 422: "No reason, or the notice is no longer open"},
)
def api_notice_withdraw(notice_id: int, body: NoticeWithdraw):
    notice = load_or_404(PublicNoticeRow, notice_id, edit=True)
    notice = notice_service.withdraw_notice(notice.id, body.reason)
    db.session.commit()
    return jsonify(_notice_json(notice))
