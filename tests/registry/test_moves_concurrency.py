"""Racing countersigns and requests of one move on real commits: exactly one wins.

Each thread has its own app context, so its own session and connection; the database decides who
wins (SQLite: BEGIN IMMEDIATE serialises writers; PostgreSQL: the move's and the plot's row locks
and the partial unique index of pending moves).
"""

from __future__ import annotations

import pytest

from app.audit import trail
from app.extensions import db
from app.registry import history, land, moves
from app.registry.models import Plot, RightMove
from tests.concurrency import ACTOR, race
from tests.factories import land as fx

pytestmark = pytest.mark.concurrency


def _plot_and_two_contracts(app):
    c = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        first, second, third = fx.contract(c), fx.contract(c), fx.contract(c)
        x, y = fx.origin(c)
        plot = fx.add(c, fx.square(x, y), contract_uid=first.uid).plot
        docs = [fx.make_document(c), fx.make_document(c)]
        out = plot.uid, first.uid, [second.uid, third.uid], docs
        db.session.commit()
        db.session.remove()
    return out


def test_concurrent_countersigns_of_one_move_apply_it_once(fresh_app):
    app = fresh_app
    plot_uid, _first, targets, docs = _plot_and_two_contracts(app)
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        move_id = moves.request_move(
            "plot_move",
            plot_uid,
            basis="court_ruling",
            source_document_id=docs[0],
            reason="判决",
            to_contract_uid=targets[0],
        ).id
        db.session.commit()
        db.session.remove()

    def countersign(i):
        def job():
            ctx = trail.AuditContext(actor=f"bureau{i}", actor_id=100 + i, role="bureau_reviewer")
            with trail.acting(ctx):
                moves.countersign_move(move_id)

        return job

    results = race(app, [countersign(0), countersign(1)])
    assert sorted(results) == ["move_state", "ok"], results
    with app.app_context(), app.test_request_context():
        assert history.current_of(Plot, plot_uid).contract_uid == targets[0]
        assert len(history.versions(Plot, plot_uid)) == 2  # moved once
        assert db.session.get(RightMove, move_id).state == "applied"
        db.session.remove()


def test_concurrent_requests_for_one_plot_leave_one_pending(fresh_app):
    app = fresh_app
    plot_uid, first, targets, docs = _plot_and_two_contracts(app)

    def request(i):
        return lambda: land.assign_plot_to_contract(
            plot_uid, targets[i], source_document_id=docs[i], reason="判决", basis="court_ruling"
        )

    results = race(app, [request(0), request(1)])
    assert sorted(results) == ["move_pending", "ok"], results
    with app.app_context(), app.test_request_context():
        pending = db.session.scalars(
            RightMove.__table__.select().where(RightMove.state == "pending")
        ).all()
        assert len(pending) == 1
        assert history.current_of(Plot, plot_uid).contract_uid == first
        db.session.remove()
