"""Import jobs: create, run (validate / promote), and hand long work to a background runner.

The runner is chosen by configuration (IMPORT_RUNNER): ``rq`` when REDIS_URL is set (a worker
started with ``flask import worker`` runs the jobs), otherwise a thread with its own app context
in the web process (the embedded default). ``inline`` runs the job inside the caller (the command
line does that, and so may tests). Whatever runs it, a job acts under the audit identity of the
user who started it, and reports its progress in its own row (``done`` / ``total`` / ``phase``),
committed once per window of features, which the job page shows.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.audit import trail
from app.core.errors import DomainError
from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.imports import eager as eager_promotion
from app.imports import liveness, promote, staging
from app.imports import mapping as maps
from app.imports.models import ImportJob, ImportProblem, JobStatus
from app.imports.readers import (
    ImportRefused,
    StoredFile,
    open_vector,
    read_ahead,
    store_file,
    store_root,
    stream_layer,
)
from app.imports.validate import ParcelSettings, ParcelValidator, Problem
from app.registry import history
from app.registry.inputs import require_date
from app.registry.spatial_checks import hold_geometry_writes

log = logging.getLogger(__name__)

ProgressFn = Callable[[ImportJob, str], None]

_threads: dict[int, threading.Thread] = {}


# --------------------------------------------------------------------------------------------
# Creating jobs
# --------------------------------------------------------------------------------------------


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
    limit = int(_config("IMPORT_REPORT_MAX_PER_KIND", 1000))
    return staging.ProblemLog(db.session, job.id, limit, kinds)


def _config(name: str, default: Any) -> Any:
    """A setting of the app (app/config.py reads the environment, the same way for all)."""
    value = current_app.config.get(name)
    return default if value is None else value


# --------------------------------------------------------------------------------------------
# Services for the web page and the API (both call these; views commit)
# --------------------------------------------------------------------------------------------


def _refused(exc: ImportRefused | geo.GeoError, field: str | None = None) -> DomainError:
    return DomainError.from_check(exc, field=field)


def declared_effective_on(value: Any) -> str | None:
    """The legal date an importer declares for a file (a date or YYYY-MM-DD; empty: none), as
    the ISO text kept in the job's options. Not in the future (history.legal_date)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    day = require_date(value, "effective_on")
    return history.legal_date(day).isoformat()


def upload(
    collective: Collective,
    kind: str,
    stream: Any,
    filename: str,
    *,
    crs: str | None = None,
    layer: str | None = None,
    members_stream: Any = None,
    members_filename: str | None = None,
    effective_on: Any = None,
) -> ImportJob:
    """Start an import of an uploaded file for a collective (its admin only: checked by callers).

    Parcels whose fields map themselves (NY/T 2539 names) go straight to validation in the
    background; other layouts wait in NEEDS_MAPPING for the user's field mapping. A file that
    cannot be read at all is refused here, before any job exists. ``effective_on``, the day
    the file's data took legal effect (not in the future), becomes the promoted rows' legal
    date; without it they take effect on the day of promotion.
    """
    if kind not in ("parcels", "households"):
        raise DomainError("import_kind", _("Choose what the file contains."), field="kind")
    effective = declared_effective_on(effective_on)
    if crs:
        try:
            geo.parse_crs(crs)
        except geo.GeoError as exc:
            raise _refused(exc, "crs") from exc
    try:
        stored = store_file(store_root(), stream, filename)
        members = (
            store_file(store_root(), members_stream, members_filename or "members")
            if members_stream is not None
            else None
        )
        fields: list[str] = []
        counted = 0
        if kind == "parcels":
            source = open_vector(store_root() / stored.key, stored.filename, layer=layer or None)
            fields, counted = source.fields, max(source.features, 0)
    except ImportRefused as exc:
        raise _refused(exc, "file") from exc
    options: dict[str, Any] = {
        "crs": crs or None,
        "layer": layer or None,
        "fields": fields,
        "effective_on": effective,
    }
    job = create_job(
        kind,
        stored,
        collective_id=collective.id,
        options={k: v for k, v in options.items() if v},
        members=members,
    )
    job.total = counted  # the progress bar's end, counted once here
    if kind == "parcels" and maps.missing_required(
        maps.resolve(fields, None, maps.PARCEL_FIELDS), maps.PARCEL_REQUIRED
    ):
        job.status = JobStatus.NEEDS_MAPPING
    return job


