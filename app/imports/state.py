"""The state of an import job: its row's lifecycle, from creation to promotion or discard.

A job is created for a stored file under the current audit actor (``create_job``), keeps its
progress and outcome in its own row (``save`` commits each change, so the job page sees it),
fails with a plain reason (``fail``), and may be promoted only when ``refusal`` finds nothing
against it. Heartbeats and the reaping of jobs whose process stopped are in ``liveness``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app

from app.audit import trail
from app.core.models import utcnow
from app.extensions import db
from app.geo import geometry as geo
from app.imports import staging
from app.imports.models import ImportJob, JobStatus
from app.imports.readers import ImportRefused, StoredFile, store_root

ProgressFn = Callable[[ImportJob, str], None]


def create_job(
    kind: str,
    stored: StoredFile,
    *,
    collective_id: int | None,
    options: dict[str, Any],
    members: StoredFile | None = None,
) -> ImportJob:
    """A queued job for a stored file, owned by the current audit actor."""
    ctx = trail.current()
    if ctx is None:
        raise trail.AuditContextMissing("an import job needs an actor")
    job = ImportJob(
        kind=kind,
        collective_id=collective_id,
        status=JobStatus.QUEUED,
        filename=stored.filename,
        sha256=stored.sha256,
        size=stored.size,
        path=stored.key,
        members_path=members.key if members else None,
        members_filename=members.filename if members else None,
        created_by=ctx.actor,
        created_by_id=ctx.actor_id,
        created_by_role=ctx.role,
    )
    job.options = options
    db.session.add(job)
    db.session.flush()
    trail.record_event(
        db.session,
        "import.upload",
        "import_job",
        str(job.id),
        details={"kind": kind, "file": stored.filename, "sha256": stored.sha256, **options},
        collective_id=collective_id,
    )
    return job


def job_file(job: ImportJob, members: bool = False) -> Path:
    key = job.members_path if members else job.path
    return store_root() / str(key)


def problem_log(job: ImportJob, kinds: Any = ()) -> staging.ProblemLog:
    """Where a job's problems go: at most IMPORT_REPORT_MAX_PER_KIND of each kind kept."""
    limit = int(config("IMPORT_REPORT_MAX_PER_KIND", 1000))
    return staging.ProblemLog(db.session, job.id, limit, kinds)


def config(name: str, default: Any) -> Any:
    """A setting of the app (app/config.py reads the environment, the same way for all)."""
    value = current_app.config.get(name)
    return default if value is None else value


def save(job: ImportJob, **fields: Any) -> None:
    """Change the job's row and commit, so the job page sees it at once."""
    for k, v in fields.items():
        setattr(job, k, v)
    db.session.commit()


def fail(job: ImportJob, exc: ImportRefused | geo.GeoError) -> ImportJob:
    """Roll back what the run wrote and leave the job FAILED with the reason."""
    db.session.rollback()
    job = db.session.get(ImportJob, job.id)
    save(
        job,
        status=JobStatus.FAILED,
        phase=None,
        error_code=exc.code,
        error_zh=exc.message_zh,
        error_en=exc.message_en,
        finished_at=utcnow(),
    )
    return job


def actor(job: ImportJob) -> trail.AuditContext:
    """The audit identity a job runs under: the user who started it."""
    return trail.AuditContext(
        actor=job.created_by,
        actor_id=job.created_by_id,
        role=job.created_by_role,
        reason=f"import job {job.id}: {job.filename}",
        source_sha256=job.sha256,
    )


def dumps(value: Any) -> str:
    """A job's summary as stored (JSON, keys sorted)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def refusal(job: ImportJob, valid_only: bool) -> tuple[str, str, str] | None:
    """Why this job may not be promoted (code, zh, en), or None."""
    s = job.summary
    if job.status != JobStatus.VALIDATED:
        return (
            "job_state",
            f"导入任务当前状态为 {job.status}，不能入库",
            f"The import job is {job.status} and cannot be promoted",
        )
    if s.get("file_errors"):
        return (
            "file_errors",
            "文件整体存在错误（见报告），不能入库",
            "The file as a whole has errors (see the report) and cannot be promoted",
        )
    if s.get("valid", 0) == 0:
        return ("nothing_valid", "没有可入库的有效地块", "No valid feature to promote")
    if s.get("invalid") and not valid_only:
        return (
            "has_errors",
            f"{s['invalid']} 个要素有错误：默认全部入库或全部不入库；修正后重新导入，"
            "或选择仅导入有效要素（--valid-only）",
            f"{s['invalid']} features have errors: promotion is all or nothing by default; fix "
            "them and import again, or promote only the valid ones (--valid-only)",
        )
    return None


_STAGING_LOST = (
    "staging_lost",
    "该任务的暂存数据已不存在（数据库曾重启），未写入任何登记数据；请重新导入该文件",
    "This job's staged rows are gone (the database restarted); nothing was written to the "
    "registry. Import the file again",
)


def staging_lost(job: ImportJob) -> tuple[str, str, str] | None:
    """A validated parcels job whose staged rows are no longer all there (see staging.intact)."""
    if job.kind != "parcels" or job.status != JobStatus.VALIDATED:
        return None
    if staging.intact(db.session, job.id, int(job.summary.get("features", 0))):
        return None
    return _STAGING_LOST


def registry_checked_at(job: ImportJob) -> datetime | None:
    """When validation checked the job's plots against the registry (None: it could not)."""
    at = job.summary.get("registry_checked_at")
    return datetime.fromisoformat(at) if at else None


def discard(job: ImportJob) -> None:
    """Drop a validated job's staged rows; the report stays."""
    staging.clear(db.session, job.id)
    job.status = JobStatus.DISCARDED
    trail.record_event(
        db.session, "import.discard", "import_job", str(job.id), collective_id=job.collective_id
    )
