"""Plots saved at the same moment, on real commits: overlaps are still found, codes stay unique,
and the loser gets a clear refusal, never a server error."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from app.audit import trail
from app.extensions import db
from app.registry import land
from app.registry.models import GeometryFinding, Plot
from tests.concurrency import ACTOR, race
from tests.factories import land as fx

pytestmark = pytest.mark.concurrency


def _setup(app) -> tuple[int, int, list[str]]:
    c = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        doc = fx.make_document(c)
        codes = [fx.dkbm(c), fx.dkbm(c)]
        while codes[0] == codes[1]:
            codes[1] = fx.dkbm(c)
        db.session.commit()
        db.session.remove()
    return c, doc, codes


def _add(c: int, doc: int, code: str, geom):
    return lambda: land.add_plot(
        c, code, fx.geojson(geom), "EPSG:4547", source_document_id=doc, reason="并发"
    )


def test_overlap_with_a_plot_not_yet_committed_is_still_found(fresh_app):
    """The second writer must wait for the first: had it checked overlaps while the first plot
    was still uncommitted, it would not have seen it and the overlap would go unrecorded."""
    c, doc, codes = _setup(fresh_app)
    x, y = fx.BASE_X, fx.BASE_Y
    first_added = threading.Event()
    results: dict[str, str] = {}

    def first():
        with fresh_app.app_context(), fresh_app.test_request_context(), trail.acting(ACTOR):
            try:
                _add(c, doc, codes[0], fx.square(x, y, 40))()
                first_added.set()
                time.sleep(0.5)  # the second writer runs now, while this plot is uncommitted
                db.session.commit()
                results["first"] = "ok"
            finally:
                first_added.set()
                db.session.remove()

    def second():
        first_added.wait(timeout=10)
        with fresh_app.app_context(), fresh_app.test_request_context(), trail.acting(ACTOR):
            try:
                change = _add(c, doc, codes[1], fx.square(x + 20, y, 40))()
                results["second_findings"] = str(len(change.findings))
                db.session.commit()
                results["second"] = "ok"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {"first": "ok", "second": "ok", "second_findings": "1"}
    with fresh_app.app_context():
        findings = list(db.session.scalars(select(GeometryFinding)))
        assert len(findings) == 1 and findings[0].state == "open"
        assert findings[0].overlap_m2 == pytest.approx(800.0)
        db.session.remove()


def test_same_plot_code_saved_twice_at_once(fresh_app):
    c, doc, codes = _setup(fresh_app)
    x, y = fx.BASE_X, fx.BASE_Y
    results = race(
        fresh_app,
        [
            _add(c, doc, codes[0], fx.square(x, y, 40)),
            _add(c, doc, codes[0], fx.square(x + 100, y, 40)),
        ],
    )
    assert sorted(results) == ["dkbm_taken", "ok"]
    with fresh_app.app_context():
        current = db.session.scalars(
            select(Plot).where(Plot.dkbm == codes[0], Plot.end_lifespan.is_(None))
        ).all()
        assert len(current) == 1
        db.session.remove()
