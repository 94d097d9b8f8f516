"""Bounded work (issue 9): stacks of plots are one finding each, reports keep at most N problems
of a kind (all counted), and a job whose process died reads as failed and can be discarded."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely import affinity
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.geo import geometry as geo
from app.imports.models import ImportJob, ImportProblem, ImportStaging
from app.registry.models import Plot
from tests.conftest import PASSWORD, token_for
from tests.imports.conftest import COLLECTIVE_A, nyt_file

ROOT = Path(__file__).resolve().parents[2]


def _stacked_file(tmp_path: Path) -> tuple[Path, list[str], set[int]]:
    """400 plots: 0-199 the same square, 200-299 near copies of it (a stack), 300-399 a grid
    with 350 pushed into its neighbours. Returns the file, the codes, and the indices that
    overlap another beyond 1 m² (from the exact, quadratic pair list)."""
    path, _ = nyt_file(tmp_path, 400, seed=5)
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = doc["features"]
    x0, y0 = 506_000.0, 2_754_000.0  # inside EPSG:4547's area, away from the grid
    square = shapely.box(x0, y0, x0 + 30, y0 + 30)
    rng = np.random.default_rng(9)
    geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in feats]
    ring = list(square.exterior.coords)[:-1]
    rotated = shapely.Polygon(ring[2:] + ring[:2])  # the same square from another vertex
    for i in range(200):
        geoms[i] = square if i % 3 else rotated
    for i in range(200, 300):
        dx, dy = rng.uniform(0.01, 0.5, 2)
        geoms[i] = affinity.translate(square, dx, dy)
    geoms[350] = affinity.translate(geoms[351], 5.0, 3.0)
    for f, g in zip(feats, geoms, strict=True):
        f["geometry"] = json.loads(shapely.to_geojson(g))
    path.write_text(json.dumps(doc), encoding="utf-8")
    faulty = {i for p in geo.overlap_pairs(geoms, 1.0) for i in p[:2]}
    return path, [f["properties"]["DKBM"] for f in feats], faulty


@pytest.mark.load
def test_stacks_in_a_file_are_one_finding_each_and_every_member_is_faulty(
    app, cli, tmp_path, monkeypatch
):
    path, codes, faulty = _stacked_file(tmp_path)
    assert len(faulty) > 300  # the quadratic answer: 300 stacked plots plus the grid's pairs
    args = ("import", "parcels", path, "--collective", COLLECTIVE_A, "--dry-run")
    result, report = cli.report(*args, tmp_path=tmp_path)
    assert result.exit_code == 1, result.output
    assert report["invalid"] == len(faulty)
    groups = sorted(
        (p["problem"], p["message_en"].split(" ", 1)[0])
        for p in report["problems"]
        if p["problem"] in ("duplicate_plots", "stacked_plots")
    )
    # one finding per group, not one per pair (about 45,000 pairs)
    assert groups == [("duplicate_plots", "200"), ("stacked_plots", "101")]
    dup = next(p for p in report["problems"] if p["problem"] == "duplicate_plots")
    assert dup["index"] == 0 and "第 0 个" in dup["message_zh"] and "195 more" in dup["message_en"]
    # the ordinary overlaps of the grid are reported pair by pair, exactly as before
    grid = sorted((o["a"]["index"], o["b"]["index"]) for o in report["overlaps"])
    assert grid == sorted((i, j) for i, j, _ in geo.overlap_pairs(_grid(path), 1.0))
    assert len(report["problems"]) < 40

    # windows of 120 features cut the stack: still exact, still bounded
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 120)
    result, report = cli.report(*args, tmp_path=tmp_path)
    assert report["invalid"] == len(faulty)
    assert report["overlap_count"] < 100 * geo.CROWD  # not ~45,000

    result, report = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--valid-only", tmp_path=tmp_path
    )
    assert result.exit_code == 0, result.output
    promoted = set(db.session.scalars(select(Plot.dkbm).where(Plot.end_lifespan.is_(None))))
    assert promoted == {c for i, c in enumerate(codes) if i not in faulty}


def _grid(path: Path) -> list:
    """The file's plots from 300 on, None for the others (indices stay the file's)."""
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    return [
        shapely.from_geojson(json.dumps(f["geometry"])) if i >= 300 else None
        for i, f in enumerate(feats)
    ]


def test_thousands_of_identical_and_stacked_squares_give_a_few_findings():
    square = shapely.box(0, 0, 30, 30)
    rng = np.random.default_rng(1)
    geoms = [square] * 5000
    geoms += [affinity.translate(square, dx, dy) for dx, dy in rng.uniform(0, 0.5, (2000, 2))]
    geoms += [shapely.box(100 + 30 * i, 0, 130 + 30 * i, 30) for i in range(50)]  # a row
    geoms.append(shapely.box(105, 5, 115, 15))  # inside the first plot of the row
    found = geo.overlap_findings(geoms, 1.0)
    kinds = sorted((g.kind, len(g.members)) for g in found.groups)
    assert kinds == [("duplicate", 5000), ("stack", 2001)]
    assert found.pairs == [(7000, 7050, pytest.approx(100.0))]
    assert found.faulty() == set(range(7001)) | {7050}


@pytest.mark.parametrize("seed", range(12))
def test_bounded_search_marks_exactly_the_plots_the_full_search_marks(seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 200, (250, 2))
    size = rng.uniform(5, 60, (250, 2))
    geoms = [shapely.box(x, y, x + w, y + h) for (x, y), (w, h) in zip(xy, size, strict=True)]
    geoms += geoms[:4] * 3 + [None]  # some plots three and four times over
    full = geo.overlap_pairs(geoms, 1.0)
    expected = {i for p in full for i in p[:2]}
    areas = {(i, j): a for i, j, a in full}
    for crowd in (2, 8, geo.CROWD):
        found = geo.overlap_findings(geoms, 1.0, crowd=crowd)
        assert found.faulty() == expected
        assert all(areas[(i, j)] == pytest.approx(a) for i, j, a in found.pairs)
    # nothing crowded: exactly the pair list of overlap_pairs
    calm = geoms[:250]
    assert geo.overlap_findings(calm, 1.0, crowd=10_000).pairs == geo.overlap_pairs(calm, 1.0)


# --------------------------------------------------------------------------------------------
# At most N problems of a kind in the report, all counted
# --------------------------------------------------------------------------------------------


def _kinds(report: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in report["problem_kinds"]:
        out[k["problem"]] = out.get(k["problem"], 0) + k["total"]
    return out


def test_report_keeps_n_problems_of_a_kind_and_counts_the_rest(
    app, cli, client, auth, baseline, tmp_path, monkeypatch
):
    path, planted = nyt_file(tmp_path, 300, invalid=20, overlapping=12, seed=4)
    args = ("import", "parcels", path, "--collective", COLLECTIVE_A, "--dry-run")
    _, full = cli.report(*args, tmp_path=tmp_path)
    monkeypatch.setitem(app.config, "IMPORT_REPORT_MAX_PER_KIND", 3)
    _, capped = cli.report(*args, tmp_path=tmp_path)

    for key in ("invalid", "valid", "errors", "warnings", "geometry_invalid", "overlap_count"):
        assert capped[key] == full[key], key
    assert _kinds(capped) == _kinds(full)
    assert _kinds(full)["self_intersection"] == 20
    shown: dict[str, int] = {}
    for p in capped["problems"]:
        shown[p["problem"]] = shown.get(p["problem"], 0) + 1
    assert max(shown.values()) <= 3
    assert shown["self_intersection"] == 3
    assert capped["more_of_kind"]["self_intersection"] == 17
    assert capped["more_of_kind"]["overlap"] == _kinds(full)["overlap"] - 3

    # the same rows are faulty: all or nothing refuses, valid only promotes the same plots
    result, report = cli.report(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--valid-only", tmp_path=tmp_path
    )
    assert result.exit_code == 0, result.output
    assert report["promoted"] == full["valid"] == 300 - full["invalid"]
    bad = {p["code"] for p in full["problems"] if p["severity"] == "error"}
    assert not bad & set(db.session.scalars(select(Plot.dkbm)))

    # the page and the API say how many more there are
    job_id = db.session.scalar(select(func.max(ImportJob.id)))
    auth.login("admin_a")
    page = client.get(f"/imports/{job_id}")
    assert page.status_code == 200
    assert "17" in page.text and ("还有" in page.text or "more of this kind" in page.text)
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    body = client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()
    kinds = {k["problem"]: k for k in body["summary"]["problem_kinds"]}
    assert kinds["self_intersection"]["total"] == 20 and kinds["self_intersection"]["shown"] == 3
    rows = db.session.scalar(
        select(func.count()).select_from(ImportProblem).where(ImportProblem.job_id == job_id)
    )
    assert rows < sum(_kinds(full).values())


# --------------------------------------------------------------------------------------------
# A job whose process died
# --------------------------------------------------------------------------------------------

_WORKER = """
import sys
from rq import SimpleWorker
from tests.conftest import app_for
from app.imports import runners

