"""Dashboards (issue 15 item 2): a collective's for its administrator, the county's or one
township's for the bureau and auditors; each figure a link to the list behind it, each chart drawn
by the vendored ECharts from an option the server builds, with its numbers in a table beside it."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from app.audit import trail
from app.extensions import db
from app.oversight.report import county_report
from app.registry.history import county_today
from app.registry.models import Household, Plot
from tests.oversight import world

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


@pytest.fixture
def villages(ctx, baseline):
    """In A: a household settled 100 days ago that transferred its land (flagged, decided by the
    bureau, registered today) and one settled long ago whose listing waits; in B: one settled
    household."""
    a, b = baseline.collective_a, baseline.collective_b
    doc_a, doc_b = world.document(a), world.document(b)
    _one, p1, c1 = world.household(a, doc_a, "一户", settled_on=county_today() - timedelta(100))
    world.completed(a, world.accepted(a, world.declared(a, p1.uid, c1.uid, doc_a)))
    _two, p2, c2 = world.household(a, doc_a, "二户", settled_on=county_today() - timedelta(500))
    waiting = world.declared(a, p2.uid, c2.uid, doc_a)
    world.household(b, doc_b, "三户", settled_on=county_today() - timedelta(300))
    db.session.commit()
    return {"a": a, "b": b, "waiting": waiting}


def _figures(page: str) -> dict[str, tuple[str, str | None]]:
    """label -> (value, link) of the page's figures."""
    found = {}
    for block in re.findall(r'<div class="card">(.*?)</div>\s*</div>', page, re.S):
        label = re.search(r'<div class="muted">(.*?)</div>', block, re.S)
        stat = re.search(r'<div class="stat">(?:<a href="([^"]+)">)?([^<]+)', block)
        if label and stat:
            found[label.group(1).strip()] = (stat.group(2).strip(), stat.group(1))
    return found


def _charts(page: str) -> dict[str, dict]:
    return {
        key: json.loads(html_lib.unescape(option))
        for key, option in re.findall(r'id="chart-([a-z]+)">.*?data-chart="([^"]*)"', page, re.S)
    }


def test_a_collectives_dashboard_counts_its_registry_and_links_to_the_lists(
    villages, client, auth, baseline
):
    a = villages["a"]
    auth.login("admin_a")
    page = client.get(f"/dashboard/collectives/{a}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    figures = _figures(text)
    households = db.session.scalar(
        select(func.count(Household.id)).where(
            Household.collective_id == a, Household.end_lifespan.is_(None)
        )
    )
    plots = db.session.scalar(
        select(func.count(Plot.id)).where(Plot.collective_id == a, Plot.end_lifespan.is_(None))
    )
    assert figures["农户"][0] == str(households)
    assert figures["地块"] == (str(plots), f"/collectives/{a}/plots")
    # Every figure's link opens, for the reader who sees the figure.
    for label, (_value, url) in figures.items():
        if url:
            assert client.get(url).status_code == 200, (label, url)
    # The listings chart: one waiting for co-holders or the title check, one completed; each
    # bar opens the marketplace filtered to that step and village.
    listings = _charts(text)["listings"]
    bars = dict(zip(listings["yAxis"]["data"], listings["series"][0]["data"], strict=True))
    assert bars["已完成"]["value"] == 1
    assert "state=completed" in bars["已完成"]["url"] and "village=" in bars["已完成"]["url"]
    assert sum(b["value"] for b in bars.values()) == 2
    assert client.get(bars["已完成"]["url"]).status_code == 200
    # The numbers are on the page too (no script needed to read them).
    assert "<details>" in text and "已完成" in text.split('id="chart-listings"')[1]


def test_the_county_dashboard_shows_settled_persons_keeping_their_rights_by_township(
    villages, client, auth
):
    auth.login("bureau")
    page = client.get("/dashboard/", follow_redirects=True).get_data(as_text=True)  # the county
    assert "太平镇" in page
    figures = _figures(page)
    report = county_report(county_today())
    assert figures["落户人数"] == (str(report.total.settled_persons), "/oversight/report")
    assert figures["已裁决的预警交易"][0] == "1"  # the completed deal's flag review
    charts = _charts(page)
    months = charts["months"]["series"][0]["data"]
    assert months[-1]["value"] == 1  # registered today
    kept = charts["kept"]
    assert "太平镇" in kept["xAxis"]["data"]
    assert kept["series"][0]["data"][kept["xAxis"]["data"].index("太平镇")]["value"] == 3
    # A township opens its own dashboard, by village.
    town_url = kept["series"][0]["data"][0]["url"]
    town = client.get(town_url).get_data(as_text=True)
    assert "按村" in town and "东湖坪村委会" in town


@pytest.mark.authz
@pytest.mark.parametrize("username", ["farmer_a", "officer", "sysadmin"])
def test_dashboards_are_404_for_those_who_do_not_read_them(villages, client, auth, username):
    auth.login(username)
    for url in ("/dashboard/", f"/dashboard/collectives/{villages['a']}", "/dashboard/county"):
        assert client.get(url).status_code == 404, url


@pytest.mark.authz
def test_another_collectives_dashboard_is_404_and_the_county_is_the_bureaus(villages, client, auth):
    auth.login("admin_a")
    assert client.get("/dashboard/").status_code == 302  # to A's own dashboard
    assert client.get(f"/dashboard/collectives/{villages['b']}").status_code == 404
    assert client.get("/dashboard/county").status_code == 404
    nav = client.get(f"/dashboard/collectives/{villages['a']}").get_data(as_text=True)
    assert 'href="/dashboard/"' in nav  # in the menu


@pytest.mark.hostile
@pytest.mark.parametrize("township", ["440222999000", "<script>", "x" * 300])
def test_an_unknown_township_is_a_plain_404(villages, client, auth, township):
    auth.login("bureau")
    r = client.get("/dashboard/county", query_string={"township": township})
    assert r.status_code == 404
    assert "<script>" not in r.get_data(as_text=True).split("<main>")[1]


def test_charts_come_from_the_vendored_library_with_no_inline_script(villages, client, auth):
    auth.login("bureau")
    page = client.get("/dashboard/county").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert "style=" not in page.split("<main>")[1]
    lib = client.get("/static/vendor/echarts/echarts.common.min.js")
    assert lib.status_code == 200 and b"echarts" in lib.data[:2000]
    vendored = STATIC / "vendor" / "echarts"
    assert "Apache License" in (vendored / "LICENSE").read_text()
    assert "6.1.0" in (vendored / "README.md").read_text()


def test_the_dashboards_run_a_fixed_number_of_queries(villages, client, auth, ctx, baseline):
    def count(url: str) -> int:
        seen = []

        def tick(*_a, **_k):
            seen.append(1)

        engine = db.session.get_bind().engine
        event.listen(engine, "before_cursor_execute", tick)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", tick)
        return len(seen)

    a = villages["a"]
    auth.login("bureau")
    before = (count(f"/dashboard/collectives/{a}"), count("/dashboard/county"))
    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        doc = world.document(a)
        for i in range(3):
            _hh, holder, contract = world.household(
                a, doc, f"新{i}户", settled_on=county_today() - timedelta(days=40 + i)
            )
            world.declared(a, holder.uid, contract.uid, doc)
        db.session.commit()
    assert (count(f"/dashboard/collectives/{a}"), count("/dashboard/county")) == before
