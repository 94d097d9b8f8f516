"""Running import jobs: promotion, the command line's whole runs, and the background runners.

The runner is chosen by configuration (IMPORT_RUNNER): ``rq`` when REDIS_URL is set (a worker
started with ``flask import worker`` runs the jobs from the queue IMPORT_QUEUE), otherwise a
thread with its own app context in the web process (the embedded default). ``inline`` runs the
job inside the caller (the command line does that, and so may tests). Whatever runs it, a job
acts under the audit identity of the user who started it, and reports its progress in its own
row (``done`` / ``total`` / ``phase``), committed once per window of features, which the job page
shows. The queue's entry point, which may have to build an app first, is ``app.tasks``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app
from sqlalchemy import update

from app.audit import trail
from app.core.models import utcnow
from app.extensions import db
from app.imports import eager as eager_promotion
from app.imports import kinds, liveness, staging
from app.imports.households import promote_households_job, validate_households_job
from app.imports.models import ImportJob, JobStatus
from app.imports.parcels import promote_validated, validate_parcels
from app.imports.state import ProgressFn, actor, dumps, refusal, save, staging_lost

log = logging.getLogger(__name__)

# The queue's entry point (app/tasks.py), named for RQ, which imports it in the worker.
RQ_TASK = "app.tasks.run_import_job"

_threads: dict[int, threading.Thread] = {}


def promote_job(
    job: ImportJob,
    *,
    valid_only: bool,
    progress: ProgressFn | None = None,
    recheck: bool = True,
) -> ImportJob:
    """Promote a VALIDATED job in one transaction (or refuse, saying why).

    ``recheck`` repeats the registry checks (codes, overlaps) inside the promotion's transaction,
    because the registry may have changed since the job was validated (the web flow: validate,
    read the report, then promote). The command line validates and promotes back to back and
    skips it; the unique index on current DKBM still guards codes there.
    """
    why = refusal(job, valid_only)
    if why is not None:
        if job.status == JobStatus.VALIDATED:
            save(job, error_code=why[0], error_zh=why[1], error_en=why[2])
        return job
    lost = staging_lost(job)
    if lost is not None:  # nothing left to promote from: the job is over, say why
        save(
            job,
            status=JobStatus.FAILED,
            phase=None,
            error_code=lost[0],
            error_zh=lost[1],
            error_en=lost[2],
            finished_at=utcnow(),
        )
        return job
    # Claim the job atomically: a second click (or worker) finds it no longer VALIDATED.
    claimed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == JobStatus.VALIDATED)
        .values(status=JobStatus.PROMOTING, phase="promoting", done=0, heartbeat_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return db.session.get(ImportJob, job.id)
    db.session.refresh(job)
    if progress:
        progress(job, "promoting")
    try:
        # The registry may have changed since validation: check codes and overlaps again,
        # inside the promotion's own transaction.
        outside = kinds.registered(job.kind)
        if outside is not None:
            n = outside.promote(job, valid_only)
        elif job.kind == "parcels":
            n = promote_validated(job, valid_only, recheck)
        else:
            n = promote_households_job(job, valid_only)
        if n is None:
            return job
        job.promoted = n
        if job.kind == "parcels":
            job.summary_json = dumps({**job.summary, "promotion": "after_validation"})
        job.status = JobStatus.PROMOTED
        job.phase = None
        job.error_code = job.error_zh = job.error_en = None
        job.finished_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        job = db.session.get(ImportJob, job.id)
        save(job, status=JobStatus.VALIDATED, phase=None)
        raise
    if progress:
        progress(job, "promoted")
    return job


def run_parcels(
    job: ImportJob,
    *,
    dry_run: bool,
    valid_only: bool,
    progress: ProgressFn | None = None,
) -> ImportJob:
    """The command line's whole run: validate, then promote unless dry-run (or refused).

    On PostgreSQL the registry is written beside the validation (see app.imports.eager), in a
    transaction of its own that commits only if the promotion below would have written the same.
    """
    eager = None
    if not dry_run and eager_promotion.available(current_app):
        eager = eager_promotion.EagerPromotion(
            current_app._get_current_object(), job, valid_only=valid_only
        )
    try:
        job = validate_parcels(job, progress, eager.window if eager else None, pause_collector=True)
    except BaseException:
        if eager:
            eager.abandon()
        raise
    if eager:
        if job.status == JobStatus.VALIDATED and refusal(job, valid_only) is None:
            if progress:
                progress(job, "promoting")
            promoted = eager.finish()
            if promoted is not None:
                db.session.expire(job)
                staging.clear(db.session, job.id)
                job.summary_json = dumps(
                    {
                        **job.summary,
                        "promotion": "beside_validation",
                    }
                )
                db.session.commit()
                if progress:
                    progress(job, "promoted")
                return job
        else:
            eager.abandon()
    if job.status != JobStatus.VALIDATED:
        return job
    if dry_run:
        staging.clear(db.session, job.id)
        db.session.commit()
        return job
    job = promote_job(job, valid_only=valid_only, progress=progress, recheck=False)
    if job.status == JobStatus.VALIDATED:  # refused: say so, and free the scratch rows
        staging.clear(db.session, job.id)
        save(job, status=JobStatus.REFUSED)
    return job


def run_households(job: ImportJob, *, dry_run: bool, valid_only: bool) -> ImportJob:
    """The command line's whole run: check, then promote unless dry-run (or refused)."""
    job = validate_households_job(job)
    if job.status != JobStatus.VALIDATED or dry_run:
        return job
    job = promote_job(job, valid_only=valid_only)
    if job.status == JobStatus.VALIDATED:
        save(job, status=JobStatus.REFUSED)
    return job