def set_mapping(job: ImportJob, chosen: dict[str, str]) -> ImportJob:
    """Record the user's field mapping {NY/T field: file field} and queue the validation."""
    if job.status not in (JobStatus.NEEDS_MAPPING, JobStatus.VALIDATED, JobStatus.FAILED):
        raise DomainError("job_state", _("This import cannot be changed any more."))
    opts = job.options
    fields = opts.get("fields", [])
    clean = {t: f for t, f in chosen.items() if t in maps.PARCEL_FIELDS and f}
    unknown = [f for f in clean.values() if f not in fields]
    if unknown:
        raise DomainError(
            "mapping_field",
            _("The file has no field %(name)s.", name=unknown[0]),
            field="mapping",
        )
    if "DKBM" not in clean:
        raise DomainError(
            "mapping_required", _("Choose the field that holds the plot code (DKBM)."), field="DKBM"
        )
    opts["mapping"] = clean
    job.options = opts
    job.status = JobStatus.QUEUED
    job.error_code = job.error_zh = job.error_en = None
    return job


def queue_validation(job: ImportJob) -> None:
    """Hand the job's validation to the background runner (after the caller committed)."""
    enqueue(job.id, "validate")


def request_promotion(job: ImportJob, *, valid_only: bool) -> None:
    """Check the job may be promoted now (all or nothing unless ``valid_only``); the caller then
    commits and calls queue_promotion. Refusals say why, in the user's language."""
    why = refusal(job, valid_only)
    if why is not None:
        from app.core.i18n import pick

        raise DomainError(why[0], pick(why[1], why[2]))


def queue_promotion(job: ImportJob, *, valid_only: bool) -> None:
    enqueue(job.id, "promote", valid_only=valid_only)


def discard_job(job: ImportJob) -> None:
    """Drop a job that was not promoted (its staged rows go; the report stays)."""
    if job.status not in (
        JobStatus.VALIDATED,
        JobStatus.NEEDS_MAPPING,
        JobStatus.FAILED,
        JobStatus.REFUSED,
    ) and not liveness.claim_stopped(db.session, job):  # a job whose process died may go too
        raise DomainError("job_state", _("This import cannot be discarded now."))
    discard(job)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _set(job: ImportJob, **fields: Any) -> None:
    for k, v in fields.items():
        setattr(job, k, v)
    db.session.commit()


def _fail(job: ImportJob, exc: ImportRefused | geo.GeoError) -> ImportJob:
    db.session.rollback()
    job = db.session.get(ImportJob, job.id)
    _set(
        job,
        status=JobStatus.FAILED,
        phase=None,
        error_code=exc.code,
        error_zh=exc.message_zh,
        error_en=exc.message_en,
        finished_at=utcnow(),
    )
    return job


def _actor(job: ImportJob) -> trail.AuditContext:
    return trail.AuditContext(
        actor=job.created_by,
        actor_id=job.created_by_id,
        role=job.created_by_role,
        reason=f"import job {job.id}: {job.filename}",
        source_sha256=job.sha256,
    )


