"""The parcel import pipeline: read, check and stage a plot layer window by window, then promote.

``validate_parcels`` streams the file (``readers``), checks each window (``validate``) while the
previous one is staged (``staging.RowWriter``), then runs the whole-file checks as SQL and leaves
the job VALIDATED with its report. ``promote_validated`` checks the registry again under the
geometry hold and writes the plots (``promote``). Python's cyclic garbage collector is paused
for the windows of a command-line import (``windowed_collection``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import trail
from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.imports import mapping as maps
from app.imports import promote, staging
from app.imports.models import ImportJob, ImportProblem, JobStatus
from app.imports.problems import Problem
from app.imports.readers import ImportRefused, read_ahead, stream_layer
from app.imports.state import (
    ProgressFn,
    config,
    dumps,
    fail,
    job_file,
    problem_log,
    refusal,
    registry_checked_at,
    save,
)
from app.imports.validate import ParcelSettings, ParcelValidator
from app.registry.spatial_checks import hold_geometry_writes


def _parcel_settings(
    job: ImportJob, mapping: dict[str, str], crs: Any, geometry_only: bool
) -> ParcelSettings:
    settings = ParcelSettings(
        mapping=mapping,
        source_crs=crs,
        registry_srid=int(current_app.config["REGISTRY_SRID"]),
        tolerance_m2=float(config("OVERLAP_TOLERANCE_M2", 1.0)),
        mismatch_percent=float(config("IMPORT_AREA_MISMATCH_PERCENT", 10.0)),
        geometry_only=geometry_only,
    )
    if job.collective_id is not None:
        collective = db.session.get(Collective, job.collective_id)
        settings.collective_id = collective.id
        settings.fbfbm = collective.fbfbm
    else:
        settings.collectives = {
            f: i for f, i in db.session.execute(select(Collective.fbfbm, Collective.id))
        }
    return settings


def _missing_fields(source: Any, mapping: dict[str, str], geometry_only: bool) -> list[Problem]:
    missing = maps.missing_required(mapping, maps.PARCEL_REQUIRED)
    if not missing or geometry_only:
        return []
    shown = ", ".join(source.fields[:30]) or "-"
    return [
        Problem(
            None,
            None,
            "missing_field",
            "error",
            f"文件缺少必填字段 {', '.join(missing)}，请指定字段对应关系（--map）。"
            f"文件的字段：{shown}",
            f"The file lacks the required field(s) {', '.join(missing)}; give a field "
            f"mapping (--map). Its fields: {shown}",
        )
    ]


def validate_parcels(
    job: ImportJob,
    progress: ProgressFn | None = None,
    on_window: Callable[[int, int, frozenset[int]], None] | None = None,
    *,
    pause_collector: bool = False,
) -> ImportJob:
    """Read, stage and check every feature; leave the job VALIDATED (or FAILED) with a summary.

    ``on_window(lo, hi, collectives)`` is told each time the features [lo, hi) are staged and
    committed, with the collectives of those staged without errors. ``pause_collector``: the
    command line's own process may pause the garbage collector (``windowed_collection``); a web
    worker or queue worker never does, since the pause is process-wide.
    """
    opts = job.options
    now = utcnow()
    save(job, status=JobStatus.RUNNING, phase="reading", started_at=now, heartbeat_at=now, done=0)
    staging.clear(db.session, job.id)
    db.session.execute(ImportProblem.__table__.delete().where(ImportProblem.job_id == job.id))
    geometry_only = bool(opts.get("geometry_only"))
    features = 0
    try:
        with stream_layer(
            job_file(job),
            job.filename,
            layer=opts.get("layer"),
            encoding=opts.get("encoding"),
            batch_size=int(config("IMPORT_BATCH", 8_000)),
        ) as (source, batches):
            crs = geo.require_crs(source.crs, opts.get("crs"))
            mapping = maps.resolve(source.fields, opts.get("mapping"), maps.PARCEL_FIELDS)
            settings = _parcel_settings(job, mapping, crs, geometry_only)
            log = problem_log(job)
            log.add(_missing_fields(source, mapping, geometry_only))
            writer = staging.RowWriter(db.session, job.id)

            def fetch(idx: list[int]) -> dict[int, tuple[Any, str | None]]:
                writer.wait()  # earlier windows' rows, all of them
                return staging.fetch_geometries(db.session, job.id, idx)

            validator = ParcelValidator(settings, fetch=fetch)
            # Text formats are not counted before reading (that would parse them twice): the
            # count taken when the file was uploaded, if any, stands in.
            total = source.features if source.features >= 0 else job.total
            save(job, total=max(total, 0))
            staged: tuple[int, int, frozenset[int]] | None = None  # the window being written

            def committed() -> None:
                """The window's rows are in and committed: progress, and tell on_window."""
                save(
                    job,
                    done=features,
                    total=max(total, features) if total > 0 else 0,
                    heartbeat_at=utcnow(),  # the window's commit carries a heartbeat too
                )
                if on_window and staged:
                    on_window(*staged)
                if progress and features:
                    progress(job, "reading")

            try:
                paused = windowed_collection() if pause_collector else contextlib.nullcontext()
                with paused:
                    for batch in read_ahead(batches):
                        result = validator.check(batch)  # meanwhile the previous window is written
                        writer.wait()
                        log.add(result.problems)
                        committed()
                        writer.write(result.rows)
                        staged = (
                            batch.start,
                            batch.start + len(batch),
                            staging.clean_collectives(result.rows),
                        )
                        features += len(batch)
                        del result
                        release_memory()
                    writer.wait()
                    committed()
            finally:  # never leave a write running on the session's connection
                with contextlib.suppress(Exception):
                    writer.wait()
    except (ImportRefused, geo.GeoError) as exc:
        return fail(job, exc)

    save(job, phase="checking")
    if progress:
        progress(job, "checking")
    staging.analyze(db.session)
    if features == 0:
        nothing = Problem(
            None, None, "no_features", "error", "文件中没有地块", "The file has no features"
        )
        log.add([nothing])
    later: list[Problem] = []
    if not geometry_only:
        later += staging.duplicate_codes(db.session, job.id)
        later += staging.codes_in_registry(db.session, job.id)
        later += staging.unknown_households(db.session, job.id)
    extent = validator.tracker.extent()
    checked_at = None
    if validator.promotable_crs and extent is not None:
        # From here until the verdict commits no plot geometry is written by anyone else; what
        # is written after it is found again at promotion (``since=checked_at``).
        checked_at = hold_geometry_writes(db.session)
        later += staging.registry_overlaps(
            db.session, job.id, float(config("OVERLAP_TOLERANCE_M2", 1.0)), extent
        )
    log.add(later)
    staging.mark_errors(db.session, job.id, log.unstored_errors | validator.late_faulty)
    summary = staging.summarise(db.session, job.id, features, log)
    summary.update(
        crs=validator.describe_crs(),
        mapping=mapping,
        tolerance_m2=settings.tolerance_m2,
        geometry_only=geometry_only,
        driver=source.driver,
        layer=source.layer,
        extent=list(extent) if extent else None,
        registry_checked_at=checked_at.isoformat() if checked_at else None,
    )
    job.summary_json = dumps(summary)
    trail.record_event(
        db.session,
        "import.validate",
        "import_job",
        str(job.id),
        details={k: summary[k] for k in ("features", "valid", "invalid", "warnings", "overlaps")}
        | {"sha256": job.sha256},
        collective_id=job.collective_id,
    )
    save(job, status=JobStatus.VALIDATED, phase=None, finished_at=utcnow())
    if progress:
        progress(job, "validated")
    return job


