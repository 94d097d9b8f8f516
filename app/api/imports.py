"""Bulk import and export over the API: the same services as the web pages (app.imports.jobs).

Upload (multipart) → checking in the background → the report → promotion, each a call of the
import services; another collective's job or collective is a 404.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Literal

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import ConfigDict, Field

from app.api import bp
from app.api.schema import Answer, Body, Form, Query, operation
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError, NotFound
from app.core.web import send_temporary
from app.divisions.models import Collective
from app.extensions import db
from app.imports import export as exporter
from app.imports import jobs, kinds, liveness, staging
from app.imports.models import ImportJob as ImportJobRow

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)

JobStatus = Literal[
    "needs_mapping",
    "queued",
    "running",
    "validated",
    "promoting",
    "promoted",
    "refused",
    "failed",
    "discarded",
]
ExportFormat = Literal[tuple(sorted(exporter.FORMATS))]  # type: ignore[valid-type]


# --- answers


class ImportJobError(Answer):
    code: str
    message_zh: str
    message_en: str


class ImportJob(Answer):
    """The import job"""

    job_id: int
    kind: Literal["parcels", "households"]
    collective_id: int | None
    status: JobStatus = Field(description="A job whose process stopped reads as failed")
    phase: str | None = Field(description="reading / checking / promoting; null when stopped")
    done: int
    total: int
    filename: str
    sha256: str
    promoted: int
    summary: dict[str, Any] = Field(
        description="features, valid, invalid, warnings, overlaps, …; problem_kinds: per kind "
        "of problem its total and how many the report lists (at most report_limit)"
    )
    error: ImportJobError | None


class ImportReportProblem(Answer):
    index: int | None = Field(description="The feature's place in the file")
    code: str | None
    problem: str
    severity: Literal["error", "warning"]
    message_zh: str | None
    message_en: str | None


class ImportReportOverlap(Answer):
    a: dict[str, Any] = Field(description="The file's plot: index, code")
    b: dict[str, Any] = Field(description="The other plot: index and code (file) or uid and code")
    area_m2: float
    with_: Literal["file", "registry"] = Field(alias="with")


class ImportReport(Answer):
    """The report, with the job's summary figures (features, valid, invalid, …) at the top"""

    model_config = ConfigDict(extra="allow")

    job: int
    kind: Literal["parcels", "households"]
    file: str
    sha256: str
    status: JobStatus
    promoted: int
    overlap_count: int | None
    more_of_kind: dict[str, int] = Field(
        description="Per kind the report lists only the first of: how many more there are"
    )
    overlaps: list[ImportReportOverlap]
    problems: list[ImportReportProblem]


# --- bodies and query


class ImportUpload(Form):
    kind: str = "parcels"  # the service names the choice in plain words
    crs: str | None = None
    layer: str | None = None
    effective_on: str | None = None  # the service reads the date and refuses the future


class ImportMapping(Body):
    mapping: dict[str, str] = Field(description='{NY/T field: file field}, e.g. {"DKBM": "code"}')


class ImportPromote(Body):
    valid_only: bool = Field(False, description="Promote the rows without errors only")


class ExportQuery(Query):
    format: ExportFormat = "gpkg"


def job_json(job: ImportJobRow) -> dict:
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


def _job(job_id: int, *, edit: bool = False) -> ImportJobRow:
    job = load_or_404(ImportJobRow, job_id)
    if job.kind not in kinds.BUILTIN:  # a kind brought from outside has its own endpoints
        raise NotFound("job", _("Not found."))
    if edit and not can_edit(current_user, job):
        raise NotFound("job", _("Not found."))
    return job


_NOT_FOUND = {404: "Not found or out of reach"}


