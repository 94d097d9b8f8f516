"""Web pages of bulk import and export: upload, map fields, watch progress, promote, download.

Views only translate HTTP to the services in jobs.py / export.py and commit once. A running job's
page asks the browser to reload itself every 2 seconds (a ``Refresh`` header: no JavaScript).
"""

from __future__ import annotations

import itertools
import os
import tempfile

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.core.forms import form_failed
from app.core.i18n import pick
from app.core.inputs import page_arg
from app.core.web import send_temporary
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.imports import export as exporter
from app.imports import jobs, kinds, liveness, staging
from app.imports import mapping as maps
from app.imports.forms import DiscardForm, ExportForm, PromoteForm, UploadForm, mapping_form
from app.imports.models import ImportJob, JobStatus
from app.imports.readers import ImportRefused

bp = Blueprint("imports", __name__)

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
PAGE = 100

STATUS_LABELS = {
    JobStatus.NEEDS_MAPPING: _l("needs a field mapping"),
    JobStatus.QUEUED: _l("queued"),
    JobStatus.RUNNING: _l("checking"),
    JobStatus.VALIDATED: _l("checked"),
    JobStatus.PROMOTING: _l("promoting"),
    JobStatus.PROMOTED: _l("promoted"),
    JobStatus.REFUSED: _l("refused"),
    JobStatus.FAILED: _l("failed"),
    JobStatus.DISCARDED: _l("discarded"),
}


