"""Promotion beside validation (PostgreSQL): each staged window is written to the registry at once.

Why: on PostgreSQL, writing 300k plots into the registry (nine indexes, five foreign keys checked
row by row) is as much work for the server as reading and checking the file is for us. Done one
after the other, an import took twice as long as either; done side by side, the server writes
window k while we check window k+1.

How it stays all or nothing (what ``promote.promote_parcels`` guarantees by running after
validation):

* The registry rows are written on a **second connection, in one transaction** that nothing else
  sees until it commits. Staging and progress keep their own connection (committed per window,
  so the job page moves); the job becomes PROMOTED in the registry transaction itself.
* A window's rows are written only if no error is known for them yet and no current plot (this
  transaction's own included) has their code; the rows that later checks find fault with
  (overlaps with later windows, codes repeated later, overlaps with the registry) are taken out
  again before the commit. The promoted set must then equal the rows without errors, exactly;
  anything else, or any failure, rolls the transaction back and the ordinary promotion runs.
* When the job may not be promoted (an error and all-or-nothing), the transaction is rolled back.
* Foreign keys are checked row by row, like every other write. (Checking them once per window
  needed ``session_replication_role = replica``, a privilege that also switches off ordinary
  triggers, the audit log's among them: a speed-up we do not ship.)
* Audit entries of the transaction are held and chained just before the commit
  (``trail.hold``), so the chain's lock is not held for the length of the import; the
  ``import.promote`` entries carry the same digests as the ordinary promotion's.
"""

from __future__ import annotations

import bisect
import contextvars
import json
import logging
import queue
import threading
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.audit import trail
from app.core.models import utcnow
from app.extensions import db
from app.imports import staging
from app.imports.models import ImportJob, JobStatus
from app.imports.promote import (
    JobFile,
    ProofGroup,
    _Batch,
    create_source_document,
    proof_groups,
    record_proof,
)
from app.registry.models import SourceDocument
from app.registry.spatial_checks import hold_geometry_writes

log = logging.getLogger(__name__)

# Plots per ``import.promote`` entry. Each window's entries are worked out as it is written;
# a chunk that loses rows to a later check is worked out again at the end, so small chunks keep
# that end short (a few hundred entries for a county).
_PROOF_CHUNK = 2_000


def available(app: Flask) -> bool:
    """Only PostgreSQL lets a second connection write while the first one stages."""
    return db.engine.dialect.name == "postgresql" and bool(app.config.get("IMPORT_EAGER", True))


