"""Promotion beside validation (app.imports.eager) writes exactly what the ordinary one writes.

These run on a database of their own with real commits (``fresh_app``): the registry is written
on a second connection, which must see the staged windows that the first one commits. On SQLite
the command line promotes after validation; the same assertions hold there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely import affinity
from sqlalchemy import func, select

from app.audit import trail
from app.audit.models import AuditEntry
from app.audit.services import verify_database
from app.extensions import db
from app.imports.models import ImportJob, ImportStaging
from app.imports.promote import verify_promotion
from app.registry.models import Plot, SourceDocument
from app.registry.versioning import RegistryObject
from tests.imports.conftest import COLLECTIVE_A, COLLECTIVE_B, ORIGIN_A, ORIGIN_B, nyt_file

pytestmark = pytest.mark.concurrency

N = 120
BATCH = 25  # five windows: the planted faults below span them


def _faulty_file(tmp_path: Path, fbfbm: str, origin: tuple[float, float], name: str) -> Path:
    """N plots in windows of 25 with faults only later windows reveal about earlier ones."""
    plain, _ = nyt_file(tmp_path, N, name=f"plain-{name}", fbfbms=[fbfbm], origin=origin, seed=5)
    meta, _fids, wkb, fields = pyogrio.raw.read(str(plain))
    geoms = shapely.from_wkb(wkb)
    codes = fields[0].copy()
    geoms[70] = affinity.translate(geoms[10], 3.0, 2.0)  # window 3 overlaps window 1
    codes[95] = codes[30]  # window 4 repeats a code of window 2
    geoms[50] = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])  # a bow-tie
    geoms[50] = affinity.translate(geoms[50], *origin)
    out = tmp_path / name
    pyogrio.raw.write(
        str(out),
        shapely.to_wkb(geoms),
        [codes, *fields[1:]],
        fields=list(meta["fields"]),
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="Polygon",
    )
    return out


def _import(app, path: Path, fbfbm: str, *args: str, eager: bool = True):
    app.config.update(IMPORT_BATCH=BATCH, IMPORT_EAGER=eager)
    report = path.with_suffix(".json")
    result = app.test_cli_runner().invoke(
        args=["import", "parcels", str(path), "--collective", fbfbm, "--report", str(report), *args]
    )
    return result, json.loads(report.read_text(encoding="utf-8"))


def _promoted_indices(fbfbm: str) -> set[int]:
    """Feature numbers (from the code's sequence) of the collective's current plots."""
    codes = db.session.scalars(
        select(Plot.dkbm).where(Plot.dkbm.like(fbfbm + "%"), Plot.end_lifespan.is_(None))
    )
    return {int(c[-5:]) - 1 for c in codes}


def test_valid_only_beside_validation_promotes_the_same_plots(fresh_app, tmp_path):
    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store"))
    beside = _faulty_file(tmp_path, COLLECTIVE_A, ORIGIN_A, "a.gpkg")
    after = _faulty_file(tmp_path, COLLECTIVE_B, ORIGIN_B, "b.gpkg")
    result_a, report_a = _import(fresh_app, beside, COLLECTIVE_A, "--valid-only")
    result_b, report_b = _import(fresh_app, after, COLLECTIVE_B, "--valid-only", eager=False)
    assert result_a.exit_code == 0, result_a.output
    assert result_b.exit_code == 0, result_b.output

    with fresh_app.app_context():
        backend = db.engine.dialect.name
        jobs = db.session.scalars(select(ImportJob).order_by(ImportJob.id)).all()
        expected = "beside_validation" if backend == "postgresql" else "after_validation"
        assert [j.summary["promotion"] for j in jobs] == [expected, "after_validation"]
        # the faults: 70 overlaps 10 (and its neighbours), 30 and 95 share a code, 50 is a bow-tie
        faulty = {p["index"] for p in report_a["problems"] if p["severity"] == "error"}
        assert {10, 70, 30, 95, 50} <= faulty
        assert faulty == {p["index"] for p in report_b["problems"] if p["severity"] == "error"}
        assert _promoted_indices(COLLECTIVE_A) == set(range(N)) - faulty
        assert _promoted_indices(COLLECTIVE_A) == _promoted_indices(COLLECTIVE_B)
        assert report_a["promoted"] == report_b["promoted"] == N - len(faulty)
        # every plot has its registry object and cites its collective's imported file
        plots = db.session.scalars(select(Plot).where(Plot.dkbm.like(COLLECTIVE_A + "%"))).all()
        objects = set(db.session.scalars(select(RegistryObject.id)))
        assert all(p.uid in objects for p in plots)
        doc = db.session.get(SourceDocument, jobs[0].source_document_id)
        assert {p.source_document_id for p in plots} == {doc.id}
        assert doc.sha256 == jobs[0].sha256
        # nothing but the promoted plots became plot objects (none taken out again is left)
        plot_objects = select(func.count()).select_from(RegistryObject)
        assert db.session.scalar(plot_objects.where(RegistryObject.kind == "plot")) == (
            db.session.scalar(select(func.count()).select_from(Plot))
        )
        # the per-batch proofs recompute from the registry, and the chain is whole
        events = db.session.scalars(
            select(AuditEntry).where(AuditEntry.event == "import.promote")
        ).all()
        proofs = [json.loads(e.after) for e in events if e.action == "event"]
        assert sum(p["count"] for p in proofs) == 2 * (N - len(faulty))
        assert all(verify_promotion(db.session, p) for p in proofs)
        count, problem = verify_database()
        assert problem is None and count > 0
        assert db.session.scalar(select(func.count()).select_from(ImportStaging)) == 0


def test_all_or_nothing_beside_validation_leaves_the_registry_untouched(fresh_app, tmp_path):
    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store"))
    path = _faulty_file(tmp_path, COLLECTIVE_A, ORIGIN_A, "a.gpkg")
    with fresh_app.app_context():
        before = {
            m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (Plot, RegistryObject, SourceDocument)
        }
    result, report = _import(fresh_app, path, COLLECTIVE_A)
    assert result.exit_code == 1
    assert report["status"] == "refused" and report["promoted"] == 0
    with fresh_app.app_context():
        after = {
            m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (Plot, RegistryObject, SourceDocument)
        }
        assert after == before
        assert verify_database()[1] is None


def test_a_clean_file_beside_validation_is_one_proof_per_window_group(fresh_app, tmp_path):
    """The clean case: every plot promoted, the job PROMOTED in the same transaction."""
    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store"))
    path, _ = nyt_file(tmp_path, 60, fbfbms=[COLLECTIVE_A])
    result, report = _import(fresh_app, path, COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        job = db.session.scalar(select(ImportJob))
        assert job.status == "promoted" and job.promoted == 60 == report["promoted"]
        geoms = db.session.scalars(
            select(func.ST_AsBinary(Plot.geom)).where(Plot.dkbm.like(COLLECTIVE_A + "%"))
        ).all()
        areas = shapely.area(shapely.from_wkb([bytes(g) for g in geoms]))
        assert len(areas) == 60 and np.all(areas > 100)
        with trail.acting(trail.SYSTEM):
            assert verify_database()[1] is None