@bp.app_template_filter("import_status")
def import_status(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("import_state")
def import_state(job: ImportJob) -> str:
    """The status a job is shown in: ``failed`` when its process stopped (no heartbeat)."""
    return liveness.shown_status(job)


def _job(job_id: int, *, edit: bool = False) -> ImportJob:
    job = load_or_404(ImportJob, job_id)
    if job.kind not in kinds.BUILTIN:  # a kind brought from outside has its own pages
        abort(404)
    if edit and not can_edit(current_user, job):
        abort(404)
    return job


@bp.route("/collectives/<int:collective_id>/imports", methods=["GET", "POST"])
@roles_required(*READERS)
def collective_imports(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    editable = can_edit(current_user, collective)
    form = UploadForm()
    status = 200
    if request.method == "POST":
        if not editable:
            abort(404)
        if form.validate_on_submit():
            upload = form.file.data
            members = form.members.data if form.kind.data == "households" else None
            try:
                job = jobs.upload(
                    collective,
                    form.kind.data,
                    upload.stream,
                    upload.filename or "upload",
                    crs=form.crs.data or None,
                    layer=form.layer.data or None,
                    members_stream=members.stream if members else None,
                    members_filename=members.filename if members else None,
                    effective_on=form.effective_on.data,
                )
            except DomainError as err:  # a refused file: say why on the form, keep the choices
                form_failed(form, err)
                status = 422
            else:
                db.session.commit()
                if job.status == JobStatus.NEEDS_MAPPING:
                    flash(_("The file was uploaded. Say which column holds what."))
                    return redirect(url_for("imports.job_mapping", job_id=job.id))
                jobs.queue_validation(job)
                flash(_("The file was uploaded. It is being checked; this page shows the result."))
                return redirect(url_for("imports.job_page", job_id=job.id))
    history = list(
        db.session.scalars(
            select(ImportJob)
            .where(ImportJob.collective_id == collective.id)
            .order_by(ImportJob.id.desc())
            .limit(50)
        )
    )
    return render_template(
        "imports/list.html",
        collective=collective,
        form=form,
        editable=editable,
        history=history,
        export_form=ExportForm(),
    ), status


@bp.route("/imports/<int:job_id>")
@roles_required(*READERS)
def job_page(job_id: int):
    job = _job(job_id)
    page = page_arg()
    problems = staging.iter_problems(db.session, job.id, limit=PAGE + 1, offset=(page - 1) * PAGE)
    overlaps = [
        staging.overlap_dict(p)
        for p in itertools.islice(staging.overlaps(db.session, job.id), PAGE)
    ]
    response = Response(
        render_template(
            "imports/job.html",
            job=job,
            summary=job.summary,
            problems=problems[:PAGE],
            more=len(problems) > PAGE,
            page=page,
            overlaps=overlaps,
            omitted=staging.omitted_kinds(job.summary),
            status=liveness.shown_status(job),
            error=geo.for_form(liveness.shown_error(job)),
            editable=can_edit(current_user, job),
            promote_form=PromoteForm(),
            discard_form=DiscardForm(),
            pick=pick,
        )
    )
    if job.is_active and not liveness.stopped(job):
        response.headers["Refresh"] = "2"  # poll by reload while the job runs (no JavaScript)
    return response


@bp.route("/imports/<int:job_id>/mapping", methods=["GET", "POST"])
@roles_required(Role.COLLECTIVE_ADMIN)
def job_mapping(job_id: int):
    job = _job(job_id, edit=True)
    opts = job.options
    fields = opts.get("fields", [])
    current = opts.get("mapping") or maps.resolve(fields, None, maps.PARCEL_FIELDS)
    form = mapping_form(fields, current)()
    if form.validate_on_submit():
        chosen = {t: getattr(form, t).data for t in maps.PARCEL_FIELDS}
        jobs.set_mapping(job, chosen)
        db.session.commit()
        jobs.queue_validation(job)
        flash(_("The columns were saved. The file is being checked; this page shows the result."))
        return redirect(url_for("imports.job_page", job_id=job.id))
    return render_template(
        "imports/mapping.html", job=job, form=form, targets=maps.PARCEL_FIELDS, fields=fields
    )


@bp.post("/imports/<int:job_id>/promote")
@roles_required(Role.COLLECTIVE_ADMIN)
def job_promote(job_id: int):
    job = _job(job_id, edit=True)
    form = PromoteForm()
    if not form.validate_on_submit():
        abort(400)
    valid_only = bool(form.valid_only.data)
    jobs.request_promotion(job, valid_only=valid_only)
    db.session.commit()
    jobs.queue_promotion(job, valid_only=valid_only)
    flash(_("Promotion started."), "ok")
    return redirect(url_for("imports.job_page", job_id=job.id))


@bp.post("/imports/<int:job_id>/discard")
@roles_required(Role.COLLECTIVE_ADMIN)
def job_discard(job_id: int):
    job = _job(job_id, edit=True)
    if not DiscardForm().validate_on_submit():
        abort(400)
    jobs.discard_job(job)
    db.session.commit()
    flash(_("The import was discarded."), "ok")
    return redirect(url_for("imports.collective_imports", collective_id=job.collective_id))


@bp.route("/imports/<int:job_id>/report.json")
@roles_required(*READERS)
def job_report(job_id: int):
    job = _job(job_id)
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        staging.write_report(db.session, job, out)
    return send_temporary(
        path, mimetype="application/json", download_name=f"import-{job.id}-report.json"
    )


def _send_export(collective: Collective | None, fmt: str):
    if fmt not in exporter.FORMATS:
        abort(404)
    try:
        path, result = exporter.export_to_temporary_file(
            db.session, fmt, collective_id=collective.id if collective else None
        )
    except ImportRefused as exc:
        abort(422, pick(exc.message_zh, exc.message_en))
    db.session.commit()  # the export's audit event
    return send_temporary(
        path, mimetype=result.media_type, download_name=exporter.download_name(collective, fmt)
    )


@bp.route("/collectives/<int:collective_id>/export", methods=["GET", "POST"])
@roles_required(*READERS)
def collective_export(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    return _export_page(collective)


@bp.route("/exports/county", methods=["GET", "POST"])
@roles_required(Role.BUREAU_REVIEWER, Role.AUDITOR)
def county_export():
    return _export_page(None)


def _export_page(collective: Collective | None):
    """GET shows the choice of formats and has no side effect; POST (with CSRF) exports.

    An export is audited, so it must not happen when someone follows a link from elsewhere.
    """
    form = ExportForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        return _send_export(collective, form.format.data)
    return render_template("imports/export.html", collective=collective, form=form)
