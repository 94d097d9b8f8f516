"""Is the process running an import job still alive? Heartbeats, stale jobs, reaping.

A job runs in a thread of the web process, an RQ worker or the command line; any of them can die
(killed, out of memory, the machine restarted) and leave its job RUNNING or PROMOTING for ever,
with a page that polls for nothing and a job that cannot be discarded. So while a job runs, a
daemon thread stamps ``import_job.heartbeat_at`` every few seconds on a connection of its own
(the job's own transaction may stay open for minutes: the promotion is one transaction, so
nothing it writes is seen before it commits; the stamp is one tiny UPDATE, never a commit per
feature). Validation also stamps in the commit it makes per window anyway: on SQLite a job that
writes window after window leaves another writer few chances at the lock. A running job whose
last stamp is older than IMPORT_HEARTBEAT_STALE_SECONDS has *stopped*:

* reads show and return it as failed, with a plain reason, without writing anything (a page
  view by an auditor must not change a job);
* its owner may discard it (``jobs.discard_job``), which is audited;
* ``flask import reap`` marks every stopped job failed, audited, for operators and cron.

A stopped job never wrote to the registry: promotion is one transaction, which the database
rolls back when its connection dies.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.audit import trail
from app.core.models import utcnow
from app.extensions import db
from app.imports.models import ImportJob, JobStatus

log = logging.getLogger(__name__)

#: The states a live process holds a job in (QUEUED waits for a worker and has no process yet).
RUNNING = (JobStatus.RUNNING, JobStatus.PROMOTING)

STOPPED = (
    "process_stopped",
    "处理该导入的进程已停止，导入没有完成，也没有写入任何登记数据；请放弃此导入并重新上传文件",
    "The process handling this import stopped; nothing was written to the registry. Discard "
    "it and upload the file again",
)


def _stopped_fields() -> dict:
    """What a job whose process died is marked with (the reason in both languages)."""
    return {
        "status": JobStatus.FAILED,
        "phase": None,
        "error_code": STOPPED[0],
        "error_zh": STOPPED[1],
        "error_en": STOPPED[2],
        "finished_at": utcnow(),
    }


def stale_seconds() -> float:
    """IMPORT_HEARTBEAT_STALE_SECONDS: silence after which a running job counts as stopped."""
    return float(current_app.config.get("IMPORT_HEARTBEAT_STALE_SECONDS") or 120)


def interval(stale: float) -> float:
    """Seconds between two stamps: several stamps fit in the stale time, at most every 5 s."""
    return max(0.2, min(5.0, stale / 6))


def last_sign(job: ImportJob) -> datetime:
    """When the job's process last showed it was alive."""
    return job.heartbeat_at or job.started_at or job.created_at


def stopped(job: ImportJob, now: datetime | None = None) -> bool:
    """Is the job held RUNNING / PROMOTING by a process that no longer beats?"""
    if job.status not in RUNNING:
        return False
    return last_sign(job) < (now or utcnow()) - timedelta(seconds=stale_seconds())


def shown_status(job: ImportJob) -> str:
    """The status to show and return: ``failed`` for a stopped job, else the stored one."""
    return JobStatus.FAILED if stopped(job) else job.status


def shown_error(job: ImportJob) -> tuple[str, str, str] | None:
    """(code, zh, en) of the job's failure as shown, or None."""
    if stopped(job):
        return STOPPED
    if job.error_code:
        return job.error_code, job.error_zh or "", job.error_en or ""
    return None


def claim_stopped(session: Session, job: ImportJob) -> bool:
    """Mark a stopped job failed, if it still is exactly as read (same state, no newer beat):
    what lets its owner discard it. False when it is not stopped, or beat or finished since
    (on SQLite the UPDATE waits for a live promotion's transaction, then finds it PROMOTED)."""
    if not stopped(job):
        return False
    seen = job.heartbeat_at
    claimed = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job.id,
            ImportJob.status == job.status,
            ImportJob.heartbeat_at.is_(None) if seen is None else ImportJob.heartbeat_at == seen,
        )
        .values(**_stopped_fields())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(job)
    return bool(claimed)


def _stamp(engine: Engine, job_id: int) -> None:
    """One heartbeat, on a connection of its own, waiting at most about a second for a lock."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        if sqlite:
            raw.execute("PRAGMA busy_timeout = 1000")
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SET LOCAL lock_timeout = '1s'"))
                conn.execute(
                    update(ImportJob)
                    .where(ImportJob.id == job_id, ImportJob.status.in_(JobStatus.ACTIVE))
                    .values(heartbeat_at=utcnow())
                )
        finally:
            if sqlite:
                raw.execute("PRAGMA busy_timeout = 30000")


@contextlib.contextmanager
def beating(job_id: int) -> Iterator[None]:
    """Stamp the job's heartbeat every few seconds while the block runs (needs an app context).

    The stamping thread is a daemon and is not waited for at the end: a stamp that is waiting
    for a lock must not hold up the job's own end. A missed stamp (the database busy for a
    moment) is only logged; the next one follows.
    """
    engine = db.engine
    every = interval(stale_seconds())
    done = threading.Event()

    def run() -> None:
        while not done.wait(every):
            try:
                _stamp(engine, job_id)
            except Exception:  # noqa: BLE001 - a missed beat is not the job's failure
                log.debug("heartbeat of import job %s missed", job_id, exc_info=True)

    thread = threading.Thread(target=run, name=f"import-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def reap(session: Session) -> list[int]:
    """Mark every stopped job failed, with the plain reason, audited (``flask import reap``).

    Each job is claimed with a conditional UPDATE (still running, still silent), so a job whose
    process beats again in between is left alone. The caller commits.
    """
    cutoff = utcnow() - timedelta(seconds=stale_seconds())
    candidates = session.scalars(
        select(ImportJob).where(ImportJob.status.in_(RUNNING)).order_by(ImportJob.id)
    ).all()
    reaped: list[int] = []
    for job in candidates:
        if last_sign(job) >= cutoff:
            continue
        claimed = session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job.id,
                ImportJob.status == job.status,
                (ImportJob.heartbeat_at.is_(None) | (ImportJob.heartbeat_at < cutoff)),
            )
            .values(**_stopped_fields())
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        trail.record_event(
            session,
            "import.reap",
            "import_job",
            str(job.id),
            details={"was": job.status, "last_heartbeat": last_sign(job).isoformat()},
            collective_id=job.collective_id,
        )
        reaped.append(job.id)
    session.expire_all()
    return reaped
