"""Bulk import and export over the API: the same services as the web pages (app.imports.jobs)."""

from __future__ import annotations

import os
import tempfile

from flask import after_this_request, jsonify, request, send_file
from flask_babel import gettext as _

from app.api import bp
from app.api.core import bool_field, json_body
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError, NotFound
from app.divisions.models import Collective
from app.extensions import db
from app.imports import export as exporter
from app.imports import jobs, liveness, staging
from app.imports.models import ImportJob

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


def job_json(job: ImportJob) -> dict:
    error = liveness.shown_error(job)  # a job whose process stopped reads as failed
    return {
        "job_id": job.id,
        "kind": job.kind,
        "collective_id": job.collective_id,
        "status": liveness.shown_status(job),
        "phase": None if liveness.stopped(job) else job.phase,
        "done": job.done,
        "total": job.total,
        "filename": job.filename,
        "sha256": job.sha256,
        "promoted": job.promoted,
        "summary": job.summary,
        "error": (
            {"code": error[0], "message_zh": error[1], "message_en": error[2]} if error else None
        ),
    }


def _job(job_id: int, *, edit: bool = False) -> ImportJob:
    job = load_or_404(ImportJob, job_id)
    if edit and not can_edit(_user(), job):
        raise NotFound("job", _("Not found."))
    return job


def _user():
    from flask_login import current_user

    return current_user


@bp.post("/collectives/<int:collective_id>/imports")
@roles_required(Role.COLLECTIVE_ADMIN)
def api_import_upload(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    if not can_edit(_user(), collective):
        raise NotFound("collective", _("Not found."))
    upload = request.files.get("file")
    if upload is None:
        raise DomainError("file_required", _("Send the file as 'file'."), field="file")
    members = request.files.get("members")
    job = jobs.upload(
        collective,
        request.form.get("kind", "parcels"),
        upload.stream,
        upload.filename or "upload",
        crs=request.form.get("crs") or None,
        layer=request.form.get("layer") or None,
        members_stream=members.stream if members else None,
        members_filename=members.filename if members else None,
        effective_on=request.form.get("effective_on") or None,
    )
    db.session.commit()
    if job.status != "needs_mapping":
        jobs.queue_validation(job)
    db.session.refresh(job)
    return jsonify(job_json(job)), 202


@bp.get("/imports/<int:job_id>")
@roles_required(*READERS)
def api_import_job(job_id: int):
    return jsonify(job_json(_job(job_id)))


@bp.get("/imports/<int:job_id>/report")
@roles_required(*READERS)
def api_import_report(job_id: int):
    job = _job(job_id)
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        staging.write_report(db.session, job, out)

    @after_this_request
    def _cleanup(response):
        os.unlink(path)
        return response

    return send_file(path, mimetype="application/json")


@bp.post("/imports/<int:job_id>/mapping")
@roles_required(Role.COLLECTIVE_ADMIN)
def api_import_mapping(job_id: int):
    job = _job(job_id, edit=True)
    body = json_body()
    chosen = body.get("mapping")
    if not isinstance(chosen, dict) or not all(isinstance(v, str) for v in chosen.values()):
        raise DomainError("mapping", _("Give the mapping as an object of field names."))
    jobs.set_mapping(job, chosen)
    db.session.commit()
    jobs.queue_validation(job)
    db.session.refresh(job)
    return jsonify(job_json(job)), 202


@bp.post("/imports/<int:job_id>/promote")
@roles_required(Role.COLLECTIVE_ADMIN)
def api_import_promote(job_id: int):
    job = _job(job_id, edit=True)
    valid_only = bool_field(json_body(optional=True), "valid_only")
    jobs.request_promotion(job, valid_only=valid_only)
    db.session.commit()
    jobs.queue_promotion(job, valid_only=valid_only)
    db.session.refresh(job)
    return jsonify(job_json(job)), 202


@bp.post("/imports/<int:job_id>/discard")
@roles_required(Role.COLLECTIVE_ADMIN)
def api_import_discard(job_id: int):
    job = _job(job_id, edit=True)
    jobs.discard_job(job)
    db.session.commit()
    db.session.refresh(job)
    return jsonify(job_json(job))


@bp.post("/collectives/<int:collective_id>/export")
@roles_required(*READERS)
def api_collective_export(collective_id: int):
    """Export a collective's plots: a POST, because every export is written to the audit trail."""
    collective = load_or_404(Collective, collective_id)
    fmt = request.args.get("format", "gpkg")
    if fmt not in exporter.FORMATS:
        raise DomainError("format", _("Unknown export format."), field="format")
    fd, path = tempfile.mkstemp(suffix=exporter.FORMATS[fmt][1])
    os.close(fd)
    result = exporter.export_parcels(db.session, fmt, path, collective_id=collective.id)
    db.session.commit()

    @after_this_request
    def _cleanup(response):
        os.unlink(path)
        return response

    return send_file(
        path,
        mimetype=result.media_type,
        as_attachment=True,
        download_name=exporter.download_name(collective, fmt),
    )


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
    "422": {"description": "Refused: the error names the code, message and field"},
}
_JOB = {
    "type": "object",
    "properties": {
        "job_id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["parcels", "households"]},
        "collective_id": {"type": ["integer", "null"]},
        "status": {
            "type": "string",
            "enum": [
                "needs_mapping",
                "queued",
                "running",
                "validated",
                "promoting",
                "promoted",
                "refused",
                "failed",
                "discarded",
            ],
        },
        "phase": {"type": ["string", "null"]},
        "done": {"type": "integer"},
        "total": {"type": "integer"},
        "filename": {"type": "string"},
        "sha256": {"type": "string"},
        "promoted": {"type": "integer"},
        "summary": {
            "type": "object",
            "description": "features, valid, invalid, warnings, overlaps, …; problem_kinds: per "
            "kind of problem its total and how many the report lists (at most report_limit)",
        },
        "error": {"type": ["object", "null"]},
    },
}
_JOB_RESPONSE = {"description": "The import job", "content": {"application/json": {"schema": _JOB}}}

