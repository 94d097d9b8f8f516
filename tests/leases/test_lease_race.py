"""Two leases of the same plot recorded at the same moment, on real commits: exactly one is
recorded, the other is refused in words (the contract's lock orders them)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.extensions import db
from app.leases import services
from app.leases.models import Lease
from tests.concurrency import ACTOR, race_outcomes
from tests.factories import encumbrances as ef
from tests.factories import land as lf

pytestmark = pytest.mark.concurrency


def test_two_leases_of_one_plot_at_once_one_wins(fresh_app):
    app = fresh_app
    a = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        doc = lf.make_document(a, "出租合同")
        holder = ef.contract_with_plots(a, "甲户", doc)
        takers = [ef.contract_with_plots(a, name, doc, plots=1) for name in ("乙户", "丙户")]
        db.session.commit()
        db.session.remove()

    def lease_to(taker: dict):
        return lambda: services.record_lease(
            a,
            holder["contract_uid"],
            [holder["plot_uids"][0]],
            lessee=services.Lessee(
                kind="member_household", name="", household_uid=taker["household_uid"]
            ),
            method="lease",
            use="grain",
            starts_on=date(2026, 3, 1),
            ends_on=date(2028, 2, 29),
            rent_fen_per_mu_year=50000,
            payment_schedule="annual",
            contract_document_id=doc,
            on=lf.TODAY,
        )

    outcomes = race_outcomes(app, [lease_to(t) for t in takers])
    assert sorted(o.result for o in outcomes) == ["ok", "plot_already_leased"], outcomes
    refused = next(o for o in outcomes if o.result != "ok")
    assert refused.message and "2028-02-29" in refused.message
    with app.app_context():
        assert db.session.scalar(select(func.count(Lease.id))) == 1
