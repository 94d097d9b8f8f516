"""A plot drawn on the web while an import runs never leaves an overlap nobody was told about.

An import checks its plots against the registry, then promotes them (moments later on the
command line, or after the user read the report on the web). A web edit that lands in between
checks itself against the registry too, but the import's plots are not there yet. Unless the two
are ordered (spatial_checks.hold_geometry_writes), each misses the other. These tests put a web
edit in exactly that gap, with real commits on both databases, and ask of the end state: either
the imported plot was held back, or the overlap is an open finding.

Also: the garbage-collector pause of a big import belongs to the command line's process only.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from shapely.geometry import box
from sqlalchemy import select

from app.audit import trail
from app.divisions.models import Collective
from app.extensions import db
from app.imports import eager, jobs, parcels, runners
from app.imports import promote as promote_module
from app.imports.models import ImportJob, JobStatus
from app.registry import land
from app.registry.models import GeometryFinding, Plot
from tests.conftest import BACKEND
from tests.factories.land import geojson, make_document
from tests.imports.conftest import COLLECTIVE_A, ORIGIN_A, nyt_file

pytestmark = pytest.mark.concurrency

N = 12
WEB_ACTOR = trail.AuditContext(actor="admin_a", role="collective_admin")
# Over the first generated plot (a ~30 m cell at ORIGIN_A): about 400 m² of interior overlap.
OVER_FIRST = box(ORIGIN_A[0] + 5, ORIGIN_A[1] + 5, ORIGIN_A[0] + 25, ORIGIN_A[1] + 25)
WEB_CODE = COLLECTIVE_A + "90001"
FIRST_CODE = COLLECTIVE_A + "00001"


def _web_edit(app) -> None:
    """What the plot page does: add a plot citing an uploaded survey (its own overlap check)."""
    with app.app_context(), trail.acting(WEB_ACTOR):
        collective_id = db.session.scalar(
            select(Collective.id).where(Collective.fbfbm == COLLECTIVE_A)
        )
        document_id = make_document(collective_id)  # uploaded before, in a request of its own
        db.session.commit()
        db.session.remove()
    with app.app_context(), app.test_request_context(), trail.acting(WEB_ACTOR):
        try:
            land.add_plot(
                collective_id,
                WEB_CODE,
                geojson(OVER_FIRST),
                "EPSG:4547",
                source_document_id=document_id,
                reason="补测新增地块",
            )
            db.session.commit()
        finally:
            db.session.remove()


def _web_edit_in_a_thread(app) -> threading.Thread:
    thread = threading.Thread(target=_web_edit, args=(app,))
    thread.start()
    return thread


def _assert_no_silent_overlap() -> None:
    """The imported plot under the web plot was held back, or the overlap is an open finding."""
    current = {
        p.dkbm: p.uid
        for p in db.session.scalars(select(Plot).where(Plot.end_lifespan.is_(None))).all()
    }
    assert WEB_CODE in current, "the web edit did not land"
    if FIRST_CODE not in current:
        return
    pair = {current[WEB_CODE], current[FIRST_CODE]}
    findings = db.session.scalars(
        select(GeometryFinding).where(GeometryFinding.kind == "overlap")
    ).all()
    assert any({f.plot_uid, f.other_plot_uid} == pair for f in findings), (
        "the web plot and the imported plot overlap and nobody was told"
    )


def _import(app, path: Path, *args: str):
    return app.test_cli_runner().invoke(
        args=["import", "parcels", str(path), "--collective", COLLECTIVE_A, *args]
    )


@pytest.fixture
def dk(fresh_app, tmp_path) -> Path:
    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store"), IMPORT_RUNNER="inline")
    path, _ = nyt_file(tmp_path, N, name="dk.geojson", seed=3)
    return path


# Promotion beside validation exists on PostgreSQL only; SQLite promotes after validation.
EAGER_MODES = [False, True] if BACKEND == "postgresql" else [False]


@pytest.mark.parametrize("eager_mode", EAGER_MODES, ids=lambda e: "beside" if e else "after")
def test_a_web_plot_drawn_between_the_checks_and_the_promotion_is_found(
    fresh_app, dk, monkeypatch, eager_mode
):
    """The command line: validation's check, then (here) a web edit, then the promotion."""
    fresh_app.config.update(IMPORT_EAGER=eager_mode)
    if eager_mode:
        original = eager.EagerPromotion.finish

        def finish(self):
            _web_edit_in_a_thread(fresh_app).join(timeout=60)
            return original(self)

        monkeypatch.setattr(eager.EagerPromotion, "finish", finish)
    else:
        original_promote = runners.promote_job

        def promote_job(job, **kw):
            # SQLite: the command line's session holds the write lock again at once; the web
            # edit is the writer that gets in during the instant between (modelled: commit).
            db.session.commit()
            _web_edit_in_a_thread(fresh_app).join(timeout=60)
            return original_promote(job, **kw)

        monkeypatch.setattr(runners, "promote_job", promote_job)

    result = _import(fresh_app, dk, "--valid-only")
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        _assert_no_silent_overlap()
        job = db.session.scalars(select(ImportJob)).one()
        assert job.status == JobStatus.PROMOTED
        assert job.promoted == N - 1  # all but the plot the web edit drew over
        assert job.summary["promotion"] == "after_validation"


