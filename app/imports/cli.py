"""Command line: ``flask import parcels|households …``, ``flask import worker|reap``,
``flask export parcels …``.

Imports run inline (a line of progress per window of features), as the system actor "cli", and
leave a job row like the web's, so the county's import history is in one place. Exit codes:
0 done as asked, 1 the data has errors (refused, or a dry run that found errors), 2 the file or
the arguments cannot be used at all.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.imports import export as exporter
from app.imports import jobs, liveness, runners, staging, state
from app.imports import mapping as maps
from app.imports.models import ImportJob, JobStatus
from app.imports.readers import ImportRefused, store_file, store_root

import_cli = AppGroup("import", help="Bulk import of confirmation (确权) data.")
export_cli = AppGroup("export", help="Bulk export of registry data.")


def _cli_actor(event: str) -> trail.AuditContext:
    return trail.AuditContext(actor="cli", role="system", event=event)


def _say(message_zh: str, message_en: str) -> None:
    click.echo(f"{message_zh}\n  {message_en}", err=True)


def _refuse(exc: ImportRefused | geo.GeoError, code: int = 2) -> None:
    _say(exc.message_zh, exc.message_en)
    sys.exit(code)


def _effective_on(value) -> str | None:
    """``--effective-on``: the day the file's data took legal effect (not in the future), kept
    in the job's options as an ISO date; the promoted rows' valid_from."""
    if value is None:
        return None
    try:
        return jobs.declared_effective_on(value.date())
    except DomainError:
        _say("生效日期不能晚于今天", "The effective date cannot be in the future")
        sys.exit(2)


_EFFECTIVE_ON = click.option(
    "--effective-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Day the data took legal effect (YYYY-MM-DD); default: the day of promotion.",
)


def _collective(fbfbm: str | None) -> Collective | None:
    if fbfbm is None:
        return None
    found = db.session.scalar(select(Collective).where(Collective.fbfbm == fbfbm.strip()))
    if found is None:
        _say(f"没有发包方编码为 {fbfbm} 的集体经济组织", f"No collective with code {fbfbm}")
        sys.exit(2)
    return found


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


_STARTED = [time.perf_counter()]


def _progress(job: ImportJob, phase: str) -> None:
    at = f"[{time.perf_counter() - _STARTED[0]:6.1f} s]"
    if phase == "reading":
        total = f"/{job.total}" if job.total else ""
        click.echo(f"{at} read {job.done}{total} features (peak memory {_peak_mb()} MB)", err=True)
    elif phase in ("checking", "promoting", "promoted"):
        click.echo(f"{at} {phase} … (peak memory {_peak_mb()} MB)", err=True)


def _print_summary(job: ImportJob) -> None:
    s = job.summary
    if job.status == JobStatus.FAILED:
        _say(job.error_zh or "", job.error_en or "")
        return
    if job.kind == "households":
        click.echo(
            f"{s.get('features', 0)} households ({s.get('members', 0)} members): "
            f"{s.get('valid', 0)} valid, {s.get('invalid', 0)} invalid, "
            f"{s.get('warnings', 0)} warnings"
        )
    else:
        click.echo(
            f"{s.get('features', 0)} features: {s.get('valid', 0)} valid, "
            f"{s.get('invalid', 0)} invalid, {s.get('warnings', 0)} warnings, "
            f"{s.get('overlaps', 0)} overlaps (checked in {s.get('crs', {}).get('validation')})"
        )
    for p in staging.iter_problems(db.session, job.id, limit=20):
        where = "file" if p.idx is None else f"#{p.idx}"
        click.echo(f"  {p.severity:7} {where:>8} {p.code or '-':19} {p.problem}: {p.message_en}")
    more = s.get("errors", 0) + s.get("warnings", 0) - 20
    if more > 0:
        click.echo(f"  … and {more} more (see --report)")
    if s.get("omitted"):
        click.echo(
            f"  (the report keeps at most {s.get('report_limit')} problems of each kind: "
            f"{s['omitted']} more are counted, not listed)"
        )
    if job.status == JobStatus.PROMOTED:
        click.echo(f"promoted {job.promoted} into the registry (job {job.id})")
    elif job.status == JobStatus.REFUSED:
        _say(job.error_zh or "", job.error_en or "")


def _write_report(job: ImportJob, path: Path | None) -> None:
    if path is None:
        return
    with path.open("w", encoding="utf-8") as out:
        staging.write_report(db.session, job, out)
    click.echo(f"report written to {path}", err=True)


@import_cli.command("parcels")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collective", "fbfbm", help="FBFBM of the collective; else from each DKBM.")
@click.option("--crs", help="CRS of the file when it declares none (or declares it wrongly).")
@click.option("--map", "map_text", help="Field mapping, NY/T=file: DKBM=code,DKMC=name")
@click.option("--layer", help="Layer to read (default: the first).")
@click.option("--encoding", help="Text encoding of a Shapefile without .cpg (e.g. GBK).")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--valid-only", is_flag=True, help="Promote the valid features, skip the others.")
@click.option("--geometry-only", is_flag=True, help="Check geometry only (with --dry-run).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="JSON report.")
@_EFFECTIVE_ON
def import_parcels(
    path,
    fbfbm,
    crs,
    map_text,
    layer,
    encoding,
    dry_run,
    valid_only,
    geometry_only,
    report,
    effective_on,
):
    """Import plots (NY/T 2539 DK layer): GeoPackage, GeoJSON, FlatGeobuf or zipped Shapefile."""
    if geometry_only and not dry_run:
        _say("--geometry-only 只能与 --dry-run 一起使用", "--geometry-only needs --dry-run")
        sys.exit(2)
    started = _STARTED[0] = time.perf_counter()
    collective = _collective(fbfbm)
    effective = _effective_on(effective_on)
    try:
        if crs:
            geo.parse_crs(crs)
        user_map = maps.parse_map_option(map_text, maps.PARCEL_FIELDS)
        stored = store_file(store_root(), path, path.name)
    except (ImportRefused, geo.GeoError) as exc:
        _refuse(exc)
    options = {
        "crs": crs,
        "mapping": user_map,
        "layer": layer,
        "encoding": encoding,
        "geometry_only": geometry_only,
        "dry_run": dry_run,
        "valid_only": valid_only,
        "effective_on": effective,
    }
    with trail.acting(_cli_actor("import.parcels")):
        job = state.create_job(
            "parcels",
            stored,
            collective_id=collective.id if collective else None,
            options={k: v for k, v in options.items() if v not in (None, {}, False)},
        )
        db.session.commit()
        with liveness.beating(job.id):
            job = runners.run_parcels(
                job, dry_run=dry_run, valid_only=valid_only, progress=_progress
            )
    _print_summary(job)
    _write_report(job, report)
    click.echo(
        f"done in {time.perf_counter() - started:.1f} s (peak memory {_peak_mb()} MB)", err=True
    )
    if job.status == JobStatus.FAILED:
        sys.exit(2)
    if job.status == JobStatus.REFUSED or (
        dry_run and (job.summary.get("invalid") or job.summary.get("file_errors"))
    ):
        sys.exit(1)


@import_cli.command("households")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--members", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collective", "fbfbm", help="FBFBM of the collective; else from each CBFBM.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--valid-only", is_flag=True, help="Import the valid households, skip the others.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="JSON report.")
@_EFFECTIVE_ON
def import_households(path, members, fbfbm, dry_run, valid_only, report, effective_on):
    """Import households (CBF) and their members (CBF_JTCY) from CSV or XLSX."""
    collective = _collective(fbfbm)
    effective = _effective_on(effective_on)
    try:
        root = store_root()
        stored = store_file(root, path, path.name)
        stored_members = store_file(root, members, members.name) if members else None
    except ImportRefused as exc:
        _refuse(exc)
    with trail.acting(_cli_actor("import.households")):
        job = state.create_job(
            "households",
            stored,
            collective_id=collective.id if collective else None,
            options={
                k: v
                for k, v in {
                    "dry_run": dry_run,
                    "valid_only": valid_only,
                    "effective_on": effective,
                }.items()
                if v
            },
            members=stored_members,
        )
        db.session.commit()
        with liveness.beating(job.id):
            job = runners.run_households(job, dry_run=dry_run, valid_only=valid_only)
    _print_summary(job)
    _write_report(job, report)
    if job.status == JobStatus.FAILED:
        sys.exit(2)
    if job.status == JobStatus.REFUSED or (
        dry_run and (job.summary.get("invalid") or job.summary.get("file_errors"))
    ):
        sys.exit(1)


@import_cli.command("reap")
def import_reap():
    """Mark import jobs whose process stopped (no heartbeat) as failed, so they can be discarded."""
    with trail.acting(_cli_actor("import.reap")):
        reaped = liveness.reap(db.session)
        db.session.commit()
    shown = ", ".join(map(str, reaped))
    if reaped:
        _say(
            f"{len(reaped)} 个导入任务的处理进程已停止，已标记为失败：{shown}",
            f"marked {len(reaped)} stopped job(s) failed: {shown}",
        )
    else:
        _say("没有处理进程已停止的导入任务", "no stopped jobs")


@import_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def import_worker(burst):
    """Run an RQ worker for import jobs (when REDIS_URL is set), inside this app's context."""
    from rq import Worker

    if not current_app.config.get("REDIS_URL"):
        _say("未设置 REDIS_URL，导入任务在网页进程内运行", "REDIS_URL is not set")
        sys.exit(2)
    q = runners.queue(current_app._get_current_object())
    Worker([q], connection=q.connection).work(burst=burst)


@export_cli.command("parcels")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--collective", "fbfbm", help="FBFBM of the collective to export.")
@click.option("--county", is_flag=True, help="Export every collective of the county.")
@click.option(
    "--format", "fmt", type=click.Choice(sorted(exporter.FORMATS)), required=True, help="Format."
)
def export_parcels(out, fbfbm, county, fmt):
    """Export current plots in the NY/T 2539 layout (GeoPackage, GeoJSON, Shapefile, XLSX)."""
    if bool(fbfbm) == bool(county):
        _say("请指定 --collective 或 --county 之一", "Give exactly one of --collective or --county")
        sys.exit(2)
    collective = _collective(fbfbm)
    with trail.acting(_cli_actor("export.parcels")):
        result = exporter.export_parcels(
            db.session, fmt, out, collective_id=collective.id if collective else None
        )
        db.session.commit()
    click.echo(f"exported {result.count} plots to {result.path} (sha256 {result.sha256})")