@bp.post("/collectives/<int:collective_id>/imports")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Upload a parcels (DK) or households (CBF) file; checking starts in the background",
    description="A multipart/form-data upload with the fields file (required), kind (parcels "
    "or households; default parcels), members (households: the CBF_JTCY file), crs (e.g. "
    "EPSG:4490), layer, and effective_on (YYYY-MM-DD: the day the data took legal effect, not "
    "in the future; default: the day of promotion).",
    form=ImportUpload,
    files=("file", "members"),
    target=lambda collective_id: load_or_404(Collective, collective_id, edit=True),
    answer=ImportJob,
    status=202,
    refusals={
        404: "The collective is not found or out of reach",
        422: "No file, a file that cannot be read, a wrong kind, CRS or date",
    },
)
def api_import_upload(collective_id: int, target: Collective, form: ImportUpload):
    collective = target
    upload = request.files.get("file")
    if upload is None:
        raise DomainError("file_required", _("Send the file as 'file'."), field="file")
    members = request.files.get("members")
    job = jobs.upload(
        collective,
        form.kind,
        upload.stream,
        upload.filename or "upload",
        crs=form.crs or None,
        layer=form.layer or None,
        members_stream=members.stream if members else None,
        members_filename=members.filename if members else None,
        effective_on=form.effective_on or None,
    )
    db.session.commit()
    if job.status != "needs_mapping":
        jobs.queue_validation(job)
    db.session.refresh(job)
    return jsonify(job_json(job)), 202


@bp.get("/imports/<int:job_id>")
@roles_required(*READERS)
@operation("An import job: status, progress and summary", answer=ImportJob, refusals=_NOT_FOUND)
def api_import_job(job_id: int):
    return jsonify(job_json(_job(job_id)))


@bp.get("/imports/<int:job_id>/report")
@roles_required(*READERS)
@operation(
    "The full report: features, valid, invalid, overlaps, warnings, problems",
    answer=ImportReport,
    refusals=_NOT_FOUND,
)
def api_import_report(job_id: int):
    job = _job(job_id)
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        staging.write_report(db.session, job, out)
    return send_temporary(path, mimetype="application/json")


@bp.post("/imports/<int:job_id>/mapping")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Map the file's fields to NY/T 2539 fields and check the file again",
    target=lambda job_id, **_: load_or_404(ImportJobRow, job_id, edit=True),
    body=ImportMapping,
    answer=ImportJob,
    status=202,
    refusals={**_NOT_FOUND, 422: "The job cannot change any more, or a field the file lacks"},
)
def api_import_mapping(job_id: int, body: ImportMapping):
    job = _job(job_id, edit=True)
    jobs.set_mapping(job, body.mapping)
    db.session.commit()
    jobs.queue_validation(job)
    db.session.refresh(job)
    return jsonify(job_json(job)), 202


@bp.post("/imports/<int:job_id>/promote")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Promote a checked import into the registry (all or nothing, or valid only)",
    target=lambda job_id, **_: load_or_404(ImportJobRow, job_id, edit=True),
    body=ImportPromote,
    body_optional=True,
    answer=ImportJob,
    status=202,
    refusals={**_NOT_FOUND, 422: "Not checked yet, already promoted, or nothing to promote"},
)
def api_import_promote(job_id: int, body: ImportPromote):
    job = _job(job_id, edit=True)
    jobs.request_promotion(job, valid_only=body.valid_only)
    db.session.commit()
    jobs.queue_promotion(job, valid_only=body.valid_only)
    db.session.refresh(job)
    return jsonify(job_json(job)), 202


@bp.post("/imports/<int:job_id>/discard")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Discard an import that was not promoted (also one whose process stopped)",
    answer=ImportJob,
    refusals={**_NOT_FOUND, 422: "Promoted or still running"},
)
def api_import_discard(job_id: int):
    job = _job(job_id, edit=True)
    jobs.discard_job(job)
    db.session.commit()
    db.session.refresh(job)
    return jsonify(job_json(job))


@bp.post("/collectives/<int:collective_id>/export")
@roles_required(*READERS)
@operation(
    "Export a collective's current plots (NY/T 2539 DK layout); audited",
    description="A POST, because every export is written to the audit trail. Formula-like "
    "text in XLSX and CSV is written as plain text.",
    query=ExportQuery,
    content=tuple(sorted({media for _d, _e, media in exporter.FORMATS.values()})),
    refusals={404: "Not found or out of reach"},
)
def api_collective_export(collective_id: int, query: ExportQuery):
    collective = load_or_404(Collective, collective_id)
    fmt = query.format
    path, result = exporter.export_to_temporary_file(db.session, fmt, collective_id=collective.id)
    db.session.commit()  # the export's audit event
    return send_temporary(
        path, mimetype=result.media_type, download_name=exporter.download_name(collective, fmt)
    )