def test_a_web_plot_racing_the_promotion_waits_for_it(fresh_app, dk, monkeypatch):
    """The web flow: the report read, the user promotes; a web edit arrives mid-promotion."""
    with fresh_app.app_context(), trail.acting(WEB_ACTOR):
        collective = db.session.scalar(select(Collective).where(Collective.fbfbm == COLLECTIVE_A))
        with dk.open("rb") as stream:
            job = jobs.upload(collective, "parcels", stream, dk.name)
        db.session.commit()
        job = parcels.validate_parcels(job)
        db.session.commit()
        assert job.status == JobStatus.VALIDATED
        job_id = job.id

    checked = threading.Event()
    go_on = threading.Event()
    original = promote_module.promote_parcels

    def promote_parcels(session, job, **kw):
        checked.set()  # the registry was checked again: the web edit arrives now
        go_on.wait(timeout=60)
        return original(session, job, **kw)

    monkeypatch.setattr(promote_module, "promote_parcels", promote_parcels)
    outcome: dict[str, object] = {}

    def promote() -> None:
        with fresh_app.app_context(), trail.acting(WEB_ACTOR):
            try:
                outcome["job"] = runners.promote_job(
                    db.session.get(ImportJob, job_id), valid_only=False
                ).status
            finally:
                db.session.remove()

    promoter = threading.Thread(target=promote)
    promoter.start()
    assert checked.wait(timeout=60)
    web = _web_edit_in_a_thread(fresh_app)
    # Held back, the web edit cannot finish while the promotion is open; give it the chance to.
    web.join(timeout=3)
    go_on.set()
    promoter.join(timeout=60)
    web.join(timeout=60)
    assert not promoter.is_alive() and not web.is_alive()
    assert outcome["job"] == JobStatus.PROMOTED
    with fresh_app.app_context():
        _assert_no_silent_overlap()


def test_only_the_command_line_pauses_the_garbage_collector(app, tmp_path, monkeypatch):
    """A web or queue worker validates with the collector running; the command line pauses it."""
    monkeypatch.setitem(app.config, "IMPORT_STORE", str(tmp_path / "store"))
    seen: list[bool] = []
    original = parcels.release_memory

    def release_memory() -> None:
        seen.append(gc.isenabled())
        original()

    monkeypatch.setattr(parcels, "release_memory", release_memory)
    path, _ = nyt_file(tmp_path, N, name="gc.geojson", seed=4)
    with app.app_context(), trail.acting(WEB_ACTOR):
        collective = db.session.scalar(select(Collective).where(Collective.fbfbm == COLLECTIVE_A))
        with path.open("rb") as stream:
            job = jobs.upload(collective, "parcels", stream, path.name)
        parcels.validate_parcels(job)
        db.session.rollback()
    assert seen and all(seen), "the web path paused the collector"
    seen.clear()
    result = app.test_cli_runner().invoke(
        args=["import", "parcels", str(path), "--collective", COLLECTIVE_A, "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert seen and not any(seen), "the command line ran with the collector on"
    assert gc.isenabled()