url, store, queue_name = sys.argv[1:4]
app = app_for(
    url,
    IMPORT_STORE=store,
    IMPORT_BATCH=100,
    IMPORT_EAGER=False,
    IMPORT_HEARTBEAT_STALE_SECONDS=2,
    IMPORT_RUNNER="auto",
    REDIS_URL="redis://127.0.0.1:6379/0",
    IMPORT_QUEUE=queue_name,
)
with app.app_context():
    q = runners.queue(app)
    SimpleWorker([q], connection=q.connection).work(burst=True)
"""


def _job(app, job_id: int) -> ImportJob:
    from app.core.database import write_intent

    # a reader: a deferred BEGIN, never waiting for the worker's write lock (SQLite)
    with app.app_context(), write_intent(False):
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        db.session.remove()
        return job


@pytest.mark.crash
@pytest.mark.parametrize("how", ["page", "reap_then_api"])
def test_a_job_whose_worker_was_killed_reads_as_failed_and_can_be_discarded(
    fresh_app, tmp_path, how
):
    from redis import Redis

    assert Redis.from_url("redis://127.0.0.1:6379/0").ping()
    queue_name = f"sanquan-test-{uuid.uuid4().hex[:8]}"
    store = str(tmp_path / "store")
    fresh_app.config.update(
        IMPORT_STORE=store,
        IMPORT_RUNNER="auto",
        REDIS_URL="redis://127.0.0.1:6379/0",
        IMPORT_QUEUE=queue_name,
        IMPORT_HEARTBEAT_STALE_SECONDS=2,
    )
    path, _ = nyt_file(tmp_path, 20_000, seed=8)
    client = fresh_app.test_client()
    client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    with fresh_app.app_context():
        cid = fresh_app.extensions["sanquan_baseline"].collective_a
    data = {"kind": "parcels", "file": (io.BytesIO(path.read_bytes()), path.name)}
    r = client.post(f"/collectives/{cid}/imports", data=data, content_type="multipart/form-data")
    job_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    assert _job(fresh_app, job_id).status == "queued"

    url = fresh_app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, url, store, queue_name], cwd=ROOT, env=env
    )
    try:
        # wait until the worker is well into the file and its heartbeat thread has stamped
        deadline = time.monotonic() + 120
        while True:
            job = _job(fresh_app, job_id)
            beating = job.heartbeat_at is not None and job.heartbeat_at > job.started_at
            if job.status == "running" and job.done >= 300 and beating:
                break
            assert job.status in ("queued", "running"), job.status
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
        with fresh_app.app_context():
            from app.imports import runners

            runners.queue(fresh_app).delete(delete_jobs=True)

    job = _job(fresh_app, job_id)
    assert job.status == "running"  # killed before it finished
    headers = {"Authorization": f"Bearer {token_for(fresh_app, 'admin_a')}"}
    body = client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()
    assert body["status"] == "running"  # not yet silent for long: it may still be working

    # Nothing stamps the job any more: once its silence passes the setting (2 s here) it reads
    # as failed. Polled against a deadline, not slept for a fixed time.
    deadline = time.monotonic() + 30
    while (body := client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json())[
        "status"
    ] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert body["status"] == "failed"
    assert body["error"]["code"] == "process_stopped"
    assert "discard" in body["error"]["message_en"].lower()
    page = client.get(f"/imports/{job_id}")
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert "进程已停止" in page.text or "process handling this import stopped" in page.text
    assert f"/imports/{job_id}/discard" in page.text

    if how == "page":
        r = client.post(f"/imports/{job_id}/discard", data={})
        assert r.status_code == 302
    else:
        result = fresh_app.test_cli_runner().invoke(args=["import", "reap"])
        assert result.exit_code == 0 and str(job_id) in result.output, result.output
        job = _job(fresh_app, job_id)
        assert job.status == "failed" and job.error_code == "process_stopped"
        r = client.post(f"/api/v1/imports/{job_id}/discard", headers=headers)
        assert r.status_code == 200 and r.get_json()["status"] == "discarded"

    with fresh_app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.status == "discarded"
        staged = select(func.count()).select_from(ImportStaging)
        assert db.session.scalar(staged.where(ImportStaging.job_id == job_id)) == 0
        assert db.session.scalar(select(func.count()).select_from(Plot)) == 0
        events = set(
            db.session.scalars(select(AuditEntry.event).where(AuditEntry.object_id == str(job_id)))
        )
        assert "import.discard" in events
        assert ("import.reap" in events) == (how != "page")
        db.session.remove()


def test_a_running_job_with_a_fresh_heartbeat_cannot_be_discarded(
    app, client, auth, baseline, tmp_path
):
    from app.core.models import utcnow

    path, _ = nyt_file(tmp_path, 5)
    auth.login("admin_a")
    data = {"kind": "parcels", "file": (io.BytesIO(path.read_bytes()), path.name)}
    client.post(
        f"/collectives/{baseline.collective_a}/imports",
        data=data,
        content_type="multipart/form-data",
    )
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    job.status, job.heartbeat_at = "running", utcnow()
    db.session.flush()
    url = f"/api/v1/imports/{job.id}"
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(f"{url}/discard", headers=headers)
    assert r.status_code == 422
    assert client.get(url, headers=headers).get_json()["status"] == "running"


@pytest.mark.crash
def test_the_heartbeat_thread_stamps_a_running_job_every_few_seconds(fresh_app, tmp_path):
    from app.audit import trail
    from app.imports import liveness, state
    from app.imports.readers import store_file

    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store"), IMPORT_HEARTBEAT_STALE_SECONDS=1)
    path, _ = nyt_file(tmp_path, 3)
    with fresh_app.app_context(), trail.acting(trail.AuditContext(actor="t", role="system")):
        (tmp_path / "store").mkdir(exist_ok=True)
        stored = store_file(tmp_path / "store", path, path.name)
        job = state.create_job("parcels", stored, collective_id=None, options={})
        job.status = "running"
        db.session.commit()
        job_id = job.id
        assert liveness.interval(1) < 0.5
        seen = []
        with liveness.beating(job_id):
            deadline = time.monotonic() + 10
            while len(set(seen)) < 3 and time.monotonic() < deadline:
                db.session.remove()
                seen.append(db.session.get(ImportJob, job_id).heartbeat_at)
                time.sleep(0.1)
        db.session.remove()
        assert len({s for s in seen if s is not None}) >= 2  # stamped, and stamped again
        assert not liveness.stopped(db.session.get(ImportJob, job_id))
        # The block is over: no more stamps, so the job reads as stopped once its silence
        # passes the setting (1 s here). Polled against a deadline.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.remove()
            if liveness.stopped(db.session.get(ImportJob, job_id)):
                break
            time.sleep(0.1)
        db.session.remove()
        assert liveness.stopped(db.session.get(ImportJob, job_id))
        db.session.remove()