def _parcel_settings(
    job: ImportJob, mapping: dict[str, str], crs: Any, geometry_only: bool
) -> ParcelSettings:
    settings = ParcelSettings(
        mapping=mapping,
        source_crs=crs,
        registry_srid=int(current_app.config["REGISTRY_SRID"]),
        tolerance_m2=float(_config("OVERLAP_TOLERANCE_M2", 1.0)),
        mismatch_percent=float(_config("IMPORT_AREA_MISMATCH_PERCENT", 10.0)),
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
    _set(job, status=JobStatus.RUNNING, phase="reading", started_at=now, heartbeat_at=now, done=0)
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
            batch_size=int(_config("IMPORT_BATCH", 8_000)),
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
            _set(job, total=max(total, 0))
            staged: tuple[int, int, frozenset[int]] | None = None  # the window being written

            def committed() -> None:
                """The window's rows are in and committed: progress, and tell on_window."""
                _set(
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
        return _fail(job, exc)

    _set(job, phase="checking")
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
            db.session, job.id, float(_config("OVERLAP_TOLERANCE_M2", 1.0)), extent
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
    job.summary_json = _dumps(summary)
    trail.record_event(
        db.session,
        "import.validate",
        "import_job",
        str(job.id),
        details={k: summary[k] for k in ("features", "valid", "invalid", "warnings", "overlaps")}
        | {"sha256": job.sha256},
        collective_id=job.collective_id,
    )
    _set(job, status=JobStatus.VALIDATED, phase=None, finished_at=utcnow())
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


def _dumps(value: Any) -> str:
    import json

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


def _staging_lost(job: ImportJob) -> tuple[str, str, str] | None:
    """A validated parcels job whose staged rows are no longer all there (see staging.intact)."""
    if job.kind != "parcels" or job.status != JobStatus.VALIDATED:
        return None
    if staging.intact(db.session, job.id, int(job.summary.get("features", 0))):
        return None
    return _STAGING_LOST


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
            _set(job, error_code=why[0], error_zh=why[1], error_en=why[2])
        return job
    lost = _staging_lost(job)
    if lost is not None:  # nothing left to promote from: the job is over, say why
        _set(
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
        if job.kind == "parcels":
            n = _promote_parcels(job, valid_only, recheck)
        else:
            from app.imports.households import promote_households_job

            n = promote_households_job(job, valid_only)
        if n is None:
            return job
        job.promoted = n
        if job.kind == "parcels":
            job.summary_json = _dumps({**job.summary, "promotion": "after_validation"})
        job.status = JobStatus.PROMOTED
        job.phase = None
        job.error_code = job.error_zh = job.error_en = None
        job.finished_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        job = db.session.get(ImportJob, job.id)
        _set(job, status=JobStatus.VALIDATED, phase=None)
        raise
    if progress:
        progress(job, "promoted")
    return job


def registry_checked_at(job: ImportJob) -> datetime | None:
    """When validation checked the job's plots against the registry (None: it could not)."""
    at = job.summary.get("registry_checked_at")
    return datetime.fromisoformat(at) if at else None


def _promote_parcels(job: ImportJob, valid_only: bool, recheck: bool) -> int | None:
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
    tolerance = float(_config("OVERLAP_TOLERANCE_M2", 1.0))
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
        job.summary_json = _dumps({**s, **summary})
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
                job.summary_json = _dumps(
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
        _set(job, status=JobStatus.REFUSED)
    return job


def discard(job: ImportJob) -> None:
    """Drop a validated job's staged rows; the report stays."""
    staging.clear(db.session, job.id)
    job.status = JobStatus.DISCARDED
    trail.record_event(
        db.session, "import.discard", "import_job", str(job.id), collective_id=job.collective_id
    )


def execute(job_id: int, action: str, **kw: Any) -> None:
    """Run one action of a job under its owner's audit identity (thread, RQ worker or inline)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        return
    with trail.acting(_actor(job)), liveness.beating(job_id):
        try:
            if action == "validate":
                if job.kind == "parcels":
                    validate_parcels(job)
                else:
                    from app.imports.households import validate_households_job

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
                _set(
                    job,
                    status=JobStatus.FAILED,
                    phase=None,
                    error_code="internal",
                    error_zh="导入过程中出现内部错误，未写入任何登记数据",
                    error_en="The import failed on our side; nothing was written to the registry",
                    finished_at=utcnow(),
                )


# --------------------------------------------------------------------------------------------
# Background runners
# --------------------------------------------------------------------------------------------


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
        queue(app).enqueue(rq_task, job_id, action, kw, job_timeout=6 * 3600)
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


def rq_task(job_id: int, action: str, kw: dict[str, Any]) -> None:
    """The RQ entry point: inside the worker's app context (``flask import worker``), or a new
    app built from the environment when the worker was started some other way."""
    if has_app_context():
        try:
            execute(job_id, action, **kw)
        finally:
            db.session.remove()
        return
    from app import create_app

    with create_app().app_context():
        try:
            execute(job_id, action, **kw)
        finally:
            db.session.remove()
