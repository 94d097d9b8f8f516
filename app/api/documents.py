"""JSON API for source documents, certificates and public notices (same services as the pages)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.api import bp
from app.api.core import date_value, int_field, json_body, roles_required
from app.auth.models import Role
from app.auth.scope import load_or_404
from app.core.errors import DomainError
from app.core.inputs import parse_id
from app.divisions.models import Collective
from app.extensions import db
from app.registry import certificates as cert_service
from app.registry import documents as doc_service
from app.registry import notices as notice_service
from app.registry.inputs import openapi_text
from app.registry.models import Certificate, Objection, PublicNotice, SourceDocument
from app.registry.present import certificate_content_for

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
EDITORS = (Role.COLLECTIVE_ADMIN,)


# --- input


def _date(body: dict, name: str, *, default: date | None = None) -> date:
    raw = body.get(name)
    if raw in (None, "") and default is not None:
        return default
    value = date_value(raw, name) if isinstance(raw, str) else None
    if value is None:
        raise DomainError("date", _("Give a date as YYYY-MM-DD."), field=name)
    return value


def _int(body: dict, name: str, *, required: bool = True) -> int | None:
    """A whole number, also as digits in a text (multipart form fields are text)."""
    raw = body.get(name)
    if raw is None and not required:
        return None
    if isinstance(raw, str):
        value = parse_id(raw.strip())
        if value is None:
            raise DomainError("integer", _("Give a whole number."), field=name)
        return value
    return int_field(body, name, required=required)


def _str(body: dict, name: str) -> str:
    raw = body.get(name)
    return raw if isinstance(raw, str) else ""


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


def _certificate_json(cert: Certificate, *, content: bool = False) -> dict[str, Any]:
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


def _objection_json(o: Objection) -> dict[str, Any]:
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


def _notice_json(notice: PublicNotice) -> dict[str, Any]:
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


# --- documents


@bp.post("/documents")
@roles_required(*EDITORS)
def api_document_upload():
    """Store an uploaded source document (multipart: collective_id, kind, title, file)."""
    form = request.form
    collective_id = _int(dict(form), "collective_id")
    load_or_404(Collective, collective_id, edit=True)
    upload = request.files.get("file")
    if upload is None:
        raise DomainError("file_required", _("Choose a file to upload."), field="file")
    doc = doc_service.store_document(
        collective_id,
        form.get("kind", ""),
        form.get("title", ""),
        upload.filename,
        upload.stream,
        declared_media_type=upload.mimetype,
    )
    db.session.commit()
    return jsonify(_document_json(doc)), 201


@bp.get("/documents/<int:document_id>")
@roles_required(*READERS)
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


@bp.post("/certificates")
@roles_required(*EDITORS)
def api_certificate_issue():
    body = json_body()
    right_kind = _str(body, "right_kind")
    right = cert_service.current_right(right_kind, _int(body, "right_uid"), editor=current_user)
    cert = cert_service.issue_certificate(
        right_kind,
        right.uid,
        issued_on=_date(body, "issued_on", default=date.today()),
        reason=_str(body, "reason"),
        source_document_id=_int(body, "source_document_id", required=False),
        number=body.get("number"),
    )
    db.session.commit()
    return jsonify(_certificate_json(cert)), 201


@bp.get("/certificates/<int:certificate_id>")
@roles_required(*READERS, Role.FARMER)
def api_certificate(certificate_id: int):
    return jsonify(_certificate_json(load_or_404(Certificate, certificate_id), content=True))


def _certificate_action(certificate_id: int, call, date_name: str):
    cert = load_or_404(Certificate, certificate_id, edit=True)
    body = json_body()
    result = call(
        cert.id,
        _str(body, "reason"),
        _date(body, date_name, default=date.today()),
        source_document_id=_int(body, "source_document_id", required=False),
        number=body.get("number"),
    )
    db.session.commit()
    return jsonify(_certificate_json(result)), (201 if result.id != cert.id else 200)


@bp.post("/certificates/<int:certificate_id>/reissue")
@roles_required(*EDITORS)
def api_certificate_reissue(certificate_id: int):
    return _certificate_action(certificate_id, cert_service.reissue_certificate, "issued_on")


@bp.post("/certificates/<int:certificate_id>/replace")
@roles_required(*EDITORS)
def api_certificate_replace(certificate_id: int):
    return _certificate_action(certificate_id, cert_service.replace_certificate, "issued_on")


@bp.post("/certificates/<int:certificate_id>/cancel")
@roles_required(*EDITORS)
def api_certificate_cancel(certificate_id: int):
    return _certificate_action(certificate_id, cert_service.cancel_certificate, "ended_on")


# --- public notices


@bp.post("/notices")
@roles_required(*EDITORS)
def api_notice_open():
    body = json_body()
    right_kind = _str(body, "right_kind")
    right = cert_service.current_right(right_kind, _int(body, "right_uid"), editor=current_user)
    notice = notice_service.open_notice(
        right_kind,
        right.uid,
        _date(body, "starts_on", default=date.today()),
        _int(body, "days", required=False),
    )
    db.session.commit()
    return jsonify(_notice_json(notice)), 201


@bp.get("/notices/<int:notice_id>")
@roles_required(*READERS)
def api_notice(notice_id: int):
    return jsonify(_notice_json(load_or_404(PublicNotice, notice_id)))


@bp.post("/notices/<int:notice_id>/objections")
@roles_required(*EDITORS)
def api_notice_objection(notice_id: int):
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    body = json_body()
    objection = notice_service.lodge_objection(
        notice.id,
        _str(body, "lodged_by"),
        _str(body, "text"),
        _date(body, "lodged_on", default=date.today()),
    )
    db.session.commit()
    return jsonify(_objection_json(objection)), 201


@bp.post("/objections/<int:objection_id>/resolution")
@roles_required(*EDITORS)
def api_objection_resolution(objection_id: int):
    objection = load_or_404(Objection, objection_id, edit=True)
    body = json_body()
    objection = notice_service.resolve_objection(
        objection.id,
        _str(body, "status"),
        _str(body, "resolution"),
        _date(body, "resolved_on", default=date.today()),
    )
    db.session.commit()
    return jsonify(_objection_json(objection))


@bp.post("/notices/<int:notice_id>/confirm")
@roles_required(*EDITORS)
def api_notice_confirm(notice_id: int):
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    body = json_body(optional=True)
    notice = notice_service.confirm_registration(
        notice.id,
        reason=_str(body, "reason") or None,
        source_document_id=_int(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_notice_json(notice))


@bp.post("/notices/<int:notice_id>/withdraw")
@roles_required(*EDITORS)
def api_notice_withdraw(notice_id: int):
    notice = load_or_404(PublicNotice, notice_id, edit=True)
    body = json_body()
    notice = notice_service.withdraw_notice(notice.id, _str(body, "reason"))
    db.session.commit()
    return jsonify(_notice_json(notice))


# --- OpenAPI


def _id_param(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer"},
    }


_ERRORS = {
    "404": {"description": "Not found, or outside the caller's reach"},
    "422": {"description": "Refused: the error names the code, message, field and rule"},
}
_DATE = {"type": "string", "format": "date"}
_DOCUMENT = {
    "type": "object",
    "properties": {
        "document_id": {"type": "integer"},
        "collective_id": {"type": ["integer", "null"]},
        "kind": {"type": "string"},
        "title": {"type": "string"},
        "filename": {"type": ["string", "null"]},
        "media_type": {"type": "string", "enum": ["application/pdf", "image/jpeg", "image/png"]},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
        "uploaded_at": {"type": ["string", "null"]},
        "uploaded_by": {"type": ["string", "null"]},
        "content_url": {"type": "string"},
    },
}
_CERTIFICATE = {
    "type": "object",
    "properties": {
        "certificate_id": {"type": "integer"},
        "right_kind": {"type": "string", "enum": list(cert_service.RIGHT_MODELS)},
        "right_uid": {"type": "integer"},
        "collective_id": {"type": "integer"},
        "household_uid": {"type": ["integer", "null"]},
        "number": {"type": "string"},
        "status": {"type": "string", "enum": ["valid", "superseded", "cancelled"]},
        "issue_kind": {"type": "string", "enum": ["issue", "reissue", "replace"]},
        "issued_on": _DATE,
        "ended_on": {"type": ["string", "null"], "format": "date"},
        "reason": {"type": ["string", "null"]},
        "replaces_id": {"type": ["integer", "null"]},
        "source_document_id": {"type": ["integer", "null"]},
        "snapshot_sha256": {
            "type": ["string", "null"],
            "description": "SHA-256 of the canonical JSON snapshot; null if issued before "
            "snapshots were kept",
        },
        "has_snapshot": {"type": "boolean", "description": "Only when reading one certificate"},
        "snapshot": {
            "type": "object",
            "description": "What the certificate certified (or, without a snapshot, the "
            "registry now): holder, co-holders, plots, right; only when reading one",
        },
        "changed_since_issue": {"type": "boolean"},
        "changes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Differences between the snapshot and the registry now, in words",
        },
    },
}
_OBJECTION = {
    "type": "object",
    "properties": {
        "objection_id": {"type": "integer"},
        "notice_id": {"type": "integer"},
        "lodged_by": {"type": "string"},
        "lodged_on": _DATE,
        "text": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "upheld", "dismissed"]},
        "resolution": {"type": ["string", "null"]},
        "resolved_on": {"type": ["string", "null"], "format": "date"},
    },
}
_NOTICE = {
    "type": "object",
    "properties": {
        "notice_id": {"type": "integer"},
        "collective_id": {"type": "integer"},
        "right_kind": {"type": "string"},
        "right_uid": {"type": "integer"},
        "starts_on": _DATE,
        "ends_on": _DATE,
        "status": {"type": "string", "enum": ["open", "confirmed", "withdrawn"]},
        "objections": {"type": "array", "items": _OBJECTION},
    },
}


def _json_body(properties: dict, required: list[str]) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": properties, "required": required}
            }
        },
    }


def _ok(description: str, schema: dict, status: str = "200") -> dict:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


_CERT_ACTION_BODY = {
    "reason": openapi_text("reason"),
    "source_document_id": {"type": "integer"},
    "number": {
        "type": "string",
        "maxLength": cert_service.NUMBER_MAX,
        "description": "Homestead only: the real-estate certificate number (不动产权证书号) "
        "as the real-estate registry printed it; other numbers are the right's own code",
    },
}

OPENAPI_PATHS: dict[str, dict] = {
    "/documents": {
        "post": {
            "summary": "Store a source document (PDF, JPEG or PNG, decided by its bytes)",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "collective_id": {"type": "integer"},
                                "kind": {"type": "string", "enum": list(doc_service.KINDS)},
                                "title": {"type": "string", "maxLength": 200},
                                "file": {"type": "string", "format": "binary"},
                            },
                            "required": ["collective_id", "kind", "title", "file"],
                        }
                    }
                },
            },
            "responses": {
                **_ok(
                    "The stored document (an existing one if the bytes were known)",
                    _DOCUMENT,
                    "201",
                ),
                **_ERRORS,
            },
        }
    },
    "/documents/{document_id}": {
        "get": {
            "summary": "A source document's metadata, integrity and the records citing it",
            "parameters": [_id_param("document_id", "Source document id")],
            "responses": {**_ok("The document", _DOCUMENT), **_ERRORS},
        }
    },
    "/documents/{document_id}/content": {
        "get": {
            "summary": "Download a source document's bytes",
            "parameters": [_id_param("document_id", "Source document id")],
            "responses": {
                "200": {
                    "description": "The file, as an attachment",
                    "content": {
                        t: {"schema": {"type": "string", "format": "binary"}}
                        for t in ("application/pdf", "image/jpeg", "image/png")
                    },
                },
                **_ERRORS,
            },
        }
    },
    "/certificates": {
        "post": {
            "summary": "Issue the certificate of a right confirmed after its public notice (one "
            "valid per right); refused while an overlap finding on its plots is open",
            "requestBody": _json_body(
                {
                    "right_kind": {"type": "string", "enum": list(cert_service.RIGHT_MODELS)},
                    "right_uid": {"type": "integer"},
                    "issued_on": _DATE,
                    **_CERT_ACTION_BODY,
                },
                ["right_kind", "right_uid", "reason"],
            ),
            "responses": {**_ok("The new certificate", _CERTIFICATE, "201"), **_ERRORS},
        }
    },
    "/certificates/{certificate_id}": {
        "get": {
            "summary": "A certificate",
            "parameters": [_id_param("certificate_id", "Certificate id")],
            "responses": {**_ok("The certificate", _CERTIFICATE), **_ERRORS},
        }
    },
    "/certificates/{certificate_id}/reissue": {
        "post": {
            "summary": "Re-issue (补发) a lost or damaged certificate; the old one is superseded",
            "parameters": [_id_param("certificate_id", "Certificate id")],
            "requestBody": _json_body({**_CERT_ACTION_BODY, "issued_on": _DATE}, ["reason"]),
            "responses": {**_ok("The new certificate", _CERTIFICATE, "201"), **_ERRORS},
        }
    },
    "/certificates/{certificate_id}/replace": {
        "post": {
            "summary": "Replace (换发) a certificate after a change of the right",
            "parameters": [_id_param("certificate_id", "Certificate id")],
            "requestBody": _json_body({**_CERT_ACTION_BODY, "issued_on": _DATE}, ["reason"]),
            "responses": {**_ok("The new certificate", _CERTIFICATE, "201"), **_ERRORS},
        }
    },
    "/certificates/{certificate_id}/cancel": {
        "post": {
            "summary": "Cancel (注销) a certificate",
            "parameters": [_id_param("certificate_id", "Certificate id")],
            "requestBody": _json_body({**_CERT_ACTION_BODY, "ended_on": _DATE}, ["reason"]),
            "responses": {**_ok("The cancelled certificate", _CERTIFICATE), **_ERRORS},
        }
    },
    "/notices": {
        "post": {
            "summary": "Put a registration on public notice (公示)",
            "requestBody": _json_body(
                {
                    "right_kind": {"type": "string", "enum": list(cert_service.RIGHT_MODELS)},
                    "right_uid": {"type": "integer"},
                    "starts_on": _DATE,
                    "days": {"type": "integer", "description": "Default PUBLIC_NOTICE_DAYS"},
                },
                ["right_kind", "right_uid"],
            ),
            "responses": {**_ok("The notice", _NOTICE, "201"), **_ERRORS},
        }
    },
    "/notices/{notice_id}": {
        "get": {
            "summary": "A public notice with its objections",
            "parameters": [_id_param("notice_id", "Public notice id")],
            "responses": {**_ok("The notice", _NOTICE), **_ERRORS},
        }
    },
    "/notices/{notice_id}/objections": {
        "post": {
            "summary": "Record an objection while the notice runs",
            "parameters": [_id_param("notice_id", "Public notice id")],
            "requestBody": _json_body(
                {"lodged_by": {"type": "string"}, "text": {"type": "string"}, "lodged_on": _DATE},
                ["lodged_by", "text"],
            ),
            "responses": {**_ok("The objection", _OBJECTION, "201"), **_ERRORS},
        }
    },
    "/objections/{objection_id}/resolution": {
        "post": {
            "summary": "Decide an objection: upheld or dismissed, with reasons",
            "parameters": [_id_param("objection_id", "Objection id")],
            "requestBody": _json_body(
                {
                    "status": {"type": "string", "enum": ["upheld", "dismissed"]},
                    "resolution": {"type": "string"},
                    "resolved_on": _DATE,
                },
                ["status", "resolution"],
            ),
            "responses": {**_ok("The decided objection", _OBJECTION), **_ERRORS},
        }
    },
    "/notices/{notice_id}/confirm": {
        "post": {
            "summary": "Confirm the registration after the notice period, no objection open",
            "parameters": [_id_param("notice_id", "Public notice id")],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "reason": openapi_text("reason"),
                                "source_document_id": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "responses": {**_ok("The confirmed notice", _NOTICE), **_ERRORS},
        }
    },
    "/notices/{notice_id}/withdraw": {
        "post": {
            "summary": "Withdraw an open public notice",
            "parameters": [_id_param("notice_id", "Public notice id")],
            "requestBody": _json_body({"reason": openapi_text("reason")}, ["reason"]),
            "responses": {**_ok("The withdrawn notice", _NOTICE), **_ERRORS},
        }
    },
}