OPENAPI_PATHS: dict[str, dict] = {
    "/collectives/{collective_id}/imports": {
        "post": {
            "summary": "Upload a parcels (DK) or households (CBF) file; checking starts in the "
            "background",
            "parameters": [_id_param("collective_id", "Collective id")],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "kind": {"type": "string", "enum": ["parcels", "households"]},
                                "members": {"type": "string", "format": "binary"},
                                "crs": {"type": "string", "description": "e.g. EPSG:4490"},
                                "layer": {"type": "string"},
                                "effective_on": {
                                    "type": "string",
                                    "format": "date",
                                    "description": "the day the data took legal effect (not "
                                    "in the future); default: the day of promotion",
                                },
                            },
                            "required": ["file"],
                        }
                    }
                },
            },
            "responses": {"202": _JOB_RESPONSE, **_ERRORS},
        }
    },
    "/imports/{job_id}": {
        "get": {
            "summary": "An import job: status, progress and summary",
            "parameters": [_id_param("job_id", "Import job id")],
            "responses": {"200": _JOB_RESPONSE, **_ERRORS},
        }
    },
    "/imports/{job_id}/report": {
        "get": {
            "summary": "The full report: features, valid, invalid, overlaps, warnings, problems",
            "parameters": [_id_param("job_id", "Import job id")],
            "responses": {
                "200": {
                    "description": "The report",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_ERRORS,
            },
        }
    },
    "/imports/{job_id}/mapping": {
        "post": {
            "summary": "Map the file's fields to NY/T 2539 fields and check the file again",
            "parameters": [_id_param("job_id", "Import job id")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "mapping": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                    "description": "{NY/T field: file field}, e.g. "
                                    '{"DKBM": "code"}',
                                }
                            },
                            "required": ["mapping"],
                        }
                    }
                },
            },
            "responses": {"202": _JOB_RESPONSE, **_ERRORS},
        }
    },
    "/imports/{job_id}/promote": {
        "post": {
            "summary": "Promote a checked import into the registry (all or nothing, or valid only)",
            "parameters": [_id_param("job_id", "Import job id")],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"valid_only": {"type": "boolean", "default": False}},
                        }
                    }
                },
            },
            "responses": {"202": _JOB_RESPONSE, **_ERRORS},
        }
    },
    "/imports/{job_id}/discard": {
        "post": {
            "summary": "Discard an import that was not promoted (also one whose process stopped)",
            "parameters": [_id_param("job_id", "Import job id")],
            "responses": {"200": _JOB_RESPONSE, **_ERRORS},
        }
    },
    "/collectives/{collective_id}/export": {
        "post": {
            "summary": "Export a collective's current plots (NY/T 2539 DK layout); audited",
            "parameters": [
                _id_param("collective_id", "Collective id"),
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": sorted(exporter.FORMATS)},
                },
            ],
            "responses": {
                "200": {
                    "description": "The file (formula-like text in XLSX and CSV is plain text)",
                    "content": {
                        media: {"schema": {"type": "object"}}
                        if media.endswith("json")
                        else {"schema": {"type": "string", "format": "binary"}}
                        for media in sorted({m for _d, _e, m in exporter.FORMATS.values()})
                    },
                },
                **_ERRORS,
            },
        }
    },
}