def execute(job_id: int, action: str, **kw: Any) -> None:
    """Run one action of a job under its owner's audit identity (thread, RQ worker or inline)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        return
    with trail.acting(actor(job)), liveness.beating(job_id):
        try:
            if action == "validate":
                outside = kinds.registered(job.kind)
                if outside is not None:
                    outside.validate(job)
                elif job.kind == "parcels":
                    validate_parcels(job)
                else:
                    validate_households_job(job)
            elif action == "promote":
                promote_job(job, valid_only=bool(kw.get("valid_only")))
            else:  # pragma: no cover - programming error
                raise ValueError(action)
        except Exception:
            log.exception("import job %s failed", job_id)
            db.session.rollback()
            job = db.session.get(ImportJob, job_id)
            if job is not None and job.status in JobStatus.ACTIVE:
                save(
                    job,
                    status=JobStatus.FAILED,
                    phase=None,
                    error_code="internal",
                    error_zh="导入过程中出现内部错误，未写入任何登记数据",
                    error_en="The import failed on our side; nothing was written to the registry",
                    finished_at=utcnow(),
                )


def runner(app: Flask) -> str:
    chosen = app.config.get("IMPORT_RUNNER", "auto")
    if chosen == "auto":
        return "rq" if app.config.get("REDIS_URL") else "thread"
    return chosen


def queue(app: Flask):
    from redis import Redis
    from rq import Queue

    return Queue(
        app.config.get("IMPORT_QUEUE", "sanquan-imports"),
        connection=Redis.from_url(app.config["REDIS_URL"]),
    )


def enqueue(job_id: int, action: str, **kw: Any) -> str:
    """Start a job's action in the background; returns the runner used."""
    app = current_app._get_current_object()
    how = runner(app)
    if how == "rq":
        queue(app).enqueue(RQ_TASK, job_id, action, kw, job_timeout=6 * 3600)
    elif how == "thread":
        thread = threading.Thread(
            target=_thread_main,
            args=(app, job_id, action, kw),
            name=f"import-{job_id}",
            daemon=True,
        )
        _threads[job_id] = thread
        thread.start()
    else:
        execute(job_id, action, **kw)
    return how


def _thread_main(app: Flask, job_id: int, action: str, kw: dict[str, Any]) -> None:
    try:
        with app.app_context():
            try:
                execute(job_id, action, **kw)
            finally:
                db.session.remove()
    finally:
        _threads.pop(job_id, None)


def wait(job_id: int, timeout: float | None = None) -> None:
    """Join a job's thread (tests, and a clean shutdown)."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)