@contextlib.contextmanager
def windowed_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the windows of an import, run once per
    window instead (``release_memory``).

    Reading a county file allocates tens of millions of short-lived objects (rows, geometries,
    result tuples); the automatic collector then ran thousands of times and examined the import's
    long-lived objects again and again: 6 s of a 37 s import of 300k plots. Almost nothing here
    forms reference cycles, so once per window, young generations only, is plenty; what the
    process held before the import is frozen out of the collector's way meanwhile. Both settings
    are process-wide, so they are restored after, with a full collection.
    """
    with _collector.lock:  # imports may run side by side in threads: the first one in pauses
        if _collector.depth == 0:
            _collector.was_enabled = gc.isenabled()
            gc.collect()
            gc.freeze()
            gc.disable()
        _collector.depth += 1
    try:
        yield
    finally:
        with _collector.lock:  # and the last one out restores
            _collector.depth -= 1
            if _collector.depth == 0:
                gc.unfreeze()
                if _collector.was_enabled:
                    gc.enable()
                gc.collect()


class _CollectorState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0  # imports inside windowed_collection
        self.was_enabled = True


_collector = _CollectorState()


def release_memory() -> None:
    """Between windows: collect the window's garbage cycles (see ``windowed_collection``) and
    hand freed heap back to the OS (glibc keeps it otherwise, and the process's resident size
    would creep up window after window)."""
    gc.collect(1)
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def promote_validated(job: ImportJob, valid_only: bool, recheck: bool) -> int | None:
    """Check the registry again, under the geometry hold, then promote in the same transaction.

    The hold (spatial_checks.hold_geometry_writes) keeps every web edit of a plot's geometry
    out until this transaction commits, and they then see the promoted plots in their own
    overlap check. What was written between validation and now is found here: all of it
    (``recheck``, the web flow, where the registry may have changed a lot since the user read the
    report) or, when validation ran just before (the command line), the plots written since its
    check.
    """
    s = job.summary
    hold_geometry_writes(db.session)
    same_crs = s.get("crs", {}).get("validation") == s.get("crs", {}).get("registry")
    tolerance = float(config("OVERLAP_TOLERANCE_M2", 1.0))
    since = None if recheck else registry_checked_at(job)
    if not recheck and since is None:
        again: list[Problem] = []
    else:
        if recheck:
            db.session.execute(
                ImportProblem.__table__.delete().where(
                    ImportProblem.job_id == job.id,
                    ImportProblem.problem.in_(("code_in_registry", "registry_overlap")),
                )
            )
        again = staging.codes_in_registry(db.session, job.id) if recheck else []
        if same_crs and s.get("extent"):
            again += staging.registry_overlaps(
                db.session, job.id, tolerance, tuple(s["extent"]), since=since
            )
    if again:
        rechecked = ("code_in_registry", "registry_overlap")
        # a full recheck counts its kinds afresh; a narrow one adds to what validation found
        log = problem_log(job, staging.kinds_without(s, rechecked if recheck else ()))
        log.add(again)
        staging.mark_errors(db.session, job.id, log.unstored_errors)
        summary = staging.summarise(db.session, job.id, s["features"], log)
        job.summary_json = dumps({**s, **summary})
        if not valid_only or summary["valid"] == 0:
            job.status = JobStatus.VALIDATED
            job.phase = None
            why = refusal(job, valid_only) or ("changed", "", "")
            job.error_code, job.error_zh, job.error_en = why
            db.session.commit()
            return None
    with trail.because("import.promote", source_sha256=job.sha256):
        n = promote.promote_parcels(db.session, job, valid_only=valid_only)
    staging.clear(db.session, job.id)
    return n
