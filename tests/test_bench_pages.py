"""The pages benchmark's code path at a tiny size, so it cannot rot (no time is asserted).

``bench/pages.py`` on its own database: the app and the bare endpoint each served by gunicorn
with the production image's options, logins through the login form, 16 clients in separate
processes GETting the pages; every answer must be a page (the benchmark fails otherwise).
"""

from __future__ import annotations

import pytest

from app.audit import trail
from app.extensions import db
from bench import pages
from tests.conftest import PASSWORD
from tests.factories import people as pf

pytestmark = pytest.mark.load


def test_the_pages_benchmark_runs_its_servers_logins_and_clients(fresh_app):
    baseline = fresh_app.extensions["sanquan_baseline"]
    with (
        fresh_app.app_context(),
        trail.acting(trail.AuditContext(actor="test-setup", role="system")),
    ):
        _head, household = pf.household(baseline.collective_a, "周家")
        db.session.commit()
        uid = household.uid
    plan = pages.Plan(
        [
            pages.Login(
                "admin_a",
                PASSWORD,
                [f"/households/{uid}", f"/collectives/{baseline.collective_a}"],
            ),
            pages.Login("bureau", PASSWORD, ["/market/queue"]),
        ]
    )
    url = fresh_app.config["SQLALCHEMY_DATABASE_URI"]
    result = pages.measure(url, plan, rounds=1, seconds=2, warm=0.5)
    assert result["rounds"]["pages"][0]["requests"] > 0
    assert result["rounds"]["bare"][0]["requests"] > 0
    assert set(result["urls"]) == {
        f"/households/{uid}",
        f"/collectives/{baseline.collective_a}",
        "/market/queue",
    }
    assert result["page_throughput_vs_bare"] > 0