class EagerPromotion:
    """Drives the registry transaction from a thread of its own (one statement at a time)."""

    def __init__(self, app: Flask, job: ImportJob, *, valid_only: bool) -> None:
        self.app = app
        self.job = JobFile.of(job)
        self.valid_only = valid_only
        # One window waiting at most: when the registry writes fall behind, reading waits for
        # them, so they end with the reading instead of trailing it on one core.
        self.tasks: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=1)
        self.result: queue.Queue[int | None] = queue.Queue()
        self.stopped = threading.Event()
        self.failure: BaseException | None = None
        # (first idx, last idx, entries) of each chunk of promoted plots, in idx order
        self.proofs: list[tuple[int, int, list[ProofGroup]]] = []
        ctx = contextvars.copy_context()  # the actor, for the audit trail
        self.thread = threading.Thread(
            target=ctx.run, args=(self._main,), name=f"import-{job.id}-promote", daemon=True
        )
        self.thread.start()

    # ---- called by the validating thread

    def window(self, lo: int, hi: int, collectives: frozenset[int]) -> None:
        """Staged rows [lo, hi) are committed: write those without errors. ``collectives``:
        those of the window's rows without errors (each needs its source document first)."""
        self._put(("window", lo, hi, collectives))

    def finish(self) -> int | None:
        """Validation is over and its verdict committed: take out what later checks found
        fault with, audit, mark the job PROMOTED and commit. None when it could not (the
        transaction is rolled back; the caller promotes the ordinary way)."""
        self._put(("finish",))
        n = self.result.get()
        self.thread.join()
        return n

    def abandon(self) -> None:
        """Roll everything back (the job may not be promoted, or validation failed)."""
        self._put(("abandon",))
        self.result.get()
        self.thread.join()

    def _put(self, task: tuple[Any, ...]) -> None:
        while not self.stopped.is_set():  # a stopped thread takes nothing more
            try:
                self.tasks.put(task, timeout=0.5)
                return
            except queue.Full:
                continue

    # ---- the registry thread

    def _main(self) -> None:
        outcome: int | None = None
        try:
            with self.app.app_context(), db.engine.connect() as conn:
                outcome = self._transaction(conn)
        except Exception as exc:  # noqa: BLE001 - reported; the ordinary promotion runs
            self.failure = exc
            outcome = None
            log.warning("import %s: promotion beside validation gave up: %r", self.job.id, exc)
        finally:
            self.stopped.set()
            self.result.put(outcome)

    def _transaction(self, conn: Any) -> int | None:
        tx = conn.begin()
        session = Session(bind=conn)
        trail.hold(session)
        batch: _Batch | None = None
        docs: dict[int, int] = {}
        outcome: int | None = None
        try:
            with trail.because("import.promote", source_sha256=self.job.sha256):
                actor = trail.current().actor
                while True:
                    task = self.tasks.get()
                    if task[0] == "abandon":
                        break
                    if task[0] == "window":
                        if batch is None:
                            batch = self._begin(session, docs, actor)
                        self._window(session, batch, docs, actor, *task[1:])
                    else:
                        outcome = self._finish(session, docs) if batch else None
                        break
            if outcome is not None:
                trail.release(session)
                session.flush()
                tx.commit()
            return outcome
        finally:
            if tx.is_active:
                tx.rollback()
            session.close()

    def _begin(self, session: Session, docs: dict[int, int], actor: str | None) -> _Batch:
        session.execute(
            text(
                "CREATE TEMPORARY TABLE import_promoted (idx INTEGER PRIMARY KEY, uid BIGINT) "
                "ON COMMIT DROP"
            )
        )
        return _Batch(session, self.job, self.valid_only, docs, actor)

    def _window(
        self,
        session: Session,
        batch: _Batch,
        docs: dict[int, int],
        actor: str | None,
        lo: int,
        hi: int,
        collectives: frozenset[int],
    ) -> None:
        for collective_id in sorted(collectives):
            if collective_id not in docs:
                docs[collective_id] = create_source_document(
                    session, self.job, collective_id, actor
                ).id
        rows = batch.promote_window(lo, hi)
        for at in range(0, len(rows), _PROOF_CHUNK):
            chunk = rows[at : at + _PROOF_CHUNK]
            self.proofs.append((chunk[0][0], chunk[-1][0], proof_groups(chunk)))

    def _overlapped_since_validation(self, session: Session) -> bool:
        """Has someone else written a plot over one of ours since validation checked the registry?

        From here to the commit no other geometry write can land (the hold); one that landed
        between validation's check and now is not in the verdict. Then this transaction gives
        up and the ordinary promotion, which looks for exactly those plots, reports it."""
        hold_geometry_writes(session)
        raw = session.execute(
            text("SELECT summary_json FROM import_job WHERE id = :job"), {"job": self.job.id}
        ).scalar()
        summary = json.loads(raw or "{}")
        at, extent = summary.get("registry_checked_at"), summary.get("extent")
        if not at or not extent:
            return False
        tolerance = float(self.app.config.get("OVERLAP_TOLERANCE_M2", 1.0))
        found = staging.registry_overlaps(
            session,
            self.job.id,
            tolerance,
            tuple(extent),
            since=datetime.fromisoformat(at),
            not_promoted=True,
        )
        if found:
            log.info(
                "import %s: %d plots written over ours since validation", self.job.id, len(found)
            )
        return bool(found)

    def _finish(self, session: Session, docs: dict[int, int]) -> int | None:
        job = {"job": self.job.id}
        status = session.execute(
            text("SELECT status FROM import_job WHERE id = :job"), job
        ).scalar()
        if status != JobStatus.VALIDATED:
            return None
        if self._overlapped_since_validation(session):
            return None
        # promoted rows that a later check found fault with
        found = (
            "FROM import_promoted p JOIN import_staging s ON s.job_id = :job AND s.idx = p.idx "
            "WHERE NOT s.ok"
        )
        retracted = sorted(session.execute(text(f"SELECT p.idx {found}"), job).scalars())  # noqa: S608
        faulty = f"SELECT p.uid {found}"
        session.execute(text(f"DELETE FROM plot WHERE uid IN ({faulty})"), job)  # noqa: S608
        session.execute(text(f"DELETE FROM registry_object WHERE id IN ({faulty})"), job)  # noqa: S608
        session.execute(text(f"DELETE FROM import_promoted WHERE uid IN ({faulty})"), job)  # noqa: S608
        promoted = session.execute(text("SELECT count(*) FROM import_promoted")).scalar()
        clean = session.execute(
            text(
                "SELECT count(*) FROM import_staging WHERE job_id = :job AND ok "
                "AND collective_id IS NOT NULL"
            ),
            job,
        ).scalar()
        if promoted != clean or promoted == 0:
            log.info("import %s: %s promoted beside validation, %s clean", job, promoted, clean)
            return None
        # a collective whose every row was taken out again cites nothing: drop its document
        cited = set(
            session.execute(
                text(
                    "SELECT DISTINCT collective_id FROM import_staging WHERE job_id = :job AND ok"
                ),
                job,
            ).scalars()
        )
        for collective_id in [c for c in docs if c not in cited]:
            session.delete(session.get(SourceDocument, docs.pop(collective_id)))
        session.flush()
        batch_no = 0
        for first, last, groups in self.proofs:
            at = bisect.bisect_left(retracted, first)
            if at < len(retracted) and retracted[at] <= last:  # rows taken out: work it out again
                rows = session.execute(
                    text(
                        "SELECT s.idx, p.uid, s.dkbm, s.wkb_sha256, s.collective_id "
                        "FROM import_promoted p JOIN import_staging s "
                        "ON s.job_id = :job AND s.idx = p.idx "
                        "WHERE p.idx >= :first AND p.idx <= :last ORDER BY s.idx"
                    ),
                    {**job, "first": first, "last": last},
                ).all()
                groups = proof_groups([tuple(r) for r in rows])
            batch_no = record_proof(session, self.job, docs, groups, batch_no)
        claimed = session.execute(
            text(
                "UPDATE import_job SET status = :promoted, phase = NULL, promoted = :n, "
                "source_document_id = :doc, finished_at = :now, error_code = NULL, "
                "error_zh = NULL, error_en = NULL WHERE id = :job AND status = :validated"
            ),
            {
                **job,
                "promoted": JobStatus.PROMOTED,
                "validated": JobStatus.VALIDATED,
                "n": promoted,
                "doc": next(iter(docs.values())),
                "now": utcnow(),
            },
        ).rowcount
        return promoted if claimed == 1 else None
